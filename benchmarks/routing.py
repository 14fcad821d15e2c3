"""Escape-route analysis and nearby-camera search on generated road-like networks.

For each network size (default 100k and 1M nodes, ``roadgen.road_grid``,
fixed seed, generated at run time) with 10k cameras along the roads, prints

* the routing-graph build time (``RoutingGraph.from_network``);
* the time of a full analysis (``analyze``: snap, reachable area for 10 min,
  7 distinct routes, camera windows and gaps), with its parts;

each also as a ratio against the baseline: a plain
``scipy.sparse.csgraph.dijkstra`` with the same cutoff from the same source,
in the same run. Then "nearby cameras among 1M cameras" (within 300 m, via
``rtcc_wall.core.spatial.CameraIndex`` over a shapely STRtree) as a ratio
against a brute-force numpy distance filter. Targets at 1M nodes (printed,
not asserted): full analysis <= 50 ms, nearby among 1M cameras <= 1 ms.

    python benchmarks/routing.py [--sizes 100000 1000000] [--nearby-cameras 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import csr_matrix  # type: ignore[import-untyped, unused-ignore]
from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped, unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.roadgen import cameras_along_roads, road_grid  # noqa: E402
from rtcc_wall.core.routing import (  # noqa: E402
    CameraFovIndex,
    EscapeAnalysis,
    ReachableArea,
    RoutingGraph,
    SpeedRange,
    StartPoint,
    analyze,
    find_escape_paths,
    reachable,
)
from rtcc_wall.core.spatial import CameraIndex  # noqa: E402

AT = datetime(2026, 11, 27, 2, 15, tzinfo=UTC)


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` in seconds."""
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def ms(s: float) -> str:
    return f"{s * 1e3:8.2f} ms"


