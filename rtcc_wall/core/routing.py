"""Escape routes: where a fleeing vehicle can be, and which cameras will see it when.

From an incident point and time this module computes

* the **reachable area**: for every node of the road graph the earliest time a
  vehicle could be there (free-flow travel time divided by the fast speed
  factor), from one Dijkstra with a cutoff on a scipy CSR graph;
* a handful of **visibly different escape routes** to the map's exits or to the
  edge of the reachable area: a penalty method (the edges of accepted routes
  cost ``penalty`` times more and Dijkstra runs again) with destinations
  spread over compass sectors, rejecting a candidate that shares more than
  ``max_overlap`` of its length with an accepted route. Yen's k-shortest paths
  would give near-copies (ARCHITECTURE.md: the top 5 within ~1.3 %);
* for every route the **cameras** whose field of view it crosses, in order, each
  with the window ``[t / fast, t / slow]`` in which the vehicle could arrive,
  the cameras on several routes (**choke points**) and the unwatched stretches
  (**coverage gaps**).

Times: ``t_ff`` is the free-flow time (length / speed limit). A
``SpeedRange(slow=0.8, fast=1.5)`` turns it into the earliest arrival
``t_ff / 1.5`` (a driver at 1.5 x the limit) and the latest ``t_ff / 0.8``.
All distances are local metres (``geo.py``); all times are seconds after the
incident unless they are datetimes.

Speed: the graph (CSR, snapping tree, exits) is built once per network with
vectorised numpy. One analysis runs one cut-off Dijkstra on the whole graph,
then builds a CSR of the reachable part (plus a margin) once and runs the
penalty Dijkstras on that. A 10-minute area in a city holds tens of thousands
of nodes, where each Dijkstra costs about as much as the first one, so each
shortest-path tree yields up to ``per_run`` (4) routes: 7 routes take the
first tree plus one penalty run instead of 7 (``per_run=1``: the classic
method, a run per route, about twice the time). Pure Python/numpy/scipy/shapely: no Qt.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix  # type: ignore[import-untyped, unused-ignore]
from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped, unused-ignore]
from shapely import STRtree

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.roads import RoadNetwork
from rtcc_wall.errors import RtccError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
B = npt.NDArray[np.bool_]

#: Road classes whose nodes near the map edge count as exits.
MOTORWAY_CLASSES = frozenset({"motorway", "motorway_link"})
#: Number of distinct route colours the UI has; ``EscapeRoute.colour_index`` is below it.
ROUTE_PALETTE_SIZE = 8
DestinationKind = Literal["exit", "reachable_edge"]

_VIRTUAL_SLOTS = 2  # edges out of the incident point: at most the two ends of its segment
_NO_PRED = -9999  # scipy's "no predecessor"


class RoutingError(RtccError):
    """The question cannot be answered on this road network (message fit for the operator)."""


@dataclass(frozen=True, slots=True)
class SpeedRange:
    """How much faster or slower than the speed limit the vehicle may drive."""

    slow: float = 0.8
    fast: float = 1.5

    def __post_init__(self) -> None:
        if not (0.0 < self.slow <= self.fast) or not math.isfinite(self.fast):
            raise ValueError(f"need 0 < slow <= fast, got slow={self.slow}, fast={self.fast}")

    def earliest(self, t_ff_s: float) -> float:
        """Arrival time of the fast driver, for a free-flow time ``t_ff_s``."""
        return t_ff_s / self.fast

    def latest(self, t_ff_s: float) -> float:
        """Arrival time of the slow driver, for a free-flow time ``t_ff_s``."""
        return t_ff_s / self.slow


# --------------------------------------------------------------------------- graph


@dataclass(frozen=True, slots=True)
class StartPoint:
    """The incident point snapped onto the road graph.

    The vehicle starts on ``segment`` at ``offset_m`` along the segment's
    coordinates and leaves through ``edges`` (graph edges on that segment that
    its direction allows), reaching ``nodes[i]`` after ``partial_m[i]`` metres
    and ``partial_s[i]`` free-flow seconds.
    """

    x: float
    y: float
    snap_x: float
    snap_y: float
    snap_distance_m: float
    segment: int
    offset_m: float
    edges: tuple[int, ...]
    nodes: tuple[int, ...]
    partial_m: tuple[float, ...]
    partial_s: tuple[float, ...]


class RoutingGraph:
    """Free-flow travel times over a road network's directed edges, as a scipy CSR matrix.

    Graph edges are the network's directed edges (plus, with
    ``ignore_oneway``, the reverse of every one-way edge), sorted by (from,
    to); ``csr`` holds them in that order, so CSR position == graph edge id.
    Parallel edges stay (scipy's Dijkstra takes the cheapest). Row
    ``node_count`` is a virtual node whose out-edges are set per search to the
    incident point's partial costs.
    """

    def __init__(
        self, net: RoadNetwork, *, ignore_oneway: bool = False, exit_margin_m: float = 150.0
    ) -> None:
        n = net.node_count
        if n == 0 or net.edge_count == 0 or not net.segments:
            raise RoutingError(
                f"The road network {net.source or ''} has no roads "
                f"({n} nodes, {net.edge_count} edges): nothing to route on."
            )
        self.net = net
        self.ignore_oneway = ignore_oneway
        n_seg = len(net.segments)

        ef, et, es = net.edge_from, net.edge_to, net.edge_segment
        efw, el, esp = net.edge_forward, net.edge_length_m, net.edge_speed_mps
        against = np.zeros(ef.shape[0], dtype=np.bool_)
        if ignore_oneway:
            # a segment with a single directed edge is one-way: add its reverse
            one = np.bincount(es, minlength=n_seg)[es] == 1
            ef, et = np.concatenate([ef, et[one]]), np.concatenate([et, ef[one]])
            es = np.concatenate([es, es[one]])
            efw = np.concatenate([efw, ~efw[one]])
            el = np.concatenate([el, el[one]])
            esp = np.concatenate([esp, esp[one]])
            against = np.concatenate([against, np.ones(int(one.sum()), dtype=np.bool_)])
        time = el / np.maximum(esp, 0.1)
        order = np.argsort(ef.astype(np.int64) * (n + 1) + et, kind="stable")  # by (from, to)
        self.edge_from: I64 = ef[order].astype(np.int64)
        self.edge_to: I64 = et[order].astype(np.int64)
        self.edge_segment: I64 = es[order].astype(np.int64)
        self.edge_forward: B = efw[order]
        self.edge_length_m: F64 = el[order].astype(np.float64)
        self.edge_time_s: F64 = time[order].astype(np.float64)
        #: True for the reverse of a one-way edge (only with ``ignore_oneway``).
        self.edge_against_oneway: B = against[order]
        n_edges = int(self.edge_from.shape[0])
        self._n_edges = n_edges
        #: (from * (n + 1) + to), sorted: finds the edges between two nodes.
        self._keys: I64 = self.edge_from * (n + 1) + self.edge_to

        counts = np.bincount(self.edge_from, minlength=n + 1).astype(np.int64)
        counts[n] = _VIRTUAL_SLOTS
        indptr = np.zeros(n + 2, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = np.full(n_edges + _VIRTUAL_SLOTS, n, dtype=np.int32)
        indices[:n_edges] = self.edge_to
        data = np.zeros(n_edges + _VIRTUAL_SLOTS, dtype=np.float64)
        data[:n_edges] = self.edge_time_s
        self.csr = csr_matrix((data, indices, indptr.astype(np.int32)), shape=(n + 1, n + 1))
        self._indptr: I64 = self.csr.indptr.astype(np.int64)
        self._lock = threading.Lock()
        self._local = np.full(n + 1, -1, dtype=np.int32)  # scratch: global -> subgraph id

        # segments: endpoints (a = first coordinate), degree, graph edges per segment
        seg_a = np.zeros(n_seg, dtype=np.int64)
        seg_b = np.zeros(n_seg, dtype=np.int64)
        fw = self.edge_forward
        seg_a[self.edge_segment[fw]] = self.edge_from[fw]
        seg_b[self.edge_segment[fw]] = self.edge_to[fw]
        seg_a[self.edge_segment[~fw]] = self.edge_to[~fw]
        seg_b[self.edge_segment[~fw]] = self.edge_from[~fw]
        self._seg_order: I64 = np.argsort(self.edge_segment, kind="stable")
        self._seg_ptr: I64 = np.searchsorted(
            self.edge_segment[self._seg_order], np.arange(n_seg + 1)
        ).astype(np.int64)
        degree = np.bincount(seg_a, minlength=n) + np.bincount(seg_b, minlength=n)

        # exits: motorway nodes and dead ends (roads cut by the map edge) near the bbox
        motorway = np.fromiter(
            (s.highway in MOTORWAY_CLASSES for s in net.segments), dtype=np.bool_, count=n_seg
        )
        mw_node = np.zeros(n, dtype=np.bool_)
        mw_node[seg_a[motorway]] = True
        mw_node[seg_b[motorway]] = True
        xy = net.nodes_xy
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        self.bounds = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
        near = ((xy - lo) <= exit_margin_m).any(axis=1) | ((hi - xy) <= exit_margin_m).any(axis=1)
        #: Nodes where a vehicle leaves the map.
        self.exit_mask: B = near & (mw_node | (degree <= 1))

        # snapping: an STRtree over the segments' lines
        n_coords = np.fromiter((len(s.coords) for s in net.segments), dtype=np.int64, count=n_seg)
        coords = np.concatenate([s.coords for s in net.segments])
        self._seg_lines = shapely.linestrings(coords, indices=np.repeat(np.arange(n_seg), n_coords))
        self._seg_length: F64 = shapely.length(self._seg_lines)
        self._seg_tree = STRtree(self._seg_lines)

    @classmethod
    def from_network(
        cls, net: RoadNetwork, *, ignore_oneway: bool = False, exit_margin_m: float = 150.0
    ) -> RoutingGraph:
        """Builds the graph; ``ignore_oneway`` lets the vehicle drive against one-way streets."""
        return cls(net, ignore_oneway=ignore_oneway, exit_margin_m=exit_margin_m)

    @property
    def node_count(self) -> int:
        return self.net.node_count

    @property
    def edge_count(self) -> int:
        return self._n_edges

    def edge_coords(self, edge: int) -> F64:
        """Polyline of a graph edge in its direction of travel (local metres)."""
        seg = self.net.segments[int(self.edge_segment[edge])]
        return seg.coords if bool(self.edge_forward[edge]) else seg.coords[::-1]

    def edges_between(self, a: int, b: int) -> I64:
        """Graph edges from node ``a`` to node ``b`` (cheapest first)."""
        key = a * (self.node_count + 1) + b
        lo, hi = np.searchsorted(self._keys, [key, key + 1])
        found = np.arange(lo, hi, dtype=np.int64)
        return found[np.argsort(self.edge_time_s[found], kind="stable")]

    def segment_edges(self, segment: int) -> I64:
        """Graph edges lying on a road segment."""
        return self._seg_order[self._seg_ptr[segment] : self._seg_ptr[segment + 1]]

    # ----------------------------------------------------------------- snapping

    def nearest_road_m(self, x: float, y: float) -> float:
        """Distance from (x, y) to the nearest road segment."""
        _, dist = self._seg_tree.query_nearest(shapely.points(x, y), return_distance=True)
        return float(np.min(dist))

    def snap(self, x: float, y: float, *, max_snap_m: float = 150.0) -> StartPoint:
        """Snaps (x, y) to the nearest road segment within ``max_snap_m``.

        Raises RoutingError when the point is farther than ``max_snap_m`` from
        the network's bounding box or from every road, saying how far the
        nearest road is.
        """
        if not (math.isfinite(x) and math.isfinite(y)):
            raise RoutingError(f"The incident point ({x}, {y}) is not a valid position.")
        x0, y0, x1, y1 = self.bounds
        outside = math.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1))
        if outside > max_snap_m:
            raise RoutingError(
                f"The incident point is outside the road network's area: {outside:.0f} m beyond "
                f"its bounding box; the nearest road is {self.nearest_road_m(x, y):.0f} m away "
                f"(limit {max_snap_m:.0f} m)."
            )
        pt = shapely.points(x, y)
        idx, dist = self._seg_tree.query_nearest(
            pt, max_distance=max_snap_m, return_distance=True, all_matches=True
        )
        if len(idx) == 0:
            raise RoutingError(
                f"No road within {max_snap_m:.0f} m of the incident point: the nearest road is "
                f"{self.nearest_road_m(x, y):.0f} m away."
            )
        best = np.flatnonzero(dist == dist.min())
        seg = int(np.min(idx[best]))
        line = self._seg_lines[seg]
        length = float(self._seg_length[seg])
        off = min(max(float(shapely.line_locate_point(line, pt)), 0.0), length)
        snapped = shapely.line_interpolate_point(line, off)
        edges: list[int] = []
        nodes: list[int] = []
        part_m: list[float] = []
        part_s: list[float] = []
        for e in self.segment_edges(seg).tolist():
            rest = (length - off) if bool(self.edge_forward[e]) else off
            frac = rest / length if length > 0 else 0.0
            edges.append(e)
            nodes.append(int(self.edge_to[e]))
            part_m.append(float(self.edge_length_m[e]) * frac)
            part_s.append(float(self.edge_time_s[e]) * frac)
        return StartPoint(
            x=float(x),
            y=float(y),
            snap_x=float(shapely.get_x(snapped)),
            snap_y=float(shapely.get_y(snapped)),
            snap_distance_m=float(dist.min()),
            segment=seg,
            offset_m=off,
            edges=tuple(edges),
            nodes=tuple(nodes),
            partial_m=tuple(part_m),
            partial_s=tuple(part_s),
        )

    # ----------------------------------------------------------------- search

    def _search(self, start: StartPoint, limit_s: float) -> tuple[F64, I32]:
        """Free-flow times (and predecessors) from the incident point, up to ``limit_s``.

        Returns arrays of ``node_count`` entries; a predecessor equal to
        ``node_count`` is the incident point itself.
        """
        n, m = self.node_count, self._n_edges
        k = len(start.edges)
        with self._lock:  # the virtual row is shared state
            self.csr.indices[m : m + k] = start.nodes
            self.csr.data[m : m + k] = start.partial_s
            try:
                dist, pred = dijkstra(self.csr, indices=n, limit=limit_s, return_predecessors=True)
            finally:
                self.csr.indices[m : m + _VIRTUAL_SLOTS] = n
                self.csr.data[m : m + _VIRTUAL_SLOTS] = 0.0
        return dist[:n], pred[:n]


# --------------------------------------------------------------------------- reachable area


class ReachableArea:
    """Where the vehicle can be: earliest arrival (fast driver) at every node and edge.

    Computed once up to ``horizon_minutes`` (plus a search margin); filter by
    any ``minutes`` up to the horizon without searching again (a 0-20 min
    slider). Node times are free-flow in ``node_t_ff_s`` (inf where not
    searched) and fast-driver in ``node_earliest_s``.
    """

    def __init__(
        self,
        graph: RoutingGraph,
        start: StartPoint,
        horizon_minutes: float,
        speed: SpeedRange,
        node_t_ff_s: F64,
        pred: I32,
        search_limit_s: float,
    ) -> None:
        self.graph = graph
        self.start = start
        self.horizon_minutes = horizon_minutes
        self.speed = speed
        self.node_t_ff_s = node_t_ff_s
        self._pred = pred
        #: Free-flow seconds searched (the horizon of the fast driver, plus the margin).
        self.search_limit_s = search_limit_s

    def limit_ff_s(self, minutes: float | None = None) -> float:
        """Free-flow seconds the fast driver covers in ``minutes`` (default: the horizon)."""
        m = self.horizon_minutes if minutes is None else min(minutes, self.horizon_minutes)
        return max(m, 0.0) * 60.0 * self.speed.fast

    @cached_property
    def node_earliest_s(self) -> F64:
        """Earliest arrival (s after the incident) at every node; inf when not searched."""
        return self.node_t_ff_s / self.speed.fast

    def reachable_nodes(self, minutes: float | None = None) -> B:
        """Boolean mask of the nodes the fast driver reaches within ``minutes``."""
        return self.node_t_ff_s <= self.limit_ff_s(minutes) * (1 + 1e-12)

    @cached_property
    def _compact(self) -> tuple[I64, F64, F64]:
        g = self.graph
        lim = self.limit_ff_s()
        nodes = np.flatnonzero(self.node_t_ff_s <= lim)
        starts, ends = g._indptr[nodes], g._indptr[nodes + 1]
        counts = ends - starts
        total = int(counts.sum())
        offs = np.repeat(starts - np.cumsum(counts) + counts, counts)
        edges = offs + np.arange(total, dtype=np.int64)
        t0 = self.node_t_ff_s[g.edge_from[edges]]
        t1 = t0 + g.edge_time_s[edges]
        # the edges the incident lies on: occupied from t = 0
        se = np.asarray(self.start.edges, dtype=np.int64)
        extra = se[~np.isin(se, edges)]
        edges = np.concatenate([edges, extra])
        t0 = np.concatenate([t0, np.zeros(len(extra))])
        t1 = np.concatenate([t1, np.zeros(len(extra))])
        for e, ps in zip(self.start.edges, self.start.partial_s, strict=True):
            i = np.flatnonzero(edges == e)
            t0[i] = 0.0
            t1[i] = ps
        order = np.argsort(edges, kind="stable")
        f = self.speed.fast
        return edges[order], t0[order] / f, t1[order] / f

    def edges_within(self, minutes: float | None = None) -> tuple[I64, F64, F64]:
        """(graph edge ids, t0, t1) of the edges the fast driver enters within ``minutes``.

        ``t0`` is the earliest time at the edge's start, ``t1`` at its end when
        driven from the start (interpolate in between to colour a partly
        reachable edge). The edges the incident lies on have ``t0 = 0`` and
        ``t1`` = the time from the incident point to their end: draw them from
        the snapped point.
        """
        edges, t0, t1 = self._compact
        if minutes is None or minutes >= self.horizon_minutes:
            return edges, t0, t1
        keep = t0 <= max(minutes, 0.0) * 60.0 * (1 + 1e-12)
        return edges[keep], t0[keep], t1[keep]

    @cached_property
    def edge_t0(self) -> F64:
        """Earliest time (fast driver) at the start of every graph edge; NaN beyond the horizon."""
        out = np.full(self.graph.edge_count, np.nan)
        edges, t0, _ = self._compact
        out[edges] = t0
        return out

    @cached_property
    def edge_t1(self) -> F64:
        """Earliest time (fast driver) at the end of every graph edge; NaN beyond the horizon."""
        out = np.full(self.graph.edge_count, np.nan)
        edges, _, t1 = self._compact
        out[edges] = t1
        return out


def _as_start(
    graph: RoutingGraph, start: StartPoint | tuple[float, float], max_snap_m: float
) -> StartPoint:
    if isinstance(start, StartPoint):
        if sorted(start.edges) == sorted(graph.segment_edges(start.segment).tolist()):
            return start
        # snapped on another graph (e.g. with the other one-way rule): snap again here
        return graph.snap(start.x, start.y, max_snap_m=max(max_snap_m, start.snap_distance_m))
    return graph.snap(float(start[0]), float(start[1]), max_snap_m=max_snap_m)


def reachable(
    graph: RoutingGraph,
    start: StartPoint | tuple[float, float],
    minutes: float = 20.0,
    speed_range: SpeedRange | None = None,
    *,
    margin: float = 0.0,
    max_snap_m: float = 150.0,
) -> ReachableArea:
    """Earliest arrival at every node within ``minutes`` for the fast driver.

    ``start`` is a snapped ``StartPoint`` or an (x, y) point in local metres.
    ``margin`` searches that fraction further (the escape routes use it).
    """
    speed = speed_range or SpeedRange()
    st = _as_start(graph, start, max_snap_m)
    limit = max(minutes, 0.0) * 60.0 * speed.fast
    search = limit * (1.0 + max(margin, 0.0))
    dist, pred = graph._search(st, search)
    return ReachableArea(graph, st, minutes, speed, dist, pred, search)


# --------------------------------------------------------------------------- escape routes


@dataclass(frozen=True, slots=True)
class CameraPass:
    """A camera whose field of view a route crosses."""

    camera: Camera
    #: Distances along the route where it enters and leaves the field of view.
    enter_m: float
    leave_m: float
    #: Free-flow time to the entry point, and the arrival window [t/fast, t/slow].
    t_ff_s: float
    earliest_s: float
    latest_s: float
    #: Latest time the slow driver leaves the field of view.
    leave_latest_s: float
    earliest_at: datetime
    latest_at: datetime
    #: On two or more routes.
    choke_point: bool
    #: Indices of all routes through this camera.
    routes: tuple[int, ...]

    @property
    def camera_id(self) -> str:
        return self.camera.id


@dataclass(frozen=True, slots=True)
class CoverageGap:
    """A stretch of a route that no camera sees, and when the vehicle may be in it."""

    start_m: float
    end_m: float
    earliest_s: float  # fast driver entering the stretch
    latest_s: float  # slow driver leaving it

    @property
    def length_m(self) -> float:
        return self.end_m - self.start_m


@dataclass(frozen=True, slots=True)
class EscapeRoute:
    """One escape route from the incident point.

    ``edges[0]`` is the graph edge the incident lies on (driven from the
    snapped point); ``nodes[i] == graph.edge_to[edges[i]]`` and
    ``graph.edge_from[edges[i + 1]] == nodes[i]``.
    """

    index: int
    colour_index: int
    nodes: tuple[int, ...]
    edges: tuple[int, ...]
    coords: F64  # (K, 2) local metres, from the snapped point to the destination
    cum_m: F64  # (K,) distance along the route at each coordinate
    cum_t_ff_s: F64  # (K,) free-flow time at each coordinate
    length_m: float
    t_ff_s: float
    earliest_s: float
    latest_s: float
    first_edge_m: float  # metres driven on edges[0], from the snapped point
    destination: int
    destination_kind: DestinationKind
    bearing_deg: float  # compass bearing from the incident to the destination
    cameras: tuple[CameraPass, ...]
    coverage_gaps: tuple[CoverageGap, ...]

    def t_ff_at(self, distance_m: float) -> float:
        """Free-flow time at a distance along the route."""
        return float(np.interp(distance_m, self.cum_m, self.cum_t_ff_s))


@dataclass
class _Path:
    nodes: list[int]  # global ids, nodes[i] = edge_to[edges[i]]
    edges: list[int]  # global graph edge ids
    sub_pos: list[int]  # subgraph CSR positions of edges[1:]
    seg_m: dict[int, float]  # metres driven on each road segment
    length_m: float
    dest: int
    kind: DestinationKind
    bearing: float


def path_overlap(a: dict[int, float], b: dict[int, float]) -> float:
    """Shared length of two routes (metres per road segment) / the shorter route's length."""
    la, lb = sum(a.values()), sum(b.values())
    if la <= 0 or lb <= 0:
        return 0.0
    shared = sum(min(v, b[s]) for s, v in a.items() if s in b)
    return shared / min(la, lb)


def route_segment_lengths(graph: RoutingGraph, route: EscapeRoute) -> dict[int, float]:
    """Metres a route drives on each road segment (the incident's segment partly)."""
    out: dict[int, float] = {}
    for i, e in enumerate(route.edges):
        s = int(graph.edge_segment[e])
        length = route.first_edge_m if i == 0 else float(graph.edge_length_m[e])
        out[s] = out.get(s, 0.0) + length
    return out


class _Subgraph:
    """The searched part of the graph as a small CSR with its own virtual source (last row).

    Built once per analysis, so that the ~7-15 penalty Dijkstras run on the
    reachable area instead of the whole city.
    """

    def __init__(self, graph: RoutingGraph, area: ReachableArea, limit_s: float) -> None:
        n = graph.node_count
        start = area.start
        nodes = np.flatnonzero(area.node_t_ff_s <= limit_s)
        ns = int(nodes.shape[0])
        self.graph = graph
        self.nodes: I64 = nodes
        self.ns = ns
        starts = graph._indptr[nodes]
        counts = graph._indptr[nodes + 1] - starts
        total = int(counts.sum())
        pos = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(
            total, dtype=np.int64
        )
        src = np.repeat(np.arange(ns, dtype=np.int64), counts)
        with graph._lock:  # the scratch map is shared state
            local = graph._local
            local[nodes] = np.arange(ns, dtype=np.int32)
            local[n] = ns
            try:
                tgt = local[graph.edge_to[pos]].astype(np.int64)
                self.pred0: I64 = local[area._pred[nodes]].astype(np.int64)
                v_loc = [int(local[v]) for v in start.nodes]
            finally:
                local[nodes] = -1
                local[n] = -1
        keep = tgt >= 0
        src, tgt, pos = src[keep], tgt[keep], pos[keep]
        # the virtual source: the incident point's partial costs to its segment's ends
        self.start_edge_of: dict[int, tuple[int, float, float]] = {}
        for loc, e, pm, ps in zip(
            v_loc, start.edges, start.partial_m, start.partial_s, strict=True
        ):
            if loc >= 0 and (loc not in self.start_edge_of or ps < self.start_edge_of[loc][2]):
                self.start_edge_of[loc] = (e, pm, ps)
        v_t = sorted(self.start_edge_of)
        src = np.concatenate([src, np.full(len(v_t), ns, dtype=np.int64)])
        tgt = np.concatenate([tgt, np.asarray(v_t, dtype=np.int64)])
        pos = np.concatenate([pos, np.full(len(v_t), -1, dtype=np.int64)])
        weights = graph.edge_time_s[pos]
        weights[pos < 0] = [self.start_edge_of[v][2] for v in v_t]
        indptr = np.zeros(ns + 2, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=ns + 1), out=indptr[1:])
        self.edge_pos: I64 = pos  # subgraph CSR position -> graph edge (-1: virtual)
        self.keys: I64 = src * (ns + 1) + tgt
        self.csr = csr_matrix(
            (weights, tgt.astype(np.int32), indptr.astype(np.int32)), shape=(ns + 1, ns + 1)
        )
        self.weights: F64 = self.csr.data  # penalties scale these in place

    def run(self) -> I64:
        _, pred = dijkstra(self.csr, indices=self.ns, return_predecessors=True)
        return np.asarray(pred, dtype=np.int64)

    def path(self, pred: I64, dest: int, kind: DestinationKind, bearing: float) -> _Path | None:
        """The route to local node ``dest`` in a predecessor tree, or None if not reached."""
        ns = self.ns
        loc: list[int] = []
        v = dest
        while v != ns:
            if v < 0 or len(loc) > ns:
                return None
            loc.append(v)
            v = int(pred[v])
        loc.reverse()
        if loc[0] not in self.start_edge_of:
            return None
        g = self.graph
        first, first_m, _ = self.start_edge_of[loc[0]]
        la = np.asarray(loc, dtype=np.int64)
        keys = la[:-1] * (ns + 1) + la[1:]
        lo = np.searchsorted(self.keys, keys, side="left")
        hi = np.searchsorted(self.keys, keys, side="right")
        for i in np.flatnonzero(hi - lo > 1).tolist():  # parallel edges: the cheapest now
            lo[i] += int(np.argmin(self.weights[lo[i] : hi[i]]))
        edges = [first, *self.edge_pos[lo].tolist()]
        seg_m: dict[int, float] = {int(g.edge_segment[first]): first_m}
        length = first_m
        for e in edges[1:]:
            s, m = int(g.edge_segment[e]), float(g.edge_length_m[e])
            seg_m[s] = seg_m.get(s, 0.0) + m
            length += m
        return _Path(
            nodes=self.nodes[la].tolist(),
            edges=edges,
            sub_pos=lo.tolist(),
            seg_m=seg_m,
            length_m=length,
            dest=int(self.nodes[dest]),
            kind=kind,
            bearing=bearing,
        )


