"""Escape routing against independent references: networkx, brute-force geometry, the demo city."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import networkx as nx  # type: ignore[import-untyped, unused-ignore]
import numpy as np
import pytest
from shapely.geometry import LineString

from rtcc_wall.core.cameras import Camera, make_camera
from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.roads import RoadNetwork, build_network
from rtcc_wall.core.routing import (
    CameraFovIndex,
    EscapeAnalysis,
    RoutingError,
    RoutingGraph,
    SpeedRange,
    analyze,
    path_overlap,
    reachable,
    route_segment_lengths,
)

PROJ = LocalProjection(-90.0, 32.0)
AT = datetime(2026, 5, 1, 14, 30, tzinfo=UTC)
MAX_OVERLAP = 0.55


# --------------------------------------------------------------------------- test networks


def grid_features(side: int, seed: int, spacing: float = 110.0) -> list[dict[str, Any]]:
    """A jittered grid of bent blocks: one-way streets, gaps, arterials, motorways."""
    rng = np.random.default_rng(seed)
    half = (side - 1) * spacing / 2
    jit = rng.uniform(-0.2, 0.2, (side, side, 2)) * spacing
    pts = {
        (i, j): (j * spacing - half + jit[i, j, 0], i * spacing - half + jit[i, j, 1])
        for i in range(side)
        for j in range(side)
    }
    feats: list[dict[str, Any]] = []
    for i in range(side):
        for j in range(side):
            for di, dj, line in ((0, 1, i), (1, 0, j)):
                if i + di >= side or j + dj >= side:
                    continue
                props: dict[str, Any] = {"highway": "residential"}
                if line % 6 == 3:
                    props = {"highway": "motorway", "oneway": "no"}
                elif line % 3 == 0:
                    props = {"highway": "primary"}
                else:
                    if rng.random() < 0.12:
                        continue  # a missing block
                    if rng.random() < 0.25:
                        props["oneway"] = "yes" if rng.random() < 0.5 else "-1"
                    if rng.random() < 0.1:
                        props["maxspeed"] = "25 mph"
                (x0, y0), (x1, y1) = pts[(i, j)], pts[(i + di, j + dj)]
                mx = (x0 + x1) / 2 + rng.uniform(-8, 8)
                my = (y0 + y1) / 2 + rng.uniform(-8, 8)
                coords = [list(PROJ.to_lonlat(x, y)) for x, y in ((x0, y0), (mx, my), (x1, y1))]
                feats.append(
                    {
                        "type": "Feature",
                        "properties": props,
                        "geometry": {"type": "LineString", "coordinates": coords},
                    }
                )
    return feats


def grid_network(side: int, seed: int) -> RoadNetwork:
    return build_network(grid_features(side, seed), PROJ)


def camera(
    cid: str, x: float, y: float, heading: float, fov: float = 70, rng: float = 90
) -> Camera:
    lon, lat = PROJ.to_lonlat(x, y)
    return make_camera(
        id=cid,
        name=cid,
        ownership="city",
        lon=lon,
        lat=lat,
        heading_deg=heading,
        fov_deg=fov,
        range_m=rng,
        stream="sim://",
        projection=PROJ,
    )


def random_cameras(net: RoadNetwork, count: int, seed: int) -> list[Camera]:
    rng = np.random.default_rng(seed)
    lo, hi = net.nodes_xy.min(axis=0), net.nodes_xy.max(axis=0)
    xy = rng.uniform(lo, hi, (count, 2))
    heading = rng.uniform(0, 360, count)
    return [
        camera(f"c{i:03d}", float(xy[i, 0]), float(xy[i, 1]), float(heading[i]))
        for i in range(count)
    ]


# --------------------------------------------------------------------------- reference


def _project(coords: np.ndarray, x: float, y: float) -> tuple[float, float]:
    """(distance to the polyline, offset along it of the nearest point), plain numpy."""
    a, b = coords[:-1], coords[1:]
    d = b - a
    seg_len = np.hypot(d[:, 0], d[:, 1])
    u = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / seg_len**2, 0, 1)
    px, py = a[:, 0] + u * d[:, 0], a[:, 1] + u * d[:, 1]
    dist = np.hypot(px - x, py - y)
    k = int(np.argmin(dist))
    return float(dist[k]), float(seg_len[:k].sum() + u[k] * seg_len[k])


def reference_times(
    net: RoadNetwork, x: float, y: float, limit: float, *, ignore_oneway: bool
) -> dict[int, float]:
    """Free-flow seconds from (x, y) to every node within ``limit``, by networkx."""
    g: nx.DiGraph | nx.Graph = nx.Graph() if ignore_oneway else nx.DiGraph()
    for a, b, length, speed in zip(
        net.edge_from.tolist(),
        net.edge_to.tolist(),
        net.edge_length_m.tolist(),
        net.edge_speed_mps.tolist(),
        strict=True,
    ):
        w = length / speed
        if not g.has_edge(a, b) or g[a][b]["weight"] > w:
            g.add_edge(a, b, weight=w)
    # the incident point: on its nearest segment, leaving through the ends its direction allows
    best = min(
        range(len(net.segments)), key=lambda s: (_project(net.segments[s].coords, x, y)[0], s)
    )
    seg = net.segments[best]
    _, off = _project(seg.coords, x, y)
    length = float(np.hypot(*np.diff(seg.coords, axis=0).T).sum())
    on = np.flatnonzero(net.edge_segment == best).tolist()
    e0 = on[0]
    first, last = int(net.edge_from[e0]), int(net.edge_to[e0])
    a_node, b_node = (first, last) if net.edge_forward[e0] else (last, first)
    along_ok = ignore_oneway or any(bool(net.edge_forward[e]) for e in on)
    against_ok = ignore_oneway or any(not net.edge_forward[e] for e in on)
    src = "incident"
    if along_ok:
        g.add_edge(src, b_node, weight=(length - off) / seg.speed_mps)
    if against_ok:
        g.add_edge(src, a_node, weight=off / seg.speed_mps)
    dist = nx.single_source_dijkstra_path_length(g, src, cutoff=limit, weight="weight")
    return {int(k): v for k, v in dist.items() if k != src}


_NETS: dict[tuple[int, int], RoadNetwork] = {}


def net_for(side: int, seed: int) -> RoadNetwork:
    if (side, seed) not in _NETS:
        _NETS[(side, seed)] = grid_network(side, seed)
    return _NETS[(side, seed)]


def incident_points(net: RoadNetwork, count: int, seed: int) -> list[tuple[float, float]]:
    """Points near random intersections, off the road by a few metres."""
    rng = np.random.default_rng(seed)
    nodes = rng.choice(net.node_count, count, replace=False)
    return [
        (float(net.nodes_xy[n, 0] + rng.uniform(-30, 30)), float(net.nodes_xy[n, 1] + 12.0))
        for n in nodes.tolist()
    ]


# --------------------------------------------------------------------------- travel times


@pytest.mark.parametrize("ignore_oneway", [False, True])
@pytest.mark.parametrize(("side", "seed"), [(15, 1), (25, 2), (44, 3)])
def test_travel_times_equal_networkx(side: int, seed: int, ignore_oneway: bool) -> None:
    net = net_for(side, seed)
    g = RoutingGraph.from_network(net, ignore_oneway=ignore_oneway)
    for x, y in incident_points(net, 3, seed):
        area = reachable(g, (x, y), 4, SpeedRange(0.8, 1.5))
        limit = area.limit_ff_s()
        assert limit == pytest.approx(4 * 60 * 1.5)
        ref = reference_times(net, x, y, limit, ignore_oneway=ignore_oneway)
        ours = {i: t for i, t in enumerate(area.node_t_ff_s.tolist()) if t <= limit}
        assert len(ref) > 20
        assert set(ours) == set(ref)
        for node, t in ref.items():
            assert ours[node] == pytest.approx(t, rel=1e-6, abs=1e-9)
            assert area.node_earliest_s[node] == pytest.approx(t / 1.5, rel=1e-6, abs=1e-9)
        assert bool(area.reachable_nodes().all()) is False or len(ref) == net.node_count


def test_one_way_streets_matter() -> None:
    """The reference networks really have one-way streets that change travel times."""
    net = net_for(25, 2)
    directed = RoutingGraph.from_network(net)
    free = RoutingGraph.from_network(net, ignore_oneway=True)
    assert free.edge_count > directed.edge_count
    assert free.edge_against_oneway.sum() == free.edge_count - directed.edge_count
    x, y = incident_points(net, 1, 5)[0]
    a, b = reachable(directed, (x, y), 5), reachable(free, (x, y), 5)
    both = np.isfinite(a.node_t_ff_s) & np.isfinite(b.node_t_ff_s)
    assert np.all(b.node_t_ff_s[both] <= a.node_t_ff_s[both] + 1e-9)
    assert np.any(b.node_t_ff_s[both] < a.node_t_ff_s[both] - 1.0)


def _one_way_street(oneway: str) -> RoadNetwork:
    """A -> B -> C, 100 m blocks at 36 km/h (10 m/s), along the x axis."""
    pts = [(0.0, 0.0), (100.0, 0.0), (200.0, 0.0)]
    feats = [
        {
            "type": "Feature",
            "properties": {"highway": "residential", "oneway": oneway, "maxspeed": "36"},
            "geometry": {
                "type": "LineString",
                "coordinates": [list(PROJ.to_lonlat(*p)) for p in pts[i : i + 2]],
            },
        }
        for i in range(2)
    ]
    return build_network(feats, PROJ)


def test_partial_costs_from_the_snapped_point() -> None:
    net = _one_way_street("yes")
    a_, b_, c_ = (int(np.argmin(np.hypot(*(net.nodes_xy - (x, 0.0)).T))) for x in (0, 100, 200))
    g = RoutingGraph.from_network(net)
    start = g.snap(30.0, 8.0)
    assert start.snap_distance_m == pytest.approx(8.0, abs=1e-6)
    assert (start.snap_x, start.snap_y) == pytest.approx((30.0, 0.0), abs=1e-6)
    assert start.nodes == (b_,)  # one-way: only forwards
    t = reachable(g, start, 1).node_t_ff_s
    assert t[b_] == pytest.approx(7.0, rel=1e-6)
    assert t[c_] == pytest.approx(17.0, rel=1e-6)
    assert math.isinf(t[a_])
    t2 = reachable(RoutingGraph.from_network(net, ignore_oneway=True), start, 1).node_t_ff_s
    assert t2[a_] == pytest.approx(3.0, rel=1e-6)
    assert t2[c_] == pytest.approx(17.0, rel=1e-6)


# --------------------------------------------------------------------------- routes


_ANALYSES: dict[tuple[int, int, bool, int], tuple[RoutingGraph, list[Camera], EscapeAnalysis]] = {}


def analysed(
    side: int, seed: int, ignore_oneway: bool, per_run: int = 4
) -> tuple[RoutingGraph, list[Camera], EscapeAnalysis]:
    key = (side, seed, ignore_oneway, per_run)
    if key not in _ANALYSES:
        net = net_for(side, seed)
        g = RoutingGraph.from_network(net, ignore_oneway=ignore_oneway)
        cams = random_cameras(net, 150, seed)
        x, y = incident_points(net, 1, seed + 100)[0]
        res = analyze(g, CameraFovIndex(cams), x, y, at=AT, minutes=4, per_run=per_run)
        _ANALYSES[key] = (g, cams, res)
    return _ANALYSES[key]


#: (side, seed, ignore_oneway, per_run); per_run=1: one Dijkstra per route
ROUTE_CASES = [(44, 3, False, 4), (44, 3, True, 4), (30, 4, False, 4), (30, 4, False, 1)]
ROUTE_ARGS = ("side", "seed", "ignore_oneway", "per_run")


@pytest.mark.parametrize(ROUTE_ARGS, ROUTE_CASES)
def test_routes_are_connected_paths_of_the_graph(
    side: int, seed: int, ignore_oneway: bool, per_run: int
) -> None:
    g, _, res = analysed(side, seed, ignore_oneway, per_run)
    net = g.net
    allowed = set(zip(net.edge_segment.tolist(), net.edge_forward.tolist(), strict=True))
    assert 6 <= len(res.routes) <= 8
    for r in res.routes:
        assert len(r.nodes) == len(r.edges) >= 1
        assert r.edges[0] in res.start.edges
        assert len(set(r.nodes)) == len(r.nodes)  # a simple path
        for i, e in enumerate(r.edges):
            assert int(g.edge_to[e]) == r.nodes[i]
            if i:
                assert int(g.edge_from[e]) == r.nodes[i - 1]
            seg, fwd = int(g.edge_segment[e]), bool(g.edge_forward[e])
            coords = net.segments[seg].coords if fwd else net.segments[seg].coords[::-1]
            assert np.allclose(coords[0], net.nodes_xy[g.edge_from[e]])
            assert np.allclose(coords[-1], net.nodes_xy[g.edge_to[e]])
            if not ignore_oneway:
                assert (seg, fwd) in allowed
        assert r.destination == r.nodes[-1]
        assert np.allclose(r.coords[0], (res.start.snap_x, res.start.snap_y))
        assert np.allclose(r.coords[-1], net.nodes_xy[r.destination])
        if r.destination_kind == "exit":
            assert g.exit_mask[r.destination]
        else:
            assert res.area.node_earliest_s[r.destination] <= res.minutes * 60 + 1e-6


@pytest.mark.parametrize(ROUTE_ARGS, ROUTE_CASES)
def test_route_times_are_consistent_with_edge_times(
    side: int, seed: int, ignore_oneway: bool, per_run: int
) -> None:
    g, _, res = analysed(side, seed, ignore_oneway, per_run)
    st = res.start
    for r in res.routes:
        k = st.edges.index(r.edges[0])
        t = st.partial_s[k] + float(g.edge_time_s[list(r.edges[1:])].sum())
        length = st.partial_m[k] + float(g.edge_length_m[list(r.edges[1:])].sum())
        assert r.t_ff_s == pytest.approx(t, rel=1e-6)
        assert r.length_m == pytest.approx(length, rel=1e-6)
        assert r.earliest_s == pytest.approx(t / 1.5, rel=1e-9)
        assert r.latest_s == pytest.approx(t / 0.8, rel=1e-9)
        # never faster than the shortest path to the destination
        assert r.t_ff_s >= res.area.node_t_ff_s[r.destination] * (1 - 1e-9)
        assert np.all(np.diff(r.cum_m) >= 0)
        assert np.all(np.diff(r.cum_t_ff_s) >= 0)


@pytest.mark.parametrize(ROUTE_ARGS, ROUTE_CASES)
def test_routes_are_distinct(side: int, seed: int, ignore_oneway: bool, per_run: int) -> None:
    g, _, res = analysed(side, seed, ignore_oneway, per_run)
    segs = [route_segment_lengths(g, r) for r in res.routes]
    for i in range(len(segs)):
        for j in range(i + 1, len(segs)):
            assert path_overlap(segs[i], segs[j]) <= MAX_OVERLAP
    bearings = sorted(r.bearing_deg for r in res.routes)
    # spread around the compass, not all in one direction
    assert max(bearings) - min(bearings) > 180
    assert sorted(r.colour_index for r in res.routes) == list(range(len(res.routes)))


@pytest.mark.parametrize(ROUTE_ARGS, ROUTE_CASES)
def test_camera_windows_along_routes(
    side: int, seed: int, ignore_oneway: bool, per_run: int
) -> None:
    _, cams, res = analysed(side, seed, ignore_oneway, per_run)
    on_routes: dict[str, int] = {}
    for r in res.routes:
        line = LineString(r.coords)
        expected = {c.id for c in cams if c.fov_polygon.intersects(line)}
        assert {p.camera.id for p in r.cameras} == expected
        prev = -1.0
        for p in r.cameras:
            on_routes[p.camera.id] = on_routes.get(p.camera.id, 0) + 1
            assert 0 <= p.enter_m <= p.leave_m <= r.length_m + 1e-6
            assert p.earliest_s <= p.latest_s
            assert p.earliest_s == pytest.approx(p.t_ff_s / 1.5)
            assert p.latest_s == pytest.approx(p.t_ff_s / 0.8)
            assert p.t_ff_s == pytest.approx(r.t_ff_at(p.enter_m))
            assert p.earliest_s >= prev  # monotone along the route
            prev = p.earliest_s
            assert p.latest_s <= r.latest_s + 1e-6
            assert p.earliest_at == AT + timedelta(seconds=p.earliest_s)
            inter = p.camera.fov_polygon.intersection(line)
            first = min(line.project(pt) for pt in _points(inter))
            assert p.enter_m == pytest.approx(first, abs=0.5)
        for gap in r.coverage_gaps:
            assert gap.length_m >= 50
            assert 0 <= gap.start_m < gap.end_m <= r.length_m + 1e-6
            assert gap.earliest_s == pytest.approx(r.t_ff_at(gap.start_m) / 1.5)
            assert gap.latest_s == pytest.approx(r.t_ff_at(gap.end_m) / 0.8)
            mid = line.interpolate((gap.start_m + gap.end_m) / 2)
            assert not any(p.camera.fov_polygon.contains(mid) for p in r.cameras)
    for r in res.routes:
        for p in r.cameras:
            assert p.choke_point == (on_routes[p.camera.id] > 1)
    assert {c.camera.id for c in res.choke_points} == {k for k, v in on_routes.items() if v > 1}


def _points(geom: Any) -> list[Any]:
    from shapely.geometry import Point

    return [Point(c) for part in getattr(geom, "geoms", [geom]) for c in part.coords]


def test_analysis_is_deterministic_and_json_able() -> None:
    g, cams, res = analysed(30, 4, False)
    again = analyze(g, cams, res.start.x, res.start.y, at=AT, minutes=4)
    assert again.as_dict() == res.as_dict()
    doc = json.loads(json.dumps(res.as_dict()))
    assert doc["schema"] == "rtcc-wall/escape-analysis/1"
    assert len(doc["routes"]) == len(res.routes)


def test_reachable_area_filters_by_minutes_without_searching_again() -> None:
    net = net_for(44, 3)
    g = RoutingGraph.from_network(net)
    p = incident_points(net, 1, 9)[0]
    area = reachable(g, p, 20)
    m2, m4 = area.reachable_nodes(2), area.reachable_nodes(4)
    assert m2.sum() < m4.sum()
    assert not np.any(m2 & ~m4)
    assert np.array_equal(m4, reachable(g, p, 4).reachable_nodes())
    edges, t0, t1 = area.edges_within(3)
    assert np.all(t0 <= 180 + 1e-9)
    assert np.all(t1 >= t0)
    start = set(area.start.edges)
    for e, a, b in zip(edges.tolist(), t0.tolist(), t1.tolist(), strict=True):
        if e not in start:
            assert a == pytest.approx(area.node_earliest_s[g.edge_from[e]])
            assert b == pytest.approx(a + g.edge_time_s[e] / 1.5)
    assert np.isnan(area.edge_t0).sum() > 0
    reached = ~np.isnan(area.edge_t0)
    assert np.all(area.edge_t1[reached] >= area.edge_t0[reached])
    assert set(np.flatnonzero(reached).tolist()) == set(area.edges_within()[0].tolist())


# --------------------------------------------------------------------------- the demo city


def test_demo_incident_at_city_01(demo_loaded: Any) -> None:
    g = RoutingGraph.from_network(demo_loaded.network)
    fov = CameraFovIndex(demo_loaded.cameras.values())
    cam = demo_loaded.cameras["city-01"]
    res = analyze(g, fov, cam.x, cam.y, at=AT)
    assert 6 <= len(res.routes) <= 8
    assert sum(1 for r in res.routes if r.cameras) >= 3
    assert res.choke_points
    assert any(p.choke_point for r in res.routes for p in r.cameras)
    segs = [route_segment_lengths(g, r) for r in res.routes]
    assert all(path_overlap(a, b) <= MAX_OVERLAP for i, a in enumerate(segs) for b in segs[i + 1 :])
    json.dumps(res.as_dict())


def test_incident_5_km_away_is_a_clear_error(demo_loaded: Any) -> None:
    g = RoutingGraph.from_network(demo_loaded.network)
    x0, y0, x1, y1 = g.bounds
    with pytest.raises(RoutingError, match=r"outside the road network.*nearest road is \d+ m away"):
        g.snap(x1 + 5000, (y0 + y1) / 2)
    with pytest.raises(RoutingError, match="nearest road"):
        analyze(g, [], x0 - 5000, y0, at=AT)


def test_point_far_from_any_road_inside_the_map() -> None:
    feats = [
        {
            "type": "Feature",
            "properties": {"highway": "primary"},
            "geometry": {
                "type": "LineString",
                "coordinates": [list(PROJ.to_lonlat(0, y)), list(PROJ.to_lonlat(1000, y))],
            },
        }
        for y in (0.0, 1000.0)
    ]
    g = RoutingGraph.from_network(build_network(feats, PROJ))
    with pytest.raises(RoutingError, match=r"No road within 150 m.*nearest road is 500 m away"):
        g.snap(500, 500)
    assert g.snap(500, 500, max_snap_m=600).snap_distance_m == pytest.approx(500, abs=0.01)
    with pytest.raises(RoutingError, match="not a valid position"):
        g.snap(float("nan"), 0)


def test_empty_network_is_a_clear_error() -> None:
    empty = RoadNetwork(
        projection=PROJ,
        nodes_xy=np.zeros((0, 2)),
        segments=[],
        edge_from=np.zeros(0, np.int64),
        edge_to=np.zeros(0, np.int64),
        edge_segment=np.zeros(0, np.int64),
        edge_forward=np.zeros(0, np.bool_),
        edge_length_m=np.zeros(0),
        edge_speed_mps=np.zeros(0),
    )
    with pytest.raises(RoutingError, match="no roads"):
        RoutingGraph.from_network(empty)


def test_speed_range() -> None:
    s = SpeedRange()
    assert (s.slow, s.fast) == (0.8, 1.5)
    assert s.earliest(150) == 100
    assert s.latest(80) == 100
    with pytest.raises(ValueError, match="slow"):
        SpeedRange(1.5, 0.8)


def test_exits_are_at_the_map_edge() -> None:
    g = RoutingGraph.from_network(net_for(44, 3))
    x0, y0, x1, y1 = g.bounds
    xy = g.net.nodes_xy[g.exit_mask]
    assert len(xy) > 0
    margin = np.minimum.reduce([xy[:, 0] - x0, x1 - xy[:, 0], xy[:, 1] - y0, y1 - xy[:, 1]])
    assert np.all(margin <= 150)
