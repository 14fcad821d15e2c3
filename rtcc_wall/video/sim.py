"""The simulated town behind ``sim://`` cameras.

Why this exists: the wall has to be demonstrated, tested and used for training
without access to a real camera network. A picture of random noise would not
exercise what matters (is the suspect car that left camera A showing up on
camera B a few seconds later?), so every ``sim://`` camera looks into ONE
shared world in which vehicles drive along the site's real road network, at
its speed limits and honouring its one-way streets. Each camera renders the
part of that world in its field of view with a simple pinhole perspective, so
the same vehicle appears on successive cameras along its way.

Design notes:

* ``SimWorld`` advances in fixed steps of ``STEP_S`` seconds, so its state
  depends only on the seed and the time asked for, never on how often (or by
  how many threads) it is asked. Moving the vehicles is vectorised with numpy;
  only the few vehicles reaching the end of their edge in a step run Python.
* ``SimCamera`` never moves, so everything static (sky, ground, roads,
  markings, the camera's name) is drawn once into a background image; a frame
  is a copy of it plus the visible vehicles and the clock.
"""

from __future__ import annotations

import bisect
import datetime
import math
import random
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.roads import RoadNetwork

#: Fixed simulation time step, seconds.
STEP_S = 0.1

#: Paved width (metres) by road class; a motorway line is one carriageway.
ROAD_WIDTH_M: dict[str, float] = {
    "motorway": 11.0,
    "trunk": 11.0,
    "primary": 12.0,
    "secondary": 12.0,
    "tertiary": 9.0,
    "unclassified": 7.0,
    "residential": 7.0,
    "living_street": 5.0,
    "service": 4.0,
    "motorway_link": 6.0,
    "trunk_link": 6.0,
    "primary_link": 7.0,
    "secondary_link": 7.0,
    "tertiary_link": 6.0,
}
_DEFAULT_WIDTH_M = 7.0

#: Class rank for route choice: vehicles prefer to stay on the same or a higher rank.
_RANK: dict[str, int] = {
    "motorway": 4,
    "trunk": 4,
    "motorway_link": 4,
    "trunk_link": 4,
    "primary": 3,
    "secondary": 3,
    "primary_link": 3,
    "secondary_link": 3,
    "tertiary": 2,
    "tertiary_link": 2,
    "unclassified": 1,
    "residential": 1,
    "living_street": 1,
    "service": 0,
}

#: Relative traffic volume by class (spawning and route choice).
_IMPORTANCE: dict[str, float] = {
    "motorway": 6.0,
    "trunk": 5.0,
    "primary": 4.0,
    "secondary": 3.0,
    "tertiary": 2.5,
    "motorway_link": 2.0,
    "trunk_link": 2.0,
    "primary_link": 1.2,
    "secondary_link": 1.2,
    "tertiary_link": 1.0,
    "unclassified": 0.8,
    "residential": 0.5,
    "living_street": 0.3,
    "service": 0.15,
}

#: Traffic density falls off with this distance scale (metres) from the site centre.
_DOWNTOWN_M = 1000.0

#: Down-grading to a lower road class is this much less likely.
_DOWNGRADE_FACTOR = 0.3

#: Vehicle kinds: (length, width, height) metres, and share of background traffic.
VEHICLE_KINDS: dict[str, tuple[float, float, float]] = {
    "car": (4.5, 1.8, 1.45),
    "suv": (4.9, 1.95, 1.8),
    "van": (5.2, 2.0, 2.1),
    "truck": (10.0, 2.5, 3.4),
    "bus": (12.0, 2.55, 3.1),
}
_KIND_SHARE: dict[str, float] = {"car": 0.6, "suv": 0.24, "van": 0.08, "truck": 0.05, "bus": 0.03}

#: Muted car paint (BGR) with its share of traffic.
_PAINT: tuple[tuple[tuple[int, int, int], float], ...] = (
    ((228, 230, 230), 0.23),  # white
    ((32, 32, 34), 0.19),  # black
    ((120, 120, 117), 0.15),  # grey
    ((182, 182, 178), 0.14),  # silver
    ((88, 48, 30), 0.08),  # dark blue
    ((38, 38, 160), 0.08),  # red
    ((40, 30, 105), 0.03),  # maroon
    ((52, 80, 46), 0.03),  # dark green
    ((150, 176, 192), 0.04),  # beige
    ((45, 62, 92), 0.03),  # brown
)

_GAP_M = 2.0  # minimum bumper-to-bumper gap in a lane
_LANE_M = 3.5


@dataclass(frozen=True)
class SimSnapshot:
    """The vehicles of the world at one moment (arrays are private copies)."""

    t: float  # world time, seconds since world start
    ids: npt.NDArray[np.int64]  # (N,)
    x: npt.NDArray[np.float64]  # (N,) local metres
    y: npt.NDArray[np.float64]
    heading_deg: npt.NDArray[np.float64]  # compass heading of travel
    length_m: npt.NDArray[np.float64]
    width_m: npt.NDArray[np.float64]
    height_m: npt.NDArray[np.float64]
    color_bgr: npt.NDArray[np.uint8]  # (N, 3)


@dataclass
class _Script:
    route: list[int]
    pos: int  # index in route of the vehicle's current edge
    then: Literal["continue", "vanish"]
    rng: random.Random
    track: list[tuple[float, float, float]]


def road_width(highway: str) -> float:
    return ROAD_WIDTH_M.get(highway, _DEFAULT_WIDTH_M)