def _angle_diff(a: float, b: float) -> float:
    d = (a - b) % 360.0
    return min(d, 360.0 - d)


def find_escape_paths(
    graph: RoutingGraph,
    area: ReachableArea,
    *,
    minutes: float | None = None,
    routes: int = 7,
    penalty: float = 2.0,
    max_overlap: float = 0.55,
    sectors: int = 16,
    max_runs: int | None = None,
    margin: float = 0.1,
    per_run: int = 4,
) -> list[_Path]:
    """Distinct routes to exits or to the edge of the area reachable within ``minutes``.

    Destinations: in each of ``sectors`` compass sectors around the incident,
    the exit reached first or, without one, the reachable node farthest away.
    They are tried spread out (farthest in bearing from the accepted routes
    first); a candidate sharing more than ``max_overlap`` of the shorter
    route's length with an accepted route is rejected.

    Penalty method: each shortest-path tree yields up to ``per_run`` routes
    (the first tree is the reachable area's own); then the edges of the new
    routes cost ``penalty`` times more (when no candidate fitted, every
    accepted route gets another penalty) and Dijkstra runs again on the
    reachable subgraph: the nodes within ``minutes`` plus ``margin``, as far
    as ``area`` was searched. ``per_run=1`` is the classic one-route-per-run
    method (slower: a Dijkstra per route). At most ``max_runs`` (default
    ``2 * routes + 2``) Dijkstra runs.
    """
    if routes < 1:
        raise ValueError("routes must be at least 1")
    limit = area.limit_ff_s(minutes)
    if limit <= 0 or not area.start.edges:
        return []
    sub = _Subgraph(graph, area, min(limit * (1.0 + max(margin, 0.0)), area.search_limit_s))
    if sub.ns == 0:
        return []
    t0_all = area.node_t_ff_s[sub.nodes]
    within = t0_all <= limit
    if not within.any():
        return []
    exit_all = graph.exit_mask[sub.nodes]
    # destinations: exits, and the outer half of the area (where its edge is)
    pool = np.flatnonzero(within & (exit_all | (t0_all >= 0.5 * limit)))
    t0 = t0_all[pool]
    is_exit = exit_all[pool]
    xy = graph.net.nodes_xy[sub.nodes[pool]]
    dx, dy = xy[:, 0] - area.start.snap_x, xy[:, 1] - area.start.snap_y
    r = np.hypot(dx, dy)
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    sector = np.minimum((bearing * sectors / 360.0).astype(np.int64), sectors - 1)
    ok = r >= min(200.0, 0.3 * float(r.max(initial=0.0)))

    # candidates: (index into pool, kind), one per sector
    cands: list[tuple[int, DestinationKind]] = []
    for mask, key, kind in (
        (ok & is_exit, t0, "exit"),
        (ok & ~is_exit, -r, "reachable_edge"),
    ):
        idx = np.flatnonzero(mask)
        best = np.full(sectors, np.inf)
        np.minimum.at(best, sector[idx], key[idx])  # (a sort would cost ~10x more)
        win = idx[key[idx] == best[sector[idx]]]
        _, first = np.unique(sector[win], return_index=True)  # ties: the lowest index
        taken = {int(sector[c]) for c, _ in cands}
        for j in win[first].tolist():
            if int(sector[j]) not in taken:
                cands.append((j, kind))  # type: ignore[arg-type]
    if not cands:
        return []

    def first_key(c: tuple[int, DestinationKind]) -> tuple[int, float, int]:
        j, kind = c
        return (0, float(t0[j]), j) if kind == "exit" else (1, -float(r[j]), j)

    def spread_key(c: tuple[int, DestinationKind]) -> tuple[float, int, float, int]:
        j, kind = c
        gap = min(_angle_diff(float(bearing[j]), a.bearing) for a in accepted)
        return (-round(gap, 6), 0 if kind == "exit" else 1, -float(r[j]), j)

    accepted: list[_Path] = []
    remaining = sorted(cands, key=first_key)
    pred = sub.pred0  # the first tree comes free with the reachable area
    runs = 1
    budget = max_runs if max_runs is not None else 2 * routes + 2
    while remaining and len(accepted) < routes:
        new: list[_Path] = []
        failed: set[int] = set()
        while len(new) < per_run and len(accepted) < routes:
            if accepted:
                remaining.sort(key=spread_key)
            took = None
            for c in remaining:
                if c[0] in failed:
                    continue
                p = sub.path(pred, int(pool[c[0]]), c[1], float(bearing[c[0]]))
                if p is not None and all(
                    path_overlap(p.seg_m, a.seg_m) <= max_overlap for a in accepted
                ):
                    took = (c, p)
                    break
                failed.add(c[0])
            if took is None:
                break
            remaining.remove(took[0])
            accepted.append(took[1])
            new.append(took[1])
        # penalise the new routes (or, when none fitted, every accepted route again)
        for a in new or accepted:
            sub.weights[np.asarray(a.sub_pos, dtype=np.int64)] *= penalty
        if not accepted or len(accepted) >= routes or runs >= budget:
            break
        pred = sub.run()
        runs += 1
    return accepted