def bench_network(size: int, cameras: int, incidents: int, repeats: int, minutes: float) -> None:
    print(f"\n=== road grid, about {size:,} nodes ===")
    t = time.perf_counter()
    net = road_grid(size)
    print(
        f"generated: {net.node_count:,} nodes, {len(net.segments):,} segments, "
        f"{net.edge_count:,} directed edges in {time.perf_counter() - t:.1f} s"
    )
    t = time.perf_counter()
    g = RoutingGraph.from_network(net)
    build = time.perf_counter() - t
    n = net.node_count
    plain = csr_matrix(
        (net.edge_length_m / net.edge_speed_mps, (net.edge_from, net.edge_to)), shape=(n, n)
    )
    t = time.perf_counter()
    fov = CameraFovIndex(cameras_along_roads(net, cameras))
    print(f"{cameras:,} cameras along roads, FOV index built in {time.perf_counter() - t:.2f} s")

    speed = SpeedRange(0.8, 1.5)
    limit = minutes * 60 * speed.fast
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = g.bounds
    rows = []
    for _ in range(incidents):
        x = float(rng.uniform(x0 + 0.3 * (x1 - x0), x1 - 0.3 * (x1 - x0)))
        y = float(rng.uniform(y0 + 0.3 * (y1 - y0), y1 - 0.3 * (y1 - y0)))
        start = g.snap(x, y)
        src = start.nodes[0]

        def base_run(src: int = src) -> object:
            return dijkstra(plain, indices=src, limit=limit)

        def full(x: float = x, y: float = y) -> EscapeAnalysis:
            return analyze(g, fov, x, y, at=AT, minutes=minutes, speed=speed, routes=7)

        def classic(x: float = x, y: float = y) -> EscapeAnalysis:
            return analyze(g, fov, x, y, at=AT, minutes=minutes, speed=speed, per_run=1)

        def area_run(start: StartPoint = start) -> ReachableArea:
            return reachable(g, start, minutes, speed, margin=0.1)

        base = timed(base_run, repeats)
        full()  # warm-up
        t_full = timed(full, repeats)
        t_classic = timed(classic, max(1, repeats // 2))
        t_reach = timed(area_run, repeats)
        area = area_run()

        def routes_run(area: ReachableArea = area) -> object:
            return find_escape_paths(g, area, minutes=minutes)

        t_routes = timed(routes_run, repeats)
        routes = full().routes
        reached = int(area.reachable_nodes().sum())
        cams = sum(len(r.cameras) for r in routes)
        rows.append((base, t_full, t_reach, t_routes, reached, len(routes), cams, t_classic))
        print(
            f"  incident ({x:9.0f}, {y:9.0f}): baseline dijkstra {ms(base)} | analyze {ms(t_full)}"
            f" = {t_full / base:5.1f}x | reachable {ms(t_reach)}, routes {ms(t_routes)} | "
            f"{reached:,} nodes within {minutes:g} min, {len(routes)} routes, {cams} camera passes"
            f" | one Dijkstra per route (per_run=1): {ms(t_classic)} = {t_classic / base:5.1f}x"
        )
    base = statistics.median(r[0] for r in rows)
    full_t = statistics.median(r[1] for r in rows)
    classic_t = statistics.median(r[7] for r in rows)
    print(f"graph build:        {build:8.3f} s   = {build / base:9.0f}x baseline dijkstra")
    print(f"baseline dijkstra:  {ms(base)}   (scipy csgraph, cutoff {limit:.0f} s free-flow)")
    print(
        f"full analysis:      {ms(full_t)}   = {full_t / base:9.1f}x baseline dijkstra"
        f"   (target at 1M nodes: <= 50 ms)"
    )
    print(
        f"  per_run=1:        {ms(classic_t)}   = {classic_t / base:9.1f}x baseline dijkstra"
        "   (classic penalty method, a Dijkstra per route)"
    )


def bench_nearby(count: int, queries: int) -> None:
    print(f"\n=== nearby cameras among {count:,} cameras (300 m) ===")
    net = road_grid(count)
    t = time.perf_counter()
    cams = cameras_along_roads(net, count, seed=5)
    made = time.perf_counter() - t
    t = time.perf_counter()
    index = CameraIndex(cams)
    print(
        f"{count:,} cameras made in {made:.1f} s, "
        f"CameraIndex built in {time.perf_counter() - t:.2f} s"
    )
    xy = np.array([(c.x, c.y) for c in cams])
    tree = shapely.STRtree(shapely.points(xy))
    rng = np.random.default_rng(8)
    pts = xy[rng.integers(0, count, queries)] + rng.uniform(-100, 100, (queries, 2))

    def each(fn: Callable[[float, float], object]) -> float:
        out = []
        for px, py in pts.tolist():
            t = time.perf_counter()
            fn(px, py)
            out.append(time.perf_counter() - t)
        return statistics.median(out)

    def brute(px: float, py: float) -> object:
        return np.flatnonzero((xy[:, 0] - px) ** 2 + (xy[:, 1] - py) ** 2 <= 300.0**2)

    def raw(px: float, py: float) -> object:
        return tree.query(shapely.points(px, py), predicate="dwithin", distance=300.0)

    cold = each(lambda px, py: index.nearby(px, py, 300.0))  # first look: FOV polygons built
    warm = each(lambda px, py: index.nearby(px, py, 300.0))
    t_raw = each(raw)
    t_brute = each(brute)
    found = statistics.median(len(index.nearby(px, py, 300.0)) for px, py in pts.tolist())
    print(f"brute-force numpy filter:    {ms(t_brute)}   (median over {queries} points)")
    print(f"STRtree dwithin query:       {ms(t_raw)}   = {t_raw / t_brute:.4f}x brute force")
    print(
        f"CameraIndex.nearby (warm):   {ms(warm)}   = {warm / t_brute:.4f}x brute force"
        "   (target: <= 1 ms)"
    )
    print(f"CameraIndex.nearby (1st):    {ms(cold)}   = {cold / t_brute:.4f}x brute force")
    print(f"cameras found per query:     {found:.0f} (median)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--cameras", type=int, default=10_000)
    ap.add_argument("--nearby-cameras", type=int, default=1_000_000)
    ap.add_argument("--incidents", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    for size in args.sizes:
        bench_network(size, args.cameras, args.incidents, args.repeats, args.minutes)
    if args.nearby_cameras:
        bench_nearby(args.nearby_cameras, 200)


if __name__ == "__main__":
    main()