class SimWorld:
    """One shared simulated town: vehicles driving along a road network."""

    def __init__(
        self,
        network: RoadNetwork,
        *,
        vehicles: int = 500,
        seed: int = 7,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.network = network
        self._seed = seed
        self._clock = clock
        self._t0 = clock()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._build_geometry()
        self._build_choices()

        n = max(0, int(vehicles))
        nprng = np.random.default_rng(seed)
        self._next_id = 0
        self._ids = np.arange(n, dtype=np.int64)
        self._next_id = n
        if n and self.network.edge_count:
            w = self._spawn_w / self._spawn_w.sum()
            edge = nprng.choice(self.network.edge_count, size=n, p=w).astype(np.int64)
        else:
            edge = np.zeros(n, dtype=np.int64)
        self._edge = edge
        self._s = nprng.random(n) * (self._elen[edge] if n else 0.0)
        self._factor = nprng.uniform(0.75, 1.05, size=n)
        self._speed = self._espeed[edge] * self._factor if n else np.zeros(0)
        self._lane = np.zeros(n, dtype=np.int64)
        self._lat = np.zeros(n)
        for i in range(n):
            self._set_lane(i, int(edge[i]), nprng.random())
        dims = np.zeros((n, 3))
        colors = np.zeros((n, 3), dtype=np.uint8)
        for i in range(n):
            dims[i], colors[i] = self._random_body(nprng.random(), nprng.random(), nprng.random())
        self._len = dims[:, 0].copy()
        self._wid = dims[:, 1].copy()
        self._hgt = dims[:, 2].copy()
        self._color = colors
        self._alive = np.ones(n, dtype=np.bool_) if self.network.edge_count else np.zeros(n, bool)
        self._start = np.full(n, -np.inf)
        self._scripts: dict[int, _Script] = {}  # vehicle index -> script
        self._index_of: dict[int, int] = {}  # scripted vehicle id -> index
        # state of the previous step (for interpolating between steps)
        self._k = 0
        self._prev_edge = self._edge.copy()
        self._prev_s = self._s.copy()
        self._prev_lat = self._lat.copy()
        self._jumped = np.zeros(n, dtype=np.bool_)
        self._transitions = np.zeros(n, dtype=np.int64)
        self._t_last = 0.0

    # ------------------------------------------------------------------ setup

    def _build_geometry(self) -> None:
        net = self.network
        m = net.edge_count
        xs: list[npt.NDArray[np.float64]] = []
        vstart = np.zeros(m, dtype=np.int64)
        vcount = np.zeros(m, dtype=np.int64)
        base = np.zeros(m)
        elen = np.zeros(m)
        cum_parts: list[npt.NDArray[np.float64]] = []
        offset = 0
        g = 0.0
        for e in range(m):
            c = np.asarray(net.edge_coords(e), dtype=np.float64)
            d = np.hypot(*np.diff(c, axis=0).T)
            cum = np.concatenate(([0.0], np.cumsum(d)))
            vstart[e] = offset
            vcount[e] = len(c)
            base[e] = g
            elen[e] = max(float(cum[-1]), 1e-3)
            xs.append(c)
            cum_parts.append(g + cum)
            offset += len(c)
            g += elen[e] + 10.0
        self._vstart = vstart
        self._vcount = vcount
        self._ebase = base
        self._elen = elen
        self._espeed = np.asarray(net.edge_speed_mps, dtype=np.float64)
        if m:
            v = np.concatenate(xs)
            self._gcum = np.concatenate(cum_parts)
        else:
            v = np.zeros((0, 2))
            self._gcum = np.zeros(0)
        self._gx = v[:, 0].copy()
        self._gy = v[:, 1].copy()
        nv = len(v)
        pdx = np.zeros(nv)
        pdy = np.zeros(nv)
        if nv > 1:
            pdx[:-1] = np.diff(self._gx)
            pdy[:-1] = np.diff(self._gy)
        last = vstart + vcount - 1
        if m:
            # the last vertex of each edge repeats its last piece (never interpolated from)
            pdx[last] = pdx[last - 1]
            pdy[last] = pdy[last - 1]
        plen = np.hypot(pdx, pdy)
        plen[plen < 1e-9] = 1e-9
        self._pdx = pdx
        self._pdy = pdy
        self._plen = plen
        self._pux = pdx / plen
        self._puy = pdy / plen
        # per-edge lanes: lateral offsets to the right of the line, metres
        self._lanes: list[list[float]] = []
        for e in range(m):
            seg = net.segments[int(net.edge_segment[e])]
            w = road_width(seg.highway)
            if seg.oneway == 0:
                nl = max(1, round(w / 2.0 / _LANE_M))
                self._lanes.append([(k + 0.5) * (w / 2.0) / nl for k in range(nl)])
            else:
                nl = max(1, round(w / _LANE_M))
                self._lanes.append([-w / 2.0 + (k + 0.5) * w / nl for k in range(nl)])
        hw = [net.segments[int(s)].highway for s in net.edge_segment.tolist()]
        # more traffic downtown: weight falls off with distance from the site centre
        if m:
            mid = np.array([np.asarray(net.edge_coords(e)).mean(axis=0) for e in range(m)])
            pull = np.exp(-np.hypot(mid[:, 0], mid[:, 1]) / _DOWNTOWN_M)
        else:
            pull = np.zeros(0)
        self._edge_imp = np.array([_IMPORTANCE.get(h, 1.0) for h in hw]) * pull
        self._edge_rank = [_RANK.get(h, 1) for h in hw]
        self._spawn_w = self._elen * self._edge_imp if m else np.zeros(0)

    def _build_choices(self) -> None:
        net = self.network
        m = net.edge_count
        # segment degree of every node: a node touched by one segment is a dead end
        deg = np.zeros(net.node_count, dtype=np.int64)
        seen: set[int] = set()
        for e in range(m):
            s = int(net.edge_segment[e])
            if s in seen:
                continue
            seen.add(s)
            deg[net.edge_from[e]] += 1
            deg[net.edge_to[e]] += 1
        exits: set[int] = set()
        if net.node_count:
            x0, y0, x1, y1 = net.bounds()
            margin = max(30.0, 0.03 * max(x1 - x0, y1 - y0))
            for nd in np.flatnonzero(deg == 1).tolist():
                x, y = net.nodes_xy[nd]
                if min(x - x0, x1 - x, y - y0, y1 - y) <= margin:
                    exits.add(nd)
        self._exit_nodes = exits

        def start_dir(e: int) -> tuple[float, float]:
            j = int(self._vstart[e])
            return float(self._pux[j]), float(self._puy[j])

        def end_dir(e: int) -> tuple[float, float]:
            j = int(self._vstart[e] + self._vcount[e] - 2)
            return float(self._pux[j]), float(self._puy[j])

        self._choices: list[tuple[list[int], list[float]]] = []
        for e in range(m):
            node = int(net.edge_to[e])
            seg = int(net.edge_segment[e])
            outs = net.out_edges(node)
            cands = [c for c in outs if int(net.edge_segment[c]) != seg]
            if not cands:
                cands = [] if node in exits else list(outs)
                self._choices.append((cands, list(np.cumsum([1.0] * len(cands)))))
                continue
            ex, ey = end_dir(e)
            weights = []
            for c in cands:
                w = float(self._edge_imp[c])
                if self._edge_rank[c] < self._edge_rank[e]:
                    w *= _DOWNGRADE_FACTOR
                sx, sy = start_dir(c)
                cos = ex * sx + ey * sy
                w *= 1.0 if cos > 0.85 else (0.45 if cos > -0.5 else 0.15)
                weights.append(w)
            self._choices.append((cands, np.cumsum(weights).tolist()))
        entries = [e for e in range(m) if int(net.edge_from[e]) in exits]
        if entries:
            self._entries = entries
            self._entry_cum = np.cumsum(self._edge_imp[entries]).tolist()
        else:
            self._entries = list(range(m))
            self._entry_cum = np.cumsum(self._spawn_w).tolist() if m else []

    def _random_body(
        self, u_kind: float, u_paint: float, u_size: float
    ) -> tuple[tuple[float, float, float], tuple[int, int, int]]:
        acc = 0.0
        kind = "car"
        for k, share in _KIND_SHARE.items():
            acc += share
            if u_kind < acc:
                kind = k
                break
        length, width, height = VEHICLE_KINDS[kind]
        if kind == "truck":
            length = 8.0 + 3.0 * u_size
        elif kind in ("car", "suv"):
            length *= 0.95 + 0.1 * u_size
        acc = 0.0
        paint = _PAINT[0][0]
        for color, share in _PAINT:
            acc += share
            if u_paint < acc:
                paint = color
                break
        if kind == "bus":
            paint = (40, 200, 235) if u_size < 0.4 else (225, 225, 220)  # school bus or city bus
        return (length, width, height), paint

    def _set_lane(self, i: int, edge: int, u: float) -> None:
        lanes = self._lanes[edge]
        k = min(int(u * len(lanes)), len(lanes) - 1)
        self._lane[i] = k
        self._lat[i] = lanes[k]

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """Seconds since the world was created, from its clock."""
        return float(self._clock() - self._t0)

    def snapshot(self, t: float | None = None) -> SimSnapshot:
        """The world at time ``t`` (default now); never goes back in time. Thread-safe."""
        if t is None:
            t = self.now()
        with self._lock:
            t = max(float(t), self._t_last)
            self._t_last = t
            self._advance_to(int(math.floor(t / STEP_S + 1e-9)) + 1)
            frac = min(max((t - (self._k - 1) * STEP_S) / STEP_S, 0.0), 1.0)
            sel = np.flatnonzero(self._alive & (self._start <= t))
            x, y, hd = self._interpolated(sel, frac)
            return SimSnapshot(
                t=t,
                ids=self._ids[sel].copy(),
                x=x,
                y=y,
                heading_deg=hd,
                length_m=self._len[sel].copy(),
                width_m=self._wid[sel].copy(),
                height_m=self._hgt[sel].copy(),
                color_bgr=self._color[sel].copy(),
            )

    def _advance_to(self, k: int) -> None:
        for _ in range(max(0, k - self._k)):
            self._step()

    def _step(self) -> None:
        t1 = (self._k + 1) * STEP_S
        self._prev_edge = self._edge.copy()
        self._prev_s = self._s.copy()
        self._prev_lat = self._lat.copy()
        self._jumped[:] = False
        self._transitions[:] = 0
        active = self._alive & (self._start < t1)
        adv = self._speed * np.clip(t1 - self._start, 0.0, STEP_S)
        adv[~active] = 0.0
        s_old = self._s
        s_new = s_old + adv
        self._follow(active, s_old, s_new)
        self._s = s_new
        over = np.flatnonzero(active & (s_new >= self._elen[self._edge]))
        for i in over.tolist():
            self._carry(i)
        self._k += 1
        if self._scripts:
            self._record_tracks(t1)

    def _follow(
        self,
        active: npt.NDArray[np.bool_],
        s_old: npt.NDArray[np.float64],
        s_new: npt.NDArray[np.float64],
    ) -> None:
        """Keeps a gap behind the vehicle ahead in the same lane (no overtaking in a lane)."""
        act = np.flatnonzero(active)
        if len(act) < 2:
            return
        order = act[np.lexsort((s_new[act], self._lane[act], self._edge[act]))]
        fol = order[:-1]
        lead = order[1:]
        same = (self._edge[fol] == self._edge[lead]) & (self._lane[fol] == self._lane[lead])
        if not same.any():
            return
        fol = fol[same]
        lead = lead[same]
        limit = s_new[lead] - 0.5 * (self._len[lead] + self._len[fol]) - _GAP_M
        s_new[fol] = np.maximum(s_old[fol], np.minimum(s_new[fol], limit))

    def _carry(self, i: int) -> None:
        """Moves vehicle ``i`` past the end of its edge onto the next one(s)."""
        for _ in range(100):
            e = int(self._edge[i])
            length = self._elen[e]
            if self._s[i] < length or not self._alive[i]:
                return
            spare_t = (self._s[i] - length) / max(self._speed[i], 1e-6)
            nxt = self._next_edge(i, e)
            if nxt < 0:
                return
            self._edge[i] = nxt
            self._speed[i] = self._espeed[nxt] * self._factor[i]
            self._s[i] = spare_t * self._speed[i]
            script = self._scripts.get(i)
            rng = script.rng if script else self._rng
            self._set_lane(i, nxt, rng.random())
            self._transitions[i] += 1
            if self._transitions[i] > 1:
                self._jumped[i] = True

    def _next_edge(self, i: int, e: int) -> int:
        """The edge vehicle ``i`` takes after ``e``; -1 if it left the world."""
        script = self._scripts.get(i)
        if script is not None:
            if script.pos + 1 < len(script.route):
                script.pos += 1
                return script.route[script.pos]
            if script.then == "vanish":
                self._alive[i] = False
                return -1
            cands, cum = self._choices[e]
            if not cands:
                self._alive[i] = False
                return -1
            return cands[bisect.bisect_right(cum, script.rng.random() * cum[-1])]
        cands, cum = self._choices[e]
        if cands:
            k = min(bisect.bisect_right(cum, self._rng.random() * cum[-1]), len(cands) - 1)
            return cands[k]
        return self._respawn(i)

    def _respawn(self, i: int) -> int:
        """A background vehicle that drove off the map: a new one enters elsewhere."""
        cum = self._entry_cum
        k = min(bisect.bisect_right(cum, self._rng.random() * cum[-1]), len(cum) - 1)
        e = self._entries[k]
        (ln, wd, ht), paint = self._random_body(
            self._rng.random(), self._rng.random(), self._rng.random()
        )
        self._ids[i] = self._next_id
        self._next_id += 1
        self._len[i], self._wid[i], self._hgt[i] = ln, wd, ht
        self._color[i] = paint
        self._factor[i] = 0.75 + 0.3 * self._rng.random()
        self._edge[i] = e
        self._speed[i] = self._espeed[e] * self._factor[i]
        self._s[i] = 0.0
        self._set_lane(i, e, self._rng.random())
        self._jumped[i] = True
        return -1

    # ------------------------------------------------------------------ positions

    def _locate(
        self,
        edge: npt.NDArray[np.int64],
        s: npt.NDArray[np.float64],
        lat: npt.NDArray[np.float64],
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        if len(edge) == 0:
            z = np.zeros(0)
            return z, z.copy(), z.copy()
        g = self._ebase[edge] + np.clip(s, 0.0, self._elen[edge])
        j = np.searchsorted(self._gcum, g, side="right") - 1
        j = np.clip(j, self._vstart[edge], self._vstart[edge] + self._vcount[edge] - 2)
        frac = (g - self._gcum[j]) / self._plen[j]
        ux = self._pux[j]
        uy = self._puy[j]
        x = self._gx[j] + frac * self._pdx[j] + uy * lat
        y = self._gy[j] + frac * self._pdy[j] - ux * lat
        heading = np.degrees(np.arctan2(ux, uy)) % 360.0
        return x, y, heading

    def _interpolated(
        self, sel: npt.NDArray[np.int64], frac: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        e0 = self._prev_edge[sel]
        s0 = self._prev_s[sel]
        e1 = self._edge[sel]
        s1 = self._s[sel]
        same = e0 == e1
        rest0 = np.maximum(self._elen[e0] - s0, 0.0)
        total = np.where(same, s1 - s0, rest0 + s1)
        d = frac * total
        on_prev = same | (d < rest0)
        edge = np.where(on_prev, e0, e1)
        s = np.where(same, s0 + d, np.where(on_prev, s0 + d, d - rest0))
        lat = np.where(on_prev, self._prev_lat[sel], self._lat[sel])
        jumped = self._jumped[sel]
        edge = np.where(jumped, e1, edge)
        s = np.where(jumped, s1, s)
        lat = np.where(jumped, self._lat[sel], lat)
        return self._locate(edge, s, lat)

    def _record_tracks(self, t: float) -> None:
        idx = np.array(
            [i for i in self._scripts if self._alive[i] and self._start[i] <= t], dtype=np.int64
        )
        if len(idx) == 0:
            return
        x, y, _ = self._locate(self._edge[idx], self._s[idx], self._lat[idx])
        for i, xi, yi in zip(idx.tolist(), x.tolist(), y.tolist(), strict=True):
            self._scripts[i].track.append((t, xi, yi))

    # ------------------------------------------------------------------ scripted vehicles

    def add_vehicle(
        self,
        edges: Sequence[int],
        *,
        color_bgr: tuple[int, int, int],
        start_t: float | None = None,
        speed_factor: float = 1.0,
        kind: str = "car",
        then: Literal["continue", "vanish"] = "vanish",
    ) -> int:
        """Adds a scripted vehicle following ``edges`` from ``start_t``; returns its id.

        ``edges`` are consecutive directed edge ids; after the last one the
        vehicle drives on at random (``then="continue"``) or leaves the world.
        """
        route = [int(e) for e in edges]
        if not route:
            raise ValueError("add_vehicle: empty route")
        m = self.network.edge_count
        for e in route:
            if not 0 <= e < m:
                raise ValueError(f"add_vehicle: edge {e} does not exist")
        for a, b in zip(route, route[1:], strict=False):
            if int(self.network.edge_to[a]) != int(self.network.edge_from[b]):
                raise ValueError(f"add_vehicle: edges {a} and {b} are not consecutive")
        if kind not in VEHICLE_KINDS:
            raise ValueError(f"add_vehicle: unknown kind {kind!r} (use {', '.join(VEHICLE_KINDS)})")
        if then not in ("continue", "vanish"):
            raise ValueError(f"add_vehicle: then must be 'continue' or 'vanish', not {then!r}")
        if speed_factor <= 0:
            raise ValueError("add_vehicle: speed_factor must be positive")
        st = self.now() if start_t is None else float(start_t)
        length, width, height = VEHICLE_KINDS[kind]
        with self._lock:
            vid = self._next_id
            self._next_id += 1
            i = len(self._ids)
            rng = random.Random(self._seed * 1_000_003 + vid)
            e0 = route[0]

            def grow(a: npt.NDArray[Any], v: object) -> npt.NDArray[Any]:
                return np.concatenate((a, np.asarray([v], dtype=a.dtype)))

            self._ids = grow(self._ids, vid)
            self._edge = grow(self._edge, e0)
            self._s = grow(self._s, 0.0)
            self._factor = grow(self._factor, speed_factor)
            self._speed = grow(self._speed, self._espeed[e0] * speed_factor)
            self._lane = grow(self._lane, 0)
            self._lat = grow(self._lat, 0.0)
            self._len = grow(self._len, length)
            self._wid = grow(self._wid, width)
            self._hgt = grow(self._hgt, height)
            self._color = np.concatenate(
                (self._color, np.asarray([color_bgr], dtype=np.uint8).reshape(1, 3))
            )
            self._alive = grow(self._alive, True)
            self._start = grow(self._start, st)
            self._prev_edge = grow(self._prev_edge, e0)
            self._prev_s = grow(self._prev_s, 0.0)
            self._prev_lat = grow(self._prev_lat, 0.0)
            self._jumped = grow(self._jumped, False)
            self._transitions = grow(self._transitions, 0)
            self._set_lane(i, e0, rng.random())
            self._prev_lat[i] = self._lat[i]
            self._scripts[i] = _Script(route, 0, then, rng, [])
            self._index_of[vid] = i
            t_now = self._k * STEP_S
            if st < t_now:  # the world is already past the start: catch up
                self._s[i] = self._speed[i] * (t_now - st)
                self._carry(i)
                self._jumped[i] = True
        return vid

    def vehicle_track(self, vehicle_id: int) -> list[tuple[float, float, float]]:
        """(t, x, y) at every step so far of a scripted vehicle (KeyError for others)."""
        with self._lock:
            return list(self._scripts[self._index_of[vehicle_id]].track)

    def segment_lines(self) -> list[LineString]:
        """Shapely lines of the network's segments (cached; shared by the cameras)."""
        cached: list[LineString] | None = getattr(self, "_seg_lines", None)
        if cached is None:
            cached = [LineString(s.coords) for s in self.network.segments]
            self._seg_lines = cached
        return cached


# ====================================================================== rendering

_SKY_TOP = np.array([196, 170, 150], dtype=np.float32)  # BGR, pale blue
_HAZE = np.array([196, 192, 186], dtype=np.float32)
_GRASS_NEAR = (74, 100, 88)
_GRASS_FAR = (96, 116, 106)
_SIDEWALK = (150, 152, 150)
_ASPHALT = (86, 86, 84)
_MOTORWAY_ASPHALT = (96, 97, 95)
_YELLOW = (40, 175, 205)
_WHITE = (215, 218, 218)
_SHADOW = (40, 40, 42)
_NEAR_M = 0.5
_FACES = (  # (corner indices, shade) ; corners: bit0 = +length, bit1 = +width, bit2 = +z
    ((1, 3, 7, 5), 0.82),  # front
    ((0, 4, 6, 2), 0.78),  # back
    ((2, 6, 7, 3), 0.62),  # right
    ((0, 1, 5, 4), 0.7),  # left
    ((4, 5, 7, 6), 1.12),  # top
)
_FACE_NORMALS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1]], dtype=float)
_CORNERS = np.array([[(c >> 0) & 1, (c >> 1) & 1, (c >> 2) & 1] for c in range(8)], dtype=float)


