"""Incidents: a point and a time on the map, and the cameras that may have seen it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rtcc_wall.core.spatial import CameraIndex, NearbyCamera


@dataclass
class Incident:
    x: float
    y: float
    lon: float
    lat: float
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    radius_m: float = 400.0
    nearby: list[NearbyCamera] = field(default_factory=list)

    def refresh(self, index: CameraIndex) -> list[NearbyCamera]:
        self.nearby = index.nearby(self.x, self.y, self.radius_m)
        return self.nearby

    def best_camera_ids(self, limit: int | None = None) -> list[str]:
        ids = [n.camera.id for n in self.nearby]
        return ids if limit is None else ids[:limit]
