"""The getaway scenario checks the escape-route prediction against what cameras showed.

A suspect car (magenta) leaves the incident along one predicted route through
the simulated town with its background traffic. Every camera near the car is
rendered every half second; a camera "showed" the suspect when its picture
holds enough magenta pixels. Each camera that showed it must be on a
predicted route, with a predicted window containing the times it was seen.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import numpy.typing as npt

from rtcc_wall.video.scenario import SUSPECT_BGR, start_getaway
from rtcc_wall.video.sim import SimCamera, SimWorld

STEP_S = 0.5
MIN_PIXELS = 25
#: Rendering is sampled every STEP_S: allow one step either side of a window.
TOLERANCE_S = STEP_S + 0.5


def suspect_pixels(frame: npt.NDArray[np.uint8]) -> int:
    b, g, r = (frame[:, :, i].astype(np.int16) for i in range(3))
    want_b, want_g, want_r = SUSPECT_BGR
    return int(np.count_nonzero((np.abs(b - want_b) < 70) & (np.abs(r - want_r) < 70) & (g < 90)))


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_cameras_that_saw_the_suspect_are_predicted(demo_loaded) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    world = SimWorld(demo_loaded.network, vehicles=1200, clock=clock)
    cams = list(demo_loaded.cameras.values())
    now = dt.datetime(2026, 11, 27, 14, 0, 0, tzinfo=dt.UTC)
    g = start_getaway(world, cams, now=now)
    route = g.route
    assert len(route.cameras) >= 3, "the scenario should cross several cameras"
    renderers = {c.id: SimCamera(world, c, 320, 180) for c in cams}
    seen: dict[str, list[float]] = {}
    end = g.world_t + route.latest_s + 30
    t = g.world_t
    while t <= end:
        snap = world.snapshot(t)
        hit = np.flatnonzero(snap.ids == g.vehicle_id)
        if len(hit) == 0:
            if t > g.world_t + 5:
                break  # the suspect reached the end of its route and left the map
            t += STEP_S
            continue
        vx, vy = float(snap.x[hit[0]]), float(snap.y[hit[0]])
        for c in cams:
            if math.hypot(c.x - vx, c.y - vy) > c.range_m * 1.4 + 20:
                continue
            frame = renderers[c.id].render(t, now)
            if suspect_pixels(frame) >= MIN_PIXELS:
                seen.setdefault(c.id, []).append(t - g.world_t)
        t += STEP_S
    assert len(seen) >= 3, f"the suspect was seen by too few cameras: {seen}"

    passes = {p.camera.id: p for r in g.analysis.routes for p in r.cameras}
    on_route = {p.camera.id: p for p in route.cameras}
    for cid, times in seen.items():
        assert cid in passes, f"{cid} showed the suspect at {times} but is on no predicted route"
        p = on_route.get(cid, passes[cid])
        lo, hi = p.earliest_s - TOLERANCE_S, p.leave_latest_s + TOLERANCE_S
        inside = [s for s in times if lo <= s <= hi]
        assert inside, f"{cid} saw the suspect at {times}, predicted window {lo:.1f}-{hi:.1f} s"
    # the cameras of the followed route that lie on its path showed it, in order
    first_seen = {cid: min(ts) for cid, ts in seen.items() if cid in on_route}
    order = sorted(first_seen, key=lambda cid: first_seen[cid])
    predicted = [p.camera.id for p in route.cameras if p.camera.id in first_seen]
    assert order == predicted