# --------------------------------------------------------------------------- cameras


class CameraFovIndex:
    """An STRtree over the cameras' field-of-view polygons; build once, reuse for every analysis."""

    def __init__(self, cameras: Iterable[Camera]) -> None:
        self.cameras: tuple[Camera, ...] = tuple(cameras)
        self.polygons = np.array([c.fov_polygon for c in self.cameras], dtype=object)
        self.tree = STRtree(self.polygons) if self.cameras else None

    def __len__(self) -> int:
        return len(self.cameras)

    def along(self, coords: F64, cum_m: F64) -> tuple[list[tuple[int, float, float]], F64]:
        """Cameras a polyline passes through, and the stretches seen.

        Returns ([(camera index, enter_m, leave_m)] ordered by entry, and an
        (M, 2) array of [start_m, end_m] intervals seen by some camera). Queries
        the polyline piece by piece (much faster than one long line).
        """
        empty = np.zeros((0, 2))
        if self.tree is None or len(coords) < 2:
            return [], empty
        keep = np.flatnonzero(np.diff(cum_m) > 0)
        if len(keep) == 0:
            return [], empty
        pieces = shapely.linestrings(np.stack([coords[keep], coords[keep + 1]], axis=1))
        hit_piece, hit_cam = self.tree.query(pieces, predicate="intersects")
        if len(hit_piece) == 0:
            return [], empty
        inter = shapely.intersection(pieces[hit_piece], self.polygons[hit_cam])
        parts, part_hit = shapely.get_parts(inter, return_index=True)
        nonempty = ~shapely.is_empty(parts)
        parts, part_hit = parts[nonempty], part_hit[nonempty]
        xy, part_of = shapely.get_coordinates(parts, return_index=True)
        if len(xy) == 0:
            return [], empty
        piece = keep[hit_piece[part_hit[part_of]]]
        along = cum_m[piece] + np.hypot(xy[:, 0] - coords[piece, 0], xy[:, 1] - coords[piece, 1])
        starts = np.flatnonzero(np.r_[True, part_of[1:] != part_of[:-1]])
        lo = np.minimum.reduceat(along, starts)
        hi = np.maximum.reduceat(along, starts)
        cam = hit_cam[part_hit[part_of[starts]]]
        per_cam: dict[int, tuple[float, float]] = {}
        for c, a, b in zip(cam.tolist(), lo.tolist(), hi.tolist(), strict=True):
            if c in per_cam:
                pa, pb = per_cam[c]
                per_cam[c] = (min(pa, a), max(pb, b))
            else:
                per_cam[c] = (a, b)
        passes = sorted(
            ((c, a, b) for c, (a, b) in per_cam.items()),
            key=lambda p: (p[1], self.cameras[p[0]].id),
        )
        return passes, np.stack([lo, hi], axis=1)