class SimCamera:
    """Renders one camera's view of a ``SimWorld`` like a fixed CCTV camera."""

    def __init__(
        self, world: SimWorld, camera: Camera, width: int = 640, height: int = 360
    ) -> None:
        self.world = world
        self.camera = camera
        self.width = int(width)
        self.height = int(height)
        self.range_m = max(float(camera.range_m), 5.0)
        self.cam_h = 7.0 if self.range_m >= 50 else 2.5
        hfov = math.radians(min(max(float(camera.fov_deg), 10.0), 120.0))
        self.f_px = (self.width / 2.0) / math.tan(hfov / 2.0)
        self.cx = self.width / 2.0
        self.cy = self.height / 2.0
        pitch = math.atan2(self.cam_h, self.range_m / 2.0)
        h = math.radians(camera.heading_deg)
        fwd_h = np.array([math.sin(h), math.cos(h), 0.0])
        right = np.array([math.cos(h), -math.sin(h), 0.0])
        fwd = math.cos(pitch) * fwd_h + np.array([0.0, 0.0, -math.sin(pitch)])
        up = math.sin(pitch) * fwd_h + np.array([0.0, 0.0, math.cos(pitch)])
        self._pitch = pitch
        self._fwd_h = fwd_h
        self._rot = np.stack([right, up, fwd])  # world offset -> camera (X right, Y up, Z fwd)
        self._pos = np.array([camera.x, camera.y, self.cam_h])
        self.draw_radius_m = min(max(self.range_m * 3.0, 150.0), 450.0)
        self._haze_m = max(self.range_m, 40.0) * 4.0
        self._scale = self.height / 360.0
        self._frame_no = 0
        self._backgrounds = self._make_backgrounds()

    # ------------------------------------------------------------------ geometry

    def _to_cam(self, pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """(..., 3) world points -> (..., 3) camera coordinates."""
        return (pts - self._pos) @ self._rot.T

    def _project(self, pc: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        z = np.maximum(pc[..., 2], 1e-6)
        u = self.cx + self.f_px * pc[..., 0] / z
        v = self.cy - self.f_px * pc[..., 1] / z
        return np.stack([u, v], axis=-1)

    def _ground_dist_of_row(self, row: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        below = self._pitch + np.arctan((row - self.cy) / self.f_px)
        return np.where(below > 1e-4, self.cam_h / np.tan(np.maximum(below, 1e-4)), np.inf)

    def _haze(self, d: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.minimum(1.0 - np.exp(-d / self._haze_m), 0.92)

    @property
    def horizon_row(self) -> float:
        return self.cy - self.f_px * math.tan(self._pitch)

    def _clip_region(self) -> Polygon:
        """Ground in front of the camera (past the near plane), out to the draw radius."""
        c = np.array([self.camera.x, self.camera.y])
        f = self._fwd_h[:2]
        r = np.array([f[1], -f[0]])
        rad = self.draw_radius_m
        near = c + f * (_NEAR_M + 0.5)
        box = Polygon(
            [near - r * rad, near + r * rad, near + r * rad + f * rad, near - r * rad + f * rad]
        )
        return box.intersection(shapely.Point(*c).buffer(rad, quad_segs=24))

    # ------------------------------------------------------------------ static background

    def _make_backgrounds(self) -> list[npt.NDArray[np.uint8]]:
        w, hgt = self.width, self.height
        img = np.empty((hgt, w, 3), dtype=np.uint8)
        rows = np.arange(hgt, dtype=np.float64) + 0.5
        horizon = self.horizon_row
        # ground: gradient from near to far
        d = self._ground_dist_of_row(rows)
        tnear = np.clip(np.nan_to_num(d, posinf=1e9) / (self.range_m * 2.0), 0.0, 1.0)[:, None]
        ground = (1 - tnear) * np.array(_GRASS_NEAR) + tnear * np.array(_GRASS_FAR)
        img[:] = ground[:, None, :].astype(np.uint8)
        self._draw_roads(img)
        # haze per row (ground), sky above the horizon
        a = self._haze(np.nan_to_num(d, posinf=1e9))[:, None, None]
        out = img.astype(np.float32) * (1 - a) + _HAZE * a
        sky_rows = rows < horizon
        if sky_rows.any():
            ts = np.clip((horizon - rows[sky_rows]) / max(horizon, 1.0), 0.0, 1.0)[:, None, None]
            out[sky_rows] = (1 - ts) * _HAZE + ts * _SKY_TOP
        base = np.clip(out, 0, 255).astype(np.uint8)
        # a soft lens: slightly darker corners
        yy, xx = np.mgrid[0:hgt, 0:w].astype(np.float32)
        rr = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - hgt / 2) / (hgt / 2)) ** 2
        vign = (1.0 - 0.12 * rr)[:, :, None]
        base = np.clip(base.astype(np.float32) * vign, 0, 255).astype(np.uint8)
        self._draw_static_osd(base)
        # a few variants with sensor noise, cycled per frame
        rng = np.random.default_rng(zlib.crc32(self.camera.id.encode()))
        variants = []
        for _ in range(3):
            noise = rng.integers(-3, 4, size=(hgt, w, 1), dtype=np.int16)
            variants.append(np.clip(base.astype(np.int16) + noise, 0, 255).astype(np.uint8))
        return variants

    def _roads_near(self) -> list[int]:
        cam = self.camera
        rad = self.draw_radius_m
        out = []
        for k, seg in enumerate(self.world.network.segments):
            c = seg.coords
            if (
                c[:, 0].max() < cam.x - rad
                or c[:, 0].min() > cam.x + rad
                or c[:, 1].max() < cam.y - rad
                or c[:, 1].min() > cam.y + rad
            ):
                continue
            out.append(k)
        return out

    def _draw_roads(self, img: npt.NDArray[np.uint8]) -> None:
        segs = self.world.network.segments
        near = self._roads_near()
        self.road_segments = near
        if not near:
            return
        clip = self._clip_region()
        lines = self.world.segment_lines()
        geoms = [lines[k] for k in near]
        widths = np.array([road_width(segs[k].highway) for k in near])
        is_mw = np.array([segs[k].group == "motorway" for k in near])
        lines_arr = np.array(geoms, dtype=object)
        paved = shapely.buffer(lines_arr, widths / 2.0, cap_style="flat", join_style="round")
        ends = shapely.buffer(lines_arr, widths / 2.0, cap_style="round")
        city = ~is_mw
        walked = city & (widths >= 5.0)  # no sidewalks along alleys and driveways
        if walked.any():
            walks = shapely.buffer(lines_arr[walked], widths[walked] / 2.0 + 2.5)
            self._fill_ground(img, shapely.union_all(walks).intersection(clip), _SIDEWALK)
        if is_mw.any():
            mw = shapely.union_all(np.concatenate((paved[is_mw], ends[is_mw])))
            self._fill_ground(img, mw.intersection(clip), _MOTORWAY_ASPHALT)
        if city.any():
            roads = shapely.union_all(np.concatenate((paved[city], ends[city])))
            self._fill_ground(img, roads.intersection(clip), _ASPHALT)
        self._draw_markings(img, near, clip)

    def _fill_ground(
        self, img: npt.NDArray[np.uint8], geom: BaseGeometry, color: tuple[int, int, int]
    ) -> None:
        polys: list[Polygon]
        if isinstance(geom, Polygon):
            polys = [geom]
        elif isinstance(geom, MultiPolygon) or hasattr(geom, "geoms"):
            polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]
        else:
            return
        for p in polys:
            if p.is_empty:
                continue
            rings = [np.asarray(p.exterior.coords)] + [np.asarray(r.coords) for r in p.interiors]
            pts = []
            for ring in rings:
                pc = self._clip_near(self._to_cam(np.c_[ring[:, :2], np.zeros(len(ring))]))
                if len(pc) >= 3:
                    pts.append(np.round(self._project(pc) * 16).astype(np.int32))
            if pts:
                cv2.fillPoly(img, pts, color, lineType=cv2.LINE_AA, shift=4)

    @staticmethod
    def _clip_near(pc: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Sutherland-Hodgman clip of a polygon (camera coordinates) to Z >= near."""
        inside = pc[:, 2] >= _NEAR_M
        if inside.all():
            return pc
        if not inside.any():
            return pc[:0]
        out: list[npt.NDArray[np.float64]] = []
        n = len(pc)
        for k in range(n):
            a = pc[k]
            b = pc[(k + 1) % n]
            ain = a[2] >= _NEAR_M
            bin_ = b[2] >= _NEAR_M
            if ain:
                out.append(a)
            if ain != bin_:
                tt = (_NEAR_M - a[2]) / (b[2] - a[2])
                out.append(a + tt * (b - a))
        return np.array(out) if out else pc[:0]

    def _draw_markings(self, img: npt.NDArray[np.uint8], near: list[int], clip: Polygon) -> None:
        segs = self.world.network.segments
        mark_clip = clip.intersection(
            shapely.Point(self.camera.x, self.camera.y).buffer(min(self.draw_radius_m, 250.0))
        )
        pieces: list[tuple[npt.NDArray[np.float64], tuple[int, int, int]]] = []

        def solid(line: BaseGeometry, color: tuple[int, int, int]) -> None:
            g = shapely.segmentize(line.intersection(mark_clip), 8.0)
            for part in getattr(g, "geoms", [g]):
                if isinstance(part, LineString) and not part.is_empty:
                    c = np.asarray(part.coords)
                    pieces.extend((c[k : k + 2], color) for k in range(len(c) - 1))

        def dashed(line: BaseGeometry, color: tuple[int, int, int]) -> None:
            if not isinstance(line, LineString) or line.is_empty:
                return
            starts = np.arange(1.0, line.length - 3.0, 12.0)
            if len(starts) == 0:
                return
            a = shapely.line_interpolate_point(line, starts)
            b = shapely.line_interpolate_point(line, starts + 3.0)
            inside = shapely.contains_xy(mark_clip, shapely.get_x(a), shapely.get_y(a))
            for pa, pb, ok in zip(a, b, inside, strict=True):
                if ok:
                    pieces.append((np.array([[pa.x, pa.y], [pb.x, pb.y]]), color))

        lines = self.world.segment_lines()
        for k in near:
            seg = segs[k]
            if not lines[k].intersects(mark_clip):
                continue
            w = road_width(seg.highway)
            line = lines[k]
            if seg.oneway == 0:
                if w >= 9.0:
                    solid(line.offset_curve(0.18), _YELLOW)
                    solid(line.offset_curve(-0.18), _YELLOW)
                nl = max(1, round(w / 2.0 / _LANE_M))
                for j in range(1, nl):
                    off = j * (w / 2.0) / nl
                    dashed(line.offset_curve(off), _WHITE)
                    dashed(line.offset_curve(-off), _WHITE)
            else:
                nl = max(1, round(w / _LANE_M))
                for j in range(1, nl):
                    dashed(line.offset_curve(w / 2.0 - j * w / nl), _WHITE)
                if seg.group == "motorway" and seg.highway.endswith("way"):
                    # coords run with travel for oneway=1: the right edge is a negative offset
                    sign = 1.0 if seg.oneway == 1 else -1.0
                    solid(line.offset_curve(-sign * (w / 2.0 - 0.4)), _WHITE)
                    solid(line.offset_curve(sign * (w / 2.0 - 0.4)), _YELLOW)
        if not pieces:
            return
        pts = np.array([p for p, _ in pieces])  # (n, 2, 2)
        pc = self._to_cam(np.concatenate([pts, np.zeros((len(pts), 2, 1))], axis=2))
        for (_, color), seg_c in zip(pieces, pc, strict=True):
            a, b = seg_c
            if a[2] < _NEAR_M and b[2] < _NEAR_M:
                continue
            if a[2] < _NEAR_M:
                a = a + (_NEAR_M - a[2]) / (b[2] - a[2]) * (b - a)
            elif b[2] < _NEAR_M:
                b = b + (_NEAR_M - b[2]) / (a[2] - b[2]) * (a - b)
            uv = self._project(np.stack([a, b]))
            zmid = 0.5 * (a[2] + b[2])
            thick = int(min(4, max(1, round(self.f_px * 0.1 / zmid))))
            p = np.round(uv * 16).astype(np.int32)
            cv2.line(img, tuple(p[0]), tuple(p[1]), color, thick, cv2.LINE_AA, shift=4)

    # ------------------------------------------------------------------ text

    def _text(
        self,
        img: npt.NDArray[np.uint8],
        text: str,
        org: tuple[int, int],
        scale: float,
    ) -> None:
        font = cv2.FONT_HERSHEY_SIMPLEX
        thick = max(1, round(self._scale))
        # the outline is the same text shifted around: a thicker stroke would also
        # widen OpenCV's letter spacing and the two would not line up
        x, y = org
        for ox, oy in ((-1, -1), (1, -1), (-1, 1), (1, 1), (0, 2), (2, 0), (0, -2), (-2, 0)):
            cv2.putText(img, text, (x + ox, y + oy), font, scale, (10, 10, 10), thick, cv2.LINE_AA)
        cv2.putText(img, text, org, font, scale, (245, 245, 245), thick, cv2.LINE_AA)

    def _draw_static_osd(self, img: npt.NDArray[np.uint8]) -> None:
        s = 0.52 * self._scale
        (_, th), _ = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, s, 1)
        margin = max(4, round(8 * self._scale))
        self._text(img, self.camera.name, (margin, margin + th), s)
        self._text(img, self.camera.id, (margin, self.height - margin), 0.38 * self._scale)
        self._osd_scale = s
        self._osd_margin = margin
        self._osd_th = th
        (cw, _), _ = cv2.getTextSize("0000-00-00 00:00:00", cv2.FONT_HERSHEY_SIMPLEX, s, 1)
        self._clock_x = self.width - margin - cw

    # ------------------------------------------------------------------ frames

    def render(self, t: float, wall_time: datetime.datetime) -> npt.NDArray[np.uint8]:
        """One BGR frame (a new array) of the world at time ``t``, stamped with ``wall_time``."""
        self._frame_no += 1
        frame = self._backgrounds[self._frame_no % len(self._backgrounds)].copy()
        self._draw_vehicles(frame, self.world.snapshot(t))
        self._text(
            frame,
            wall_time.strftime("%Y-%m-%d %H:%M:%S"),
            (self._clock_x, self._osd_margin + self._osd_th),
            self._osd_scale,
        )
        return frame

    def _draw_vehicles(self, frame: npt.NDArray[np.uint8], snap: SimSnapshot) -> None:
        if len(snap.ids) == 0:
            return
        cam = self.camera
        dx = snap.x - cam.x
        dy = snap.y - cam.y
        dist = np.hypot(dx, dy)
        fx, fy = self._fwd_h[0], self._fwd_h[1]
        ahead = dx * fx + dy * fy
        side = np.abs(dx * fy - dy * fx)
        reach = 0.5 * snap.length_m + 1.0
        hw = self.width / 2.0 / self.f_px  # tan(hfov/2)
        vis = (
            (dist <= self.range_m * 1.3)
            & (ahead > -reach)
            & (side <= (np.maximum(ahead, 0.0) + reach) * hw * 1.6 + reach)
        )
        sel = np.flatnonzero(vis)
        if len(sel) == 0:
            return
        sel = sel[np.argsort(-dist[sel])]  # painter's order: far to near
        n = len(sel)
        h = np.radians(snap.heading_deg[sel])
        ux, uy = np.sin(h), np.cos(h)
        ln, wd, ht = snap.length_m[sel], snap.width_m[sel], snap.height_m[sel]
        color = snap.color_bgr[sel].astype(np.float64)
        # two boxes per vehicle: (l0, l1, half width, z0, z1) as fractions / metres
        parts = np.zeros((n, 2, 5))
        pcol = np.repeat(color[:, None, :], 2, axis=1)
        glass = np.array([48.0, 44.0, 42.0])
        bus = ln >= 11.5
        truck = (ln >= 7.0) & ~bus
        tall = (ht >= 1.75) & ~bus & ~truck
        car = ~bus & ~truck & ~tall
        half = 0.5 * ln
        # body
        parts[:, 0, 0] = -half
        parts[:, 0, 1] = half
        parts[:, 0, 2] = 0.5 * wd
        parts[:, 0, 3] = 0.22
        parts[:, 0, 4] = np.where(car, 0.55 * ht, np.where(tall, 0.5 * ht, 0.55 * ht))
        # cabin / upper part
        parts[:, 1, 0] = np.where(car, -0.3 * ln, np.where(tall, -0.46 * ln, -half))
        parts[:, 1, 1] = np.where(car, 0.17 * ln, np.where(tall, 0.28 * ln, half))
        parts[:, 1, 2] = np.where(bus | truck, 0.5, 0.44) * wd
        parts[:, 1, 3] = parts[:, 0, 4]
        parts[:, 1, 4] = ht
        cab_mix = np.where(car | tall, 0.7, np.where(bus, 0.6, 0.0))[:, None]
        pcol[:, 1] = (1 - cab_mix) * color + cab_mix * glass
        ptop = np.repeat(color[:, None, :], 2, axis=1)  # roofs keep the paint
        # truck: a cab in front, a cargo box behind
        if truck.any():
            parts[truck, 0, 0] = half[truck] - 2.3
            parts[truck, 0, 4] = 2.7
            parts[truck, 1, 0] = -half[truck]
            parts[truck, 1, 1] = half[truck] - 2.6
            parts[truck, 1, 3] = 0.5
            pcol[truck, 1] = np.array([214.0, 216.0, 214.0])
            ptop[truck, 1] = np.array([214.0, 216.0, 214.0])
        if bus.any():  # the upper part of a bus is its window band
            parts[bus, 0, 4] = 0.55 * ht[bus]
            parts[bus, 1, 4] = 0.85 * ht[bus]
            parts[bus, 1, 2] = 0.49 * wd[bus]
        # corners (n, 2, 8, 3) in world
        cl = (
            parts[:, :, None, 0]
            + _CORNERS[None, None, :, 0] * (parts[:, :, 1] - parts[:, :, 0])[:, :, None]
        )
        cw = (2.0 * _CORNERS[None, None, :, 1] - 1.0) * parts[:, :, 2][:, :, None]
        cz = (
            parts[:, :, None, 3]
            + _CORNERS[None, None, :, 2] * (parts[:, :, 4] - parts[:, :, 3])[:, :, None]
        )
        px = snap.x[sel][:, None, None] + cl * ux[:, None, None] + cw * uy[:, None, None]
        py = snap.y[sel][:, None, None] + cl * uy[:, None, None] - cw * ux[:, None, None]
        world = np.stack([px, py, cz], axis=-1)
        pc = self._to_cam(world)
        uv = self._project(pc)
        # face visibility: outward normal . (face point - camera) < 0
        nrm_l = np.stack([ux, uy, np.zeros(n)], axis=-1)
        nrm_w = np.stack([uy, -ux, np.zeros(n)], axis=-1)
        # alpha: haze plus a fade-out between range and 1.3 x range
        d = dist[sel]
        fade = np.clip((d - self.range_m) / (0.3 * self.range_m), 0.0, 1.0)
        hz = self._haze(d)
        # ground shadow footprint
        fl = 0.5 * ln + 0.3
        fw = 0.5 * wd + 0.35
        sx = np.stack([fl, fl, -fl, -fl], axis=-1)
        sw = np.stack([fw, -fw, -fw, fw], axis=-1)
        shx = snap.x[sel][:, None] + sx * ux[:, None] + sw * uy[:, None]
        shy = snap.y[sel][:, None] + sx * uy[:, None] - sw * ux[:, None]
        sh_pc = self._to_cam(np.stack([shx, shy, np.zeros_like(shx)], axis=-1))
        cam_pos = self._pos
        hgt, wid = frame.shape[:2]
        for k in range(n):
            box_uv = uv[k].reshape(-1, 2)
            zmin = pc[k, :, :, 2].min()
            if pc[k, :, :, 2].max() < _NEAR_M:
                continue
            x0, y0 = np.floor(box_uv.min(axis=0)).astype(int) - 2
            x1, y1 = np.ceil(box_uv.max(axis=0)).astype(int) + 2
            if x1 < 0 or y1 < 0 or x0 >= wid or y0 >= hgt:
                continue
            saved = None
            if fade[k] > 0.0:
                rx0, ry0 = max(x0, 0), max(y0, 0)
                rx1, ry1 = min(x1, wid), min(y1, hgt)
                saved = (rx0, ry0, rx1, ry1, frame[ry0:ry1, rx0:rx1].copy())
            a = float(hz[k])
            self._poly(frame, sh_pc[k], _SHADOW, zmin < _NEAR_M)
            pd = [float(np.sum((world[k, p].mean(axis=0) - cam_pos) ** 2)) for p in range(2)]
            for p in sorted(range(2), key=lambda q: -pd[q]):
                if parts[k, p, 4] - parts[k, p, 3] <= 0.01:
                    continue
                for fi, (idx, shade) in enumerate(_FACES):
                    if fi == 4:
                        normal = np.array([0.0, 0.0, 1.0])
                    elif fi < 2:
                        normal = nrm_l[k] * (1.0 if fi == 0 else -1.0)
                    else:
                        normal = nrm_w[k] * (1.0 if fi == 2 else -1.0)
                    corners = world[k, p, list(idx)]
                    if float(np.dot(normal, corners[0] - cam_pos)) >= 0.0:
                        continue
                    if fi == 4:
                        col = np.clip(ptop[k, p] * shade + 14.0, 0, 255)
                    else:
                        col = np.clip(pcol[k, p] * shade, 0, 255)
                    col = (1 - a) * col + a * _HAZE
                    self._poly(
                        frame, pc[k, p, list(idx)], tuple(float(c) for c in col), zmin < _NEAR_M
                    )
            if saved is not None:
                rx0, ry0, rx1, ry1, old = saved
                roi = frame[ry0:ry1, rx0:rx1]
                f = float(fade[k])
                cv2.addWeighted(roi, 1.0 - f, old, f, 0.0, dst=roi)

    def _poly(
        self,
        frame: npt.NDArray[np.uint8],
        pc: npt.NDArray[np.float64],
        color: tuple[float, ...],
        clip: bool,
    ) -> None:
        if clip:
            pc = self._clip_near(pc)
            if len(pc) < 3:
                return
        pts = np.round(self._project(pc) * 16).astype(np.int32)
        cv2.fillConvexPoly(frame, pts, color, lineType=cv2.LINE_AA, shift=4)
