"""The configuration file's schema, as pydantic models.

Every model forbids unknown keys (so a typo is an error, not a silently ignored
setting). Checks that need more than one field, or the file system, live in
``loader.py`` so that every problem is collected in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rtcc_wall.core.access import (
    DEFAULT_PRIVATE_SHARING,
    AccessSettings,
    HoursError,
    Operator,
    parse_hours,
)
from rtcc_wall.core.layouts import LAYOUTS as _ALL_LAYOUTS

LAYOUTS = tuple(_ALL_LAYOUTS)
CAMERA_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
#: A mask coordinate: a number (not a quoted string, not true/false). Its range, 0..1, and
#: the number of points per polygon are checked in ``loader.py`` on the raw data, so the
#: message names the point ("cameras[3].masks[0][2]: x must be between 0 and 1").
MaskCoordinate = Annotated[float, Strict()]


class LonLat(_Strict):
    lon: Longitude
    lat: Latitude


class Site(_Strict):
    name: str = Field(min_length=1, max_length=120)
    center: LonLat
    #: Path to the road network (GeoJSON), relative to the config file.
    road_network: str = Field(min_length=1)
    #: Cameras farther than this from the road network's bounding box are rejected.
    max_camera_distance_from_map_m: float = Field(default=2000.0, gt=0)
    #: Shown in a corner of the map. Default: the OpenStreetMap attribution for .osm road
    #: files (ODbL requires it); set it to your GIS data's credit line for GeoJSON.
    map_attribution: str | None = Field(default=None, max_length=200)

    def attribution_for(self, road_file: str) -> str:
        if self.map_attribution:
            return self.map_attribution
        if road_file.lower().endswith((".osm", ".osm.xml")):
            return "Map data © OpenStreetMap contributors, ODbL"
        return ""


class Owner(_Strict):
    name: str = Field(min_length=1)
    contact: str = Field(min_length=1)


class Waiver(_Strict):
    id: str = Field(min_length=1)
    signed: dt.date
    expires: dt.date | None = None
    revoked: bool = False


class CameraConfig(_Strict):
    id: str
    name: str = Field(min_length=1, max_length=80)
    ownership: Literal["city", "private"]
    location: LonLat
    #: Compass heading of the optical axis: 0 = north, 90 = east.
    heading_deg: float = Field(ge=0.0, lt=360.0)
    fov_deg: float = Field(gt=0.0, le=360.0)
    range_m: float = Field(gt=0.0, le=2000.0)
    stream: str = Field(min_length=1)
    sub_stream: str | None = None
    #: RTSP over TCP (default: no smeared frames from lost UDP packets, passes NAT)
    #: or UDP (some older cameras and NVRs only speak UDP). Ignored for other kinds.
    transport: Literal["tcp", "udp"] = "tcp"
    owner: Owner | None = None
    waiver: Waiver | None = None
    #: Private cameras: how the owner shares it (registry_only | on_request |
    #: live_during_incident). Absent on a private camera: live_during_incident.
    sharing: Literal["registry_only", "on_request", "live_during_incident"] | None = Field(
        default=None, validate_default=True
    )
    #: Private cameras, optional: "HH:MM-HH:MM" local time when it may stream (may wrap midnight).
    allowed_hours: str | None = None
    #: Privacy masks: polygons of [x, y] points relative to the picture (0..1 of its width
    #: and height, origin top left), each with at least 3 points; painted over every picture.
    masks: list[list[tuple[MaskCoordinate, MaskCoordinate]]] = Field(default_factory=list)

    @field_validator("sharing")
    @classmethod
    def _sharing_for_private(cls, v: str | None, info: ValidationInfo) -> str | None:
        # ownership is validated first (field order); when it failed, it is reported already
        ownership = info.data.get("ownership")
        if ownership == "private" and v is None:
            return DEFAULT_PRIVATE_SHARING
        if ownership == "city" and v is not None:
            raise ValueError("only private cameras have a sharing tier")
        return v

    @field_validator("allowed_hours")
    @classmethod
    def _hours_shape(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if info.data.get("ownership") == "city":
            raise ValueError("only private cameras have allowed_hours")
        try:
            parse_hours(v)
        except HoursError as e:
            raise ValueError(str(e)) from None
        return v

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not CAMERA_ID_RE.match(v):
            raise ValueError(
                "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return v


def _check_layout(v: str) -> str:
    if v not in _ALL_LAYOUTS:
        raise ValueError(f"unknown layout {v!r}; known layouts: {', '.join(_ALL_LAYOUTS)}")
    return v


class WallConfig(_Strict):
    #: 1x1 .. 8x8, or a focus layout: 1+5, 1+7, 2+8, 1+12
    layout: str = "3x3"
    #: Camera ids shown at start, in tile order. Empty: the first cameras of the registry.
    cameras: list[str] = Field(default_factory=list)
    #: A tile whose camera sent no frame for this long is shown as stale.
    stale_after_s: float = Field(default=3.0, gt=0.0, le=600.0)
    #: How often tiles look for a new picture (they repaint only when it changed).
    display_fps: int = Field(default=60, ge=1, le=120)
    #: Tiles narrower than this (pixels) play a camera's sub-stream when it has one.
    substream_below_px: int = Field(default=640, ge=0, le=8000)
    #: Seconds of instant replay kept per watched camera (compressed packets); 0 = off.
    replay_seconds: float = Field(default=60.0, ge=0.0, le=600.0)
    #: Memory all replay buffers together may hold (MB), shared evenly among the cameras
    #: playing; a camera's buffer then keeps fewer seconds rather than growing.
    replay_budget_mb: int = Field(default=1024, ge=16, le=65536)

    @field_validator("layout")
    @classmethod
    def _layout_known(cls, v: str) -> str:
        return _check_layout(v)


class ViewConfig(_Strict):
    """A shared named view: the same for every operator of the site."""

    name: str = Field(min_length=1, max_length=64)
    layout: str = "2x2"
    #: camera ids in tile order; more than the layout holds make pages
    cameras: list[str] = Field(default_factory=list)
    #: cycle the pages every this many seconds (a camera tour); unset = no tour
    tour_seconds: float | None = Field(default=None, ge=2.0, le=3600.0)

    @field_validator("layout")
    @classmethod
    def _layout_known(cls, v: str) -> str:
        return _check_layout(v)


class ScreenView(_Strict):
    #: the monitor: its index (0 = primary) or its name as the system reports it
    screen: int | str
    #: the name of a view in ``views``
    view: str


class WallModeConfig(_Strict):
    """``rtcc-wall --wall``: one full-screen wall per monitor, the console on one of them."""

    #: the monitor that shows the operator console (map, incident panel, camera list)
    console_screen: int | str = 0
    #: which view each wall monitor starts with (monitors not listed start empty)
    screens: list[ScreenView] = Field(default_factory=list)


class IncidentConfig(_Strict):
    #: Default search radius around an incident point, in metres.
    radius_m: float = Field(default=400.0, gt=0.0, le=5000.0)


Role = Literal["operator", "supervisor", "auditor"]


def _all_roles() -> list[Role]:
    return ["operator", "supervisor", "auditor"]


def _private_roles() -> list[Role]:
    return ["operator", "supervisor"]


class OperatorConfig(_Strict):
    name: str = Field(min_length=1, max_length=80)
    role: Role


class CityAccess(_Strict):
    #: City cameras too only while an incident is open.
    require_incident: bool = False
    roles: list[Role] = Field(default_factory=_all_roles)


class AccessConfig(_Strict):
    """Who may view what (see ``core/access.py``); every key is optional."""

    #: A private camera may stream only within this distance of an open incident.
    private_radius_m: float = Field(default=500.0, gt=0.0, le=5000.0)
    #: A private view ends after this long; extending it needs a new reason.
    private_view_minutes: float = Field(default=15.0, gt=0.0, le=240.0)
    roles_allowed_private: list[Role] = Field(default_factory=_private_roles)
    city: CityAccess = Field(default_factory=CityAccess)
    require_masks_on_private: bool = False
    operators: list[OperatorConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_operators(self) -> AccessConfig:
        names = [o.name for o in self.operators]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ValueError(f"duplicate operator name(s): {', '.join(dups)}")
        return self

    def to_settings(self) -> AccessSettings:
        """The core's view of this section (the core does not depend on pydantic)."""
        return AccessSettings(
            private_radius_m=self.private_radius_m,
            private_view_minutes=self.private_view_minutes,
            roles_allowed_private=tuple(self.roles_allowed_private),
            city_require_incident=self.city.require_incident,
            city_roles=tuple(self.city.roles),
            require_masks_on_private=self.require_masks_on_private,
        )

    def to_operators(self) -> list[Operator]:
        return [Operator(o.name, o.role) for o in self.operators]


class Config(_Strict):
    site: Site
    wall: WallConfig = Field(default_factory=WallConfig)
    incident: IncidentConfig = Field(default_factory=IncidentConfig)
    access: AccessConfig = Field(default_factory=AccessConfig)
    cameras: list[CameraConfig] = Field(default_factory=list)
    #: shared named views (operators also keep personal ones in their own config directory)
    views: list[ViewConfig] = Field(default_factory=list)
    wall_mode: WallModeConfig = Field(default_factory=WallModeConfig)