def _gaps(seen: F64, length: float, min_gap_m: float) -> list[tuple[float, float]]:
    """Stretches of [0, length] not covered by the ``seen`` intervals, at least ``min_gap_m``."""
    out: list[tuple[float, float]] = []
    pos = 0.0
    for a, b in sorted(map(tuple, seen.tolist())):
        if a - pos >= min_gap_m:
            out.append((pos, a))
        pos = max(pos, b)
    if length - pos >= min_gap_m:
        out.append((pos, length))
    return out


# --------------------------------------------------------------------------- one call


def _route_polyline(graph: RoutingGraph, p: _Path, first_m: float) -> tuple[F64, F64, F64]:
    """Coordinates, distance and free-flow time along a route, from the snapped point."""
    g_len = graph.edge_length_m[p.edges]
    g_pace = np.divide(
        graph.edge_time_s[p.edges], g_len, out=np.zeros(len(p.edges)), where=g_len > 0
    )
    segments = graph.net.segments
    pts = [
        segments[s].coords if f else segments[s].coords[::-1]
        for s, f in zip(
            graph.edge_segment[p.edges].tolist(), graph.edge_forward[p.edges].tolist(), strict=True
        )
    ]
    c = pts[0]  # from the snapped point: cut the first edge
    d = np.r_[0.0, np.cumsum(np.hypot(*np.diff(c, axis=0).T))]
    s0 = max(d[-1] - first_m, 0.0)
    j = min(max(int(np.searchsorted(d, s0, side="right")), 1), len(c) - 1)
    span = d[j] - d[j - 1]
    f = (s0 - d[j - 1]) / span if span > 0 else 0.0
    pts[0] = np.vstack([(c[j - 1] + (c[j] - c[j - 1]) * f)[None, :], c[j:]])
    for i in range(1, len(pts)):
        pts[i] = pts[i][1:]
    pace_v = np.repeat(g_pace, [len(c) for c in pts])
    coords = np.concatenate(pts)
    seg_len = np.hypot(*np.diff(coords, axis=0).T)
    cum_m = np.r_[0.0, np.cumsum(seg_len)]
    cum_t = np.r_[0.0, np.cumsum(seg_len * pace_v[1:])]
    return coords, cum_m, cum_t


