"""Road-like test networks for the routing benchmark: a perturbed grid with arterials.

A ``side x side`` grid of intersections (``spacing`` metres apart, each moved
by up to ``jitter`` of the spacing) whose rows and columns are residential
streets, every ``arterial_every``-th a secondary road, every
``primary_every``-th a primary road and every ``motorway_every``-th a
motorway. A fraction of the residential blocks is missing (dead ends,
irregular blocks) and a fraction of the residential streets is one-way
(direction alternating by row/column, like a downtown grid). Built straight
into a ``RoadNetwork`` with numpy (``build_network`` on GeoJSON would take
minutes at a million nodes); generated at run time from a fixed seed, never
committed.

    from benchmarks.roadgen import road_grid, cameras_along_roads
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rtcc_wall.core.cameras import Camera  # noqa: E402
from rtcc_wall.core.geo import LocalProjection  # noqa: E402
from rtcc_wall.core.roads import DEFAULT_SPEED_KMH, KMH, RoadNetwork, RoadSegment  # noqa: E402

PROJ = LocalProjection(-90.0, 32.0)


def road_grid(
    nodes: int,
    *,
    seed: int = 7,
    spacing: float = 120.0,
    jitter: float = 0.25,
    missing: float = 0.12,
    oneway: float = 0.2,
    arterial_every: int = 5,
    primary_every: int = 10,
    motorway_every: int = 50,
) -> RoadNetwork:
    """A road-like network of about ``nodes`` intersections (a square grid), centred on 0, 0."""
    rng = np.random.default_rng(seed)
    side = max(2, round(math.sqrt(nodes)))
    n = side * side
    ii, jj = np.divmod(np.arange(n, dtype=np.int64), side)
    half = (side - 1) * spacing / 2.0
    xy = np.empty((n, 2))
    xy[:, 0] = jj * spacing - half + rng.uniform(-jitter, jitter, n) * spacing
    xy[:, 1] = ii * spacing - half + rng.uniform(-jitter, jitter, n) * spacing

    def line_class(k: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """0 residential, 1 secondary, 2 primary, 3 motorway, by row/column index."""
        cls = np.zeros(k.shape, dtype=np.int64)
        cls[k % arterial_every == 0] = 1
        cls[k % primary_every == 0] = 2
        cls[(k % motorway_every) == motorway_every // 2] = 3
        return cls

    # horizontal blocks (along row i) then vertical blocks (along column j)
    h = (ii * side + jj)[jj < side - 1]
    v = (ii * side + jj)[ii < side - 1]
    a = np.concatenate([h, v])
    b = np.concatenate([h + 1, v + side])
    line = np.concatenate([h // side, v % side])  # the row or column the block lies on
    cls = line_class(line)
    keep = (cls > 0) | (rng.random(a.shape[0]) >= missing)
    a, b, line, cls = a[keep], b[keep], line[keep], cls[keep]
    ow = np.zeros(a.shape[0], dtype=np.int64)
    one = (cls == 0) & (rng.random(a.shape[0]) < oneway)
    ow[one] = np.where(line[one] % 2 == 0, 1, -1)

    names = np.array(["residential", "secondary", "primary", "motorway"])
    speeds = np.array([DEFAULT_SPEED_KMH[str(c)] * KMH for c in names])
    seg_xy = np.stack([xy[a], xy[b]], axis=1)  # (S, 2, 2)
    highway = names[cls].tolist()
    speed = speeds[cls]
    segments = [
        RoadSegment(seg_xy[s], highway[s], "", int(ow[s]), float(speed[s]), s)
        for s in range(a.shape[0])
    ]
    length = np.hypot(*(seg_xy[:, 1] - seg_xy[:, 0]).T)
    fwd = ow >= 0
    bwd = ow <= 0
    sid = np.arange(a.shape[0], dtype=np.int64)
    return RoadNetwork(
        projection=PROJ,
        nodes_xy=xy,
        segments=segments,
        edge_from=np.concatenate([a[fwd], b[bwd]]),
        edge_to=np.concatenate([b[fwd], a[bwd]]),
        edge_segment=np.concatenate([sid[fwd], sid[bwd]]),
        edge_forward=np.concatenate(
            [np.ones(int(fwd.sum()), bool), np.zeros(int(bwd.sum()), bool)]
        ),
        edge_length_m=np.concatenate([length[fwd], length[bwd]]),
        edge_speed_mps=np.concatenate([speed[fwd], speed[bwd]]),
        source=f"<road_grid {side}x{side} seed={seed}>",
    )


def cameras_along_roads(
    net: RoadNetwork, count: int, *, seed: int = 11, prefix: str = "cam"
) -> list[Camera]:
    """``count`` cameras a few metres beside random road segments, looking at the road."""
    rng = np.random.default_rng(seed)
    segs = rng.integers(0, len(net.segments), count)
    u = rng.uniform(0.2, 0.8, count)
    p0 = np.array([net.segments[s].coords[0] for s in segs.tolist()]).reshape(-1, 2)
    p1 = np.array([net.segments[s].coords[-1] for s in segs.tolist()]).reshape(-1, 2)
    d = p1 - p0
    norm = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    side = rng.choice([-1.0, 1.0], count) * rng.uniform(5.0, 15.0, count)
    pos = (
        p0 + d * u[:, None] + np.stack([-d[:, 1], d[:, 0]], axis=1) / norm[:, None] * side[:, None]
    )
    road = p0 + d * u[:, None] + d / norm[:, None] * rng.uniform(-30, 30, count)[:, None]
    look = road - pos
    heading = np.degrees(np.arctan2(look[:, 0], look[:, 1])) % 360.0
    fov = rng.uniform(50.0, 100.0, count)
    rng_m = rng.uniform(50.0, 120.0, count)
    kx = math.radians(1.0) * 6_371_008.8 * math.cos(math.radians(PROJ.lat0))
    ky = math.radians(1.0) * 6_371_008.8
    lon = PROJ.lon0 + pos[:, 0] / kx
    lat = PROJ.lat0 + pos[:, 1] / ky
    return [
        Camera(
            id=f"{prefix}{i:07d}",
            name=f"{prefix} {i}",
            ownership="city",
            lon=float(lon[i]),
            lat=float(lat[i]),
            x=float(pos[i, 0]),
            y=float(pos[i, 1]),
            heading_deg=float(heading[i]),
            fov_deg=float(fov[i]),
            range_m=float(rng_m[i]),
            stream="sim://bench",
        )
        for i in range(count)
    ]
