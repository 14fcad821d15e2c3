"""The configuration file's schema, as pydantic models.

Every model forbids unknown keys (so a typo is an error, not a silently ignored
setting). Checks that need more than one field, or the file system, live in
``loader.py`` so that every problem is collected in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LAYOUTS = ("1x1", "2x2", "3x3", "4x4")
CAMERA_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]


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

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not CAMERA_ID_RE.match(v):
            raise ValueError(
                "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return v


class WallConfig(_Strict):
    layout: Literal["1x1", "2x2", "3x3", "4x4"] = "3x3"
    #: Camera ids shown at start, in tile order. Empty: the first cameras of the registry.
    cameras: list[str] = Field(default_factory=list)
    #: A tile whose camera sent no frame for this long is shown as stale.
    stale_after_s: float = Field(default=3.0, gt=0.0, le=600.0)
    #: How often tiles look for a new picture (they repaint only when it changed).
    display_fps: int = Field(default=60, ge=1, le=120)
    #: Tiles narrower than this (pixels) play a camera's sub-stream when it has one.
    substream_below_px: int = Field(default=640, ge=0, le=8000)


class IncidentConfig(_Strict):
    #: Default search radius around an incident point, in metres.
    radius_m: float = Field(default=400.0, gt=0.0, le=5000.0)


class Config(_Strict):
    site: Site
    wall: WallConfig = Field(default_factory=WallConfig)
    incident: IncidentConfig = Field(default_factory=IncidentConfig)
    cameras: list[CameraConfig] = Field(default_factory=list)