@dataclass(frozen=True)
class ChokePoint:
    camera: Camera
    routes: tuple[int, ...]


@dataclass(frozen=True)
class EscapeAnalysis:
    """Everything ``analyze`` found; ``as_dict()`` is the JSON form (ESCAPE_ANALYSIS_SCHEMA)."""

    at: datetime
    minutes: float
    speed: SpeedRange
    start: StartPoint
    area: ReachableArea
    routes: tuple[EscapeRoute, ...]
    choke_points: tuple[ChokePoint, ...]
    ignore_oneway: bool

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary; see ``ESCAPE_ANALYSIS_SCHEMA``."""
        proj = self.area.graph.net.projection

        def iso(s: float) -> str:
            return (self.at + timedelta(seconds=s)).isoformat()

        lon, lat = proj.to_lonlat(self.start.x, self.start.y)
        edges, _, _ = self.area.edges_within(self.minutes)
        return {
            "schema": "rtcc-wall/escape-analysis/1",
            "incident": {
                "at": self.at.isoformat(),
                "x": round(self.start.x, 1),
                "y": round(self.start.y, 1),
                "lon": round(lon, 7),
                "lat": round(lat, 7),
                "snap_x": round(self.start.snap_x, 1),
                "snap_y": round(self.start.snap_y, 1),
                "snap_distance_m": round(self.start.snap_distance_m, 1),
            },
            "minutes": self.minutes,
            "speed": {"slow": self.speed.slow, "fast": self.speed.fast},
            "ignore_oneway": self.ignore_oneway,
            "reachable": {
                "nodes": int(self.area.reachable_nodes(self.minutes).sum()),
                "edges": int(len(edges)),
            },
            "routes": [
                {
                    "index": r.index,
                    "colour_index": r.colour_index,
                    "destination_kind": r.destination_kind,
                    "bearing_deg": round(r.bearing_deg, 1),
                    "length_m": round(r.length_m, 1),
                    "t_ff_s": round(r.t_ff_s, 1),
                    "earliest_s": round(r.earliest_s, 1),
                    "latest_s": round(r.latest_s, 1),
                    "earliest_at": iso(r.earliest_s),
                    "latest_at": iso(r.latest_s),
                    "coords": np.round(r.coords, 1).tolist(),
                    "cameras": [
                        {
                            "id": c.camera.id,
                            "name": c.camera.name,
                            "enter_m": round(c.enter_m, 1),
                            "leave_m": round(c.leave_m, 1),
                            "earliest_s": round(c.earliest_s, 1),
                            "latest_s": round(c.latest_s, 1),
                            "earliest_at": c.earliest_at.isoformat(),
                            "latest_at": c.latest_at.isoformat(),
                            "choke_point": c.choke_point,
                        }
                        for c in r.cameras
                    ],
                    "coverage_gaps": [
                        {
                            "start_m": round(g.start_m, 1),
                            "end_m": round(g.end_m, 1),
                            "earliest_s": round(g.earliest_s, 1),
                            "latest_s": round(g.latest_s, 1),
                        }
                        for g in r.coverage_gaps
                    ],
                }
                for r in self.routes
            ],
            "choke_points": [
                {"id": c.camera.id, "routes": list(c.routes)} for c in self.choke_points
            ],
        }


ESCAPE_ANALYSIS_SCHEMA = """\
EscapeAnalysis.as_dict(): JSON form of an escape-route analysis ("rtcc-wall/escape-analysis/1").
Distances in metres, x/y in the site's local metres (x east, y north), times in seconds after the
incident ("*_s") or ISO 8601 datetimes ("*_at"), rounded to 0.1.

