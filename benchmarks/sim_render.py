"""Cost of the simulated town: world steps and SimCamera.render() for every demo camera.

Prints numbers only (no pass/fail). Render times are also given as a ratio to
the cost, measured in the same run, of allocating a blank 640x360 frame and
filling it with cv2.rectangle, so results are comparable across machines.

    python benchmarks/sim_render.py [--config config.example.yaml] [--frames 60]
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rtcc_wall.core.cameras import Camera, make_camera  # noqa: E402
from rtcc_wall.core.geo import LocalProjection  # noqa: E402
from rtcc_wall.core.roads import load_geojson  # noqa: E402
from rtcc_wall.video.manager import SIM_VEHICLES  # noqa: E402
from rtcc_wall.video.sim import SimCamera, SimWorld  # noqa: E402

P = LocalProjection(-90.1848, 32.2988)


def load_cameras(path: Path) -> list[Camera]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cams = []
    for c in doc.get("cameras") or []:
        if str(c.get("stream", "")).startswith("sim://"):
            cams.append(
                make_camera(
                    id=c["id"],
                    name=c["name"],
                    ownership=c["ownership"],
                    lon=c["location"]["lon"],
                    lat=c["location"]["lat"],
                    heading_deg=c["heading_deg"],
                    fov_deg=c["fov_deg"],
                    range_m=c["range_m"],
                    stream=c["stream"],
                    projection=P,
                )
            )
    return cams


def blank_frame_ms(n: int = 2000) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        f = np.empty((360, 640, 3), dtype=np.uint8)
        cv2.rectangle(f, (0, 0), (639, 359), (90, 90, 90), -1)
    return (time.perf_counter() - t0) / n * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", type=Path, default=ROOT / "config.example.yaml")
    ap.add_argument("--roads", type=Path, default=ROOT / "resources/demo/roads.geojson")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--vehicles", type=int, default=SIM_VEHICLES, help="default: the demo's")
    args = ap.parse_args()

    net = load_geojson(args.roads, P)
    cams = load_cameras(args.config)
    print(f"network: {net.edge_count} directed edges; {len(cams)} sim cameras")

    t0 = time.perf_counter()
    world = SimWorld(net, vehicles=args.vehicles, clock=lambda: 0.0)
    print(f"world init: {(time.perf_counter() - t0) * 1e3:.1f} ms")
    c0 = time.process_time()
    world.snapshot(300.0)
    step_ms = (time.process_time() - c0) * 1e3 / 300.0
    print(f"world advance: {step_ms:.2f} ms CPU per simulated second ({args.vehicles} vehicles)")
    t0 = time.perf_counter()
    for k in range(200):
        world.snapshot(300.0 + k * 0.01)
    print(f"snapshot: {(time.perf_counter() - t0) / 200 * 1e3:.3f} ms")

    t0 = time.perf_counter()
    sims = [SimCamera(world, c) for c in cams]
    print(f"camera init: {(time.perf_counter() - t0) / max(len(sims), 1) * 1e3:.1f} ms per camera")

    base = blank_frame_ms()
    print(f"blank 640x360 frame + cv2.rectangle: {base:.3f} ms")
    wall = datetime.datetime(2026, 3, 14, 15, 9, 26)
    all_ms: list[float] = []
    print(f"{'camera':<14} {'ms/frame':>9} {'ratio':>7} {'vehicles':>9}")
    for sc in sims:
        cam = sc.camera
        times = []
        seen = 0
        for k in range(args.frames):
            t = 300.0 + k / 12.0
            snap = world.snapshot(t)  # advance outside the timed region
            d = np.hypot(snap.x - cam.x, snap.y - cam.y)
            seen += int(np.count_nonzero(d < cam.range_m))
            t1 = time.perf_counter()
            sc.render(t, wall)
            times.append((time.perf_counter() - t1) * 1e3)
        ms = float(np.median(times))
        all_ms.extend(times)
        print(f"{cam.id:<14} {ms:9.3f} {ms / base:7.1f} {seen / args.frames:9.1f}")
    if all_ms:
        med = float(np.median(all_ms))
        p95 = float(np.percentile(all_ms, 95))
        print(f"all cameras: median {med:.3f} ms ({med / base:.1f}x blank), p95 {p95:.3f} ms")


if __name__ == "__main__":
    main()
