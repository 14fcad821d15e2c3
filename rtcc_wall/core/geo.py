"""Local metric projection around the site centre.

A city fits in a few tens of kilometres, where an equirectangular projection
around the site centre is accurate to well under a metre per kilometre. Every
geometric computation (distances, fields of view, routes) happens in these
local metres: x grows to the east, y to the north.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class LocalProjection:
    """Converts WGS84 lon/lat (degrees) to local metres and back."""

    lon0: float
    lat0: float

    @property
    def _kx(self) -> float:
        return math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(self.lat0))

    @property
    def _ky(self) -> float:
        return math.radians(1.0) * EARTH_RADIUS_M

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        return ((lon - self.lon0) * self._kx, (lat - self.lat0) * self._ky)

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        return (self.lon0 + x / self._kx, self.lat0 + y / self._ky)

    def array_to_xy(self, lonlat: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Vectorised ``to_xy`` for an (N, 2) array of lon/lat pairs."""
        a = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
        out = np.empty_like(a)
        out[:, 0] = (a[:, 0] - self.lon0) * self._kx
        out[:, 1] = (a[:, 1] - self.lat0) * self._ky
        return out


def bearing_to_unit(heading_deg: float) -> tuple[float, float]:
    """Compass heading (0 = north, 90 = east) to a unit vector in local x/y."""
    r = math.radians(heading_deg)
    return (math.sin(r), math.cos(r))


def heading_of(dx: float, dy: float) -> float:
    """Compass heading in degrees [0, 360) of a local x/y vector."""
    return math.degrees(math.atan2(dx, dy)) % 360.0


def angle_diff(a_deg: float, b_deg: float) -> float:
    """Smallest absolute difference between two headings, in degrees [0, 180]."""
    d = (a_deg - b_deg) % 360.0
    return min(d, 360.0 - d)
