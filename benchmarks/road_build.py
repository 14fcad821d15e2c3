"""Is building a road network linear in its size? Times per 100k segments at two sizes.

Generates a GeoJSON-like feature list of a street grid (every street crosses
every other one at a shared vertex, with one shape point between crossings),
builds the network from it at two sizes and prints the time per 100k segments
of each phase and the ratio of the total times. Linear building gives a time
ratio close to the size ratio (4 with the defaults) and equal times per 100k
segments; a quadratic step would show as a ratio near 16. Prints numbers only
(no pass/fail).

    python benchmarks/road_build.py [--sizes 100000 400000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rtcc_wall.core.geo import LocalProjection  # noqa: E402
from rtcc_wall.core.roads import build_network  # noqa: E402

P = LocalProjection(-90.0, 32.0)
STEP = 0.0005  # degrees between crossings, about 50 m


def grid_features(segments: int) -> list[dict[str, Any]]:
    """A grid of n east-west and n north-south streets with about ``segments`` segments.

    Each street is one LineString with a vertex at every crossing and a shape
    point between crossings, so it splits into n - 1 segments: 2 n (n - 1) in all.
    """
    n = max(2, round((1 + math.sqrt(1 + 2 * segments)) / 2))
    feats: list[dict[str, Any]] = []
    for i in range(n):
        along = [k * STEP / 2 for k in range(2 * n - 1)]
        bend = [STEP / 7 if k % 2 else 0.0 for k in range(2 * n - 1)]
        row = [[P.lon0 + a, P.lat0 + i * STEP + b] for a, b in zip(along, bend, strict=True)]
        col = [[P.lon0 + i * STEP + b, P.lat0 + a] for a, b in zip(along, bend, strict=True)]
        for j, coords in enumerate((row, col)):
            props = {
                "highway": "residential" if i % 5 else "primary",
                "name": f"{'EW' if j == 0 else 'NS'} street {i}",
            }
            if i % 3 == 0:
                props["oneway"] = "yes"
            feats.append(
                {
                    "type": "Feature",
                    "properties": props,
                    "geometry": {"type": "LineString", "coordinates": coords},
                }
            )
    return feats


def measure(segments: int, repeat: int) -> tuple[int, float]:
    feats = grid_features(segments)
    best = math.inf
    got = 0
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        net = build_network(feats, P)
        best = min(best, time.perf_counter() - t0)
        got = len(net.segments)
        del net
    return got, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs=2, default=[100_000, 400_000])
    ap.add_argument("--repeat", type=int, default=3, help="best of N builds per size")
    args = ap.parse_args()
    results = []
    for size in args.sizes:
        segs, secs = measure(size, args.repeat)
        per = secs / segs * 100_000
        results.append((segs, secs))
        print(f"{segs:>9,} segments: {secs:7.2f} s total, {per:6.3f} s per 100k segments")
    (s0, t0), (s1, t1) = results
    print(f"size ratio {s1 / s0:.2f}, time ratio {t1 / t0:.2f} (linear: the two are equal)")


if __name__ == "__main__":
    main()
