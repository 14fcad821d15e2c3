"""Which cameras are near a point: a shapely STRtree over camera positions.

Ranking puts cameras whose field of view covers the point first (they can
actually see it), then the others, each group nearest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from shapely import STRtree, points

from rtcc_wall.core.cameras import Camera


@dataclass(frozen=True)
class NearbyCamera:
    camera: Camera
    distance_m: float
    covers_point: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.camera.id,
            "name": self.camera.name,
            "ownership": self.camera.ownership,
            "distance_m": round(self.distance_m, 1),
            "covers_point": self.covers_point,
        }


class CameraIndex:
    """Spatial index of a camera registry, in local metres."""

    def __init__(self, cameras: Iterable[Camera]) -> None:
        self._cameras = list(cameras)
        self._xy = np.array([(c.x, c.y) for c in self._cameras], dtype=np.float64).reshape(-1, 2)
        self._tree = STRtree(points(self._xy)) if self._cameras else None

    def __len__(self) -> int:
        return len(self._cameras)

    def nearby(self, x: float, y: float, radius_m: float) -> list[NearbyCamera]:
        """Cameras within ``radius_m`` of (x, y): covering ones first, then nearest first."""
        if self._tree is None or radius_m <= 0:
            return []
        idx = self._tree.query(points(x, y), predicate="dwithin", distance=radius_m)
        out: list[NearbyCamera] = []
        for i in np.asarray(idx).tolist():
            cam = self._cameras[i]
            d = float(np.hypot(self._xy[i, 0] - x, self._xy[i, 1] - y))
            out.append(NearbyCamera(cam, d, cam.covers(x, y)))
        out.sort(key=lambda n: (not n.covers_point, n.distance_m, n.camera.id))
        return out