{
  "schema": "rtcc-wall/escape-analysis/1",
  "incident": {"at": ISO, "x", "y", "lon", "lat",
               "snap_x", "snap_y",            # the point on the road the vehicle starts from
               "snap_distance_m"},
  "minutes": float,                           # horizon of the reachable area and the routes
  "speed": {"slow": 0.8, "fast": 1.5},        # factors of the speed limit
  "ignore_oneway": bool,
  "reachable": {"nodes": int, "edges": int},  # graph nodes / edges the fast driver reaches
  "routes": [                                 # 0..N, most likely (fastest exit) first
    {"index": int, "colour_index": int,       # colour_index < ROUTE_PALETTE_SIZE (8)
     "destination_kind": "exit" | "reachable_edge",
     "bearing_deg": float,                    # compass bearing incident -> destination
     "length_m", "t_ff_s",                    # free-flow time to the destination
     "earliest_s", "latest_s",                # t_ff / fast, t_ff / slow
     "earliest_at", "latest_at",
     "coords": [[x, y], ...],                 # from the snapped point to the destination
     "cameras": [                             # in order along the route
       {"id", "name", "enter_m", "leave_m",   # where the route enters / leaves the FOV
        "earliest_s", "latest_s",             # arrival window at the FOV entry
        "earliest_at", "latest_at",
        "choke_point": bool}],                # the camera is on two or more routes
     "coverage_gaps": [                       # unwatched stretches >= min_gap_m (50 m)
       {"start_m", "end_m",
        "earliest_s",                         # fast driver entering the stretch
        "latest_s"}]}],                       # slow driver leaving it
  "choke_points": [{"id", "routes": [int, ...]}]
}
"""


def analyze(
    graph: RoutingGraph,
    cameras: CameraFovIndex | Iterable[Camera],
    x: float,
    y: float,
    *,
    at: datetime,
    minutes: float = 10.0,
    speed: SpeedRange | None = None,
    routes: int = 7,
    horizon_minutes: float | None = None,
    max_snap_m: float = 150.0,
    penalty: float = 2.0,
    max_overlap: float = 0.55,
    margin: float = 0.1,
    min_gap_m: float = 50.0,
    per_run: int = 4,
) -> EscapeAnalysis:
    """Reachable area, distinct escape routes and the cameras along them, from (x, y) at ``at``.

    ``cameras``: a prebuilt ``CameraFovIndex`` (reuse it across calls) or
    cameras to index now. ``horizon_minutes`` (default ``minutes``) sets how
    far the reachable area is computed, e.g. 20 for a slider; routes use
    ``minutes``. ``penalty``, ``max_overlap``, ``margin`` and ``per_run``: see
    ``find_escape_paths``; ``min_gap_m``: shorter unwatched stretches are not
    reported. Raises RoutingError when the point is off the network.
    """
    spd = speed or SpeedRange()
    fov = cameras if isinstance(cameras, CameraFovIndex) else CameraFovIndex(cameras)
    start = graph.snap(x, y, max_snap_m=max_snap_m)
    horizon = max(minutes, horizon_minutes or 0.0)
    # the routes' subgraph: the fast driver's area within `minutes`, plus the margin
    search_margin = max(0.0, minutes * (1.0 + margin) / horizon - 1.0) if horizon > 0 else 0.0
    area = reachable(graph, start, horizon, spd, margin=search_margin)
    paths = find_escape_paths(
        graph,
        area,
        minutes=minutes,
        routes=routes,
        penalty=penalty,
        max_overlap=max_overlap,
        margin=margin,
        per_run=per_run,
    )
    raw: list[tuple[_Path, F64, F64, F64, list[tuple[int, float, float]], F64]] = []
    on_routes: dict[int, list[int]] = {}
    for i, p in enumerate(paths):
        first_m = _first_edge_m(start, p.edges[0])
        coords, cum_m, cum_t = _route_polyline(graph, p, first_m)
        passes, seen = fov.along(coords, cum_m)
        for c, _, _ in passes:
            on_routes.setdefault(c, []).append(i)
        raw.append((p, coords, cum_m, cum_t, passes, seen))

    out: list[EscapeRoute] = []
    for i, (p, coords, cum_m, cum_t, passes, seen) in enumerate(raw):
        cams = []
        for c, a, b in passes:
            t_in = float(np.interp(a, cum_m, cum_t))
            t_out = float(np.interp(b, cum_m, cum_t))
            e, lt = spd.earliest(t_in), spd.latest(t_in)
            cams.append(
                CameraPass(
                    camera=fov.cameras[c],
                    enter_m=a,
                    leave_m=b,
                    t_ff_s=t_in,
                    earliest_s=e,
                    latest_s=lt,
                    leave_latest_s=spd.latest(t_out),
                    earliest_at=at + timedelta(seconds=e),
                    latest_at=at + timedelta(seconds=lt),
                    choke_point=len(on_routes[c]) > 1,
                    routes=tuple(on_routes[c]),
                )
            )
        length = float(cum_m[-1])
        gaps = tuple(
            CoverageGap(
                start_m=a,
                end_m=b,
                earliest_s=spd.earliest(float(np.interp(a, cum_m, cum_t))),
                latest_s=spd.latest(float(np.interp(b, cum_m, cum_t))),
            )
            for a, b in _gaps(seen, length, min_gap_m)
        )
        t_ff = float(cum_t[-1])
        out.append(
            EscapeRoute(
                index=i,
                colour_index=i % ROUTE_PALETTE_SIZE,
                nodes=tuple(p.nodes),
                edges=tuple(p.edges),
                coords=coords,
                cum_m=cum_m,
                cum_t_ff_s=cum_t,
                length_m=length,
                t_ff_s=t_ff,
                earliest_s=spd.earliest(t_ff),
                latest_s=spd.latest(t_ff),
                first_edge_m=_first_edge_m(start, p.edges[0]),
                destination=p.dest,
                destination_kind=p.kind,
                bearing_deg=p.bearing,
                cameras=tuple(cams),
                coverage_gaps=gaps,
            )
        )
    chokes = tuple(
        ChokePoint(fov.cameras[c], tuple(rs))
        for c, rs in sorted(on_routes.items(), key=lambda kv: fov.cameras[kv[0]].id)
        if len(rs) > 1
    )
    return EscapeAnalysis(
        at=at,
        minutes=minutes,
        speed=spd,
        start=start,
        area=area,
        routes=tuple(out),
        choke_points=chokes,
        ignore_oneway=graph.ignore_oneway,
    )


def _first_edge_m(start: StartPoint, edge: int) -> float:
    return start.partial_m[start.edges.index(edge)]
