"""Cameras as the core sees them: position and field of view in local metres."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from shapely.geometry import Point, Polygon

from rtcc_wall.core.geo import LocalProjection, bearing_to_unit

Ownership = Literal["city", "private"]
#: How a private camera's owner shares it (see ``core/access.py`` and config.example.yaml):
#: registry_only = location known, never streamed; on_request = streamed only after the
#: owner approved it for the incident; live_during_incident = while an incident justifies it.
Sharing = Literal["registry_only", "on_request", "live_during_incident"]
#: Privacy masks: polygons of (x, y) points relative to the picture (0..1 of its width and
#: height, origin top left), so one definition fits every stream size and the sub-stream.
MaskPolygons = tuple[tuple[tuple[float, float], ...], ...]


class CameraState(enum.Enum):
    """What a tile tells the operator about its camera."""

    IDLE = "idle"
    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    AUTH_FAILED = "auth_failed"
    UNSUPPORTED = "unsupported"
    DENIED = "denied"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").upper()


@dataclass(frozen=True)
class OwnerInfo:
    name: str
    contact: str


@dataclass(frozen=True)
class WaiverInfo:
    id: str
    signed: str
    expires: str | None
    revoked: bool


@dataclass(frozen=True)
class Camera:
    id: str
    name: str
    ownership: Ownership
    lon: float
    lat: float
    x: float
    y: float
    heading_deg: float
    fov_deg: float
    range_m: float
    stream: str
    sub_stream: str | None = None
    owner: OwnerInfo | None = None
    waiver: WaiverInfo | None = None
    #: RTSP transport, "tcp" or "udp" (validated by the config schema).
    transport: str = "tcp"
    #: Private cameras only (None for city cameras); None on a private camera means the
    #: documented default, live_during_incident (``access.effective_sharing``).
    sharing: Sharing | None = None
    #: Private cameras only: "HH:MM-HH:MM" local time when streaming is allowed (may wrap
    #: midnight); None = any time.
    allowed_hours: str | None = None
    #: Privacy masks burned into every picture before display (``video/masks.py``),
    #: unless a supervisor lifted them (``core/masks.py``).
    masks: MaskPolygons = ()

    @cached_property
    def fov_polygon(self) -> Polygon:
        """The ground area the camera sees: a circular sector in local metres."""
        return fov_sector(self.x, self.y, self.heading_deg, self.fov_deg, self.range_m)

    def covers(self, x: float, y: float) -> bool:
        return bool(self.fov_polygon.covers(Point(x, y)))

    def distance_to(self, x: float, y: float) -> float:
        return math.hypot(x - self.x, y - self.y)


def fov_sector(
    x: float, y: float, heading_deg: float, fov_deg: float, range_m: float, steps: int = 16
) -> Polygon:
    if fov_deg >= 360.0:
        return Point(x, y).buffer(range_m, quad_segs=16)
    pts = [(x, y)]
    for i in range(steps + 1):
        a = heading_deg - fov_deg / 2.0 + fov_deg * i / steps
        ux, uy = bearing_to_unit(a)
        pts.append((x + ux * range_m, y + uy * range_m))
    return Polygon(pts)


def make_camera(
    *,
    id: str,
    name: str,
    ownership: Ownership,
    lon: float,
    lat: float,
    heading_deg: float,
    fov_deg: float,
    range_m: float,
    stream: str,
    projection: LocalProjection,
    sub_stream: str | None = None,
    owner: OwnerInfo | None = None,
    waiver: WaiverInfo | None = None,
    transport: str = "tcp",
    sharing: Sharing | None = None,
    allowed_hours: str | None = None,
    masks: MaskPolygons = (),
) -> Camera:
    x, y = projection.to_xy(lon, lat)
    return Camera(
        id=id,
        name=name,
        ownership=ownership,
        lon=lon,
        lat=lat,
        x=x,
        y=y,
        heading_deg=heading_deg,
        fov_deg=fov_deg,
        range_m=range_m,
        stream=stream,
        sub_stream=sub_stream,
        owner=owner,
        waiver=waiver,
        transport=transport,
        sharing=sharing,
        allowed_hours=allowed_hours,
        masks=masks,
    )
