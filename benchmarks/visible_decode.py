"""Only what is visible is decoded: 64 cameras configured, a 2x2 view costs four streams.

What is measured
    The project's test RTSP server serves a 640x360@15 H.264 clip (one RTSP
    session per camera). A real ``WallWidget`` (offscreen Qt platform, so the
    tiles really paint) and a real ``StreamManager`` play:

    * **view**     -- 64 cameras configured and all 64 on the wall's camera
      list, 2x2 layout: 16 pages, of which the fifth is on show (the wall was
      paged there, so earlier pages' cameras were started and must have
      stopped);
    * **baseline** -- 4 cameras configured, the same 2x2 layout;
    * **all**      -- for scale: the 64 cameras on an 8x8 layout.

    For each, after every shown tile has a picture and a warm-up, it counts
    this process's CPU time (``time.process_time()``, all threads; the RTSP
    server is another process) over ``--seconds`` and the camera workers that
    run (``StreamManager.running_ids()``). It prints CPU per second and the
    ratios view / baseline (should be about 1.0: the 60 cameras off screen
    cost nothing) and all / baseline.

How to run (from the repository root)::

    python benchmarks/visible_decode.py                 # 20 s per case
    python benchmarks/visible_decode.py --seconds 10 --skip-all
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

from _common import cameras_for  # noqa: E402

from tests.servers.fixtures import make_clips  # noqa: E402
from tests.servers.rtsp import RtspServer, gst_rtsp_available  # noqa: E402


@dataclass
class Case:
    name: str
    configured: int
    layout: str
    page: int
    cpu_per_s: float = 0.0
    running: int = 0
    shown_per_s: float = 0.0


def run_case(case: Case, url: str, seconds: float, warmup_s: float) -> Case:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from rtcc_wall.ui.wall import WallWidget
    from rtcc_wall.video.manager import StreamManager

    app = QApplication.instance() or QApplication(sys.argv[:1])
    cams = cameras_for([url] * case.configured)
    manager = StreamManager(cams, network_provider=None)
    wall = WallWidget(manager, cams, layout=case.layout)
    wall.resize(1280, 720)
    wall.show()
    app.processEvents()

    def run_for(s: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(max(1, round(s * 1000)), loop.quit)
        loop.exec()

    def all_live(limit_s: float = 60.0) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit_s:
            if all(t.has_live_picture for t in wall.visible_tiles() if t.camera is not None):
                return
            run_for(0.1)
        raise RuntimeError(f"{case.name}: tiles not live after {limit_s:.0f} s")

    try:
        wall.set_cameras(list(cams))
        all_live()
        for _ in range(case.page):  # page through: every page's cameras start, then stop
            wall.next_page()
            all_live()
        run_for(warmup_s)
        tiles = wall.visible_tiles()
        shown0 = sum(t.frames_shown for t in tiles)
        c0, w0 = time.process_time(), time.monotonic()
        run_for(seconds)
        c1, w1 = time.process_time(), time.monotonic()
        case.cpu_per_s = (c1 - c0) / (w1 - w0)
        case.shown_per_s = (sum(t.frames_shown for t in tiles) - shown0) / (w1 - w0)
        case.running = len(manager.running_ids())
    finally:
        wall.shutdown()
        wall.close()
        manager.shutdown()
        app.processEvents()
    return case


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="measuring time per case")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds after the tiles are live")
    ap.add_argument("--skip-all", action="store_true", help="leave out the 64-on-8x8 case")
    args = ap.parse_args(argv)
    ok, why = gst_rtsp_available()
    if not ok:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    cases = [
        Case("baseline: 4 cameras configured, 2x2", 4, "2x2", 0),
        Case("view: 64 cameras configured and listed, 2x2, page 5 of 16", 64, "2x2", 4),
    ]
    if not args.skip_all:
        cases.append(Case("all: the 64 cameras on 8x8 (for scale)", 64, "8x8", 0))
    with tempfile.TemporaryDirectory(prefix="rtcc-bench-") as tmp:
        clips = make_clips(Path(tmp))
        server = RtspServer({"/cam": clips.clip_360p}).start()
        try:
            url = server.url("/cam")
            for c in cases:
                print(f"running {c.name} ...", flush=True)
                run_case(c, url, args.seconds, args.warmup)
        finally:
            server.stop()
    base = cases[0].cpu_per_s
    print()
    print(f"{'case':<58} {'workers':>7} {'shown/s':>8} {'CPU %':>6} {'vs baseline':>11}")
    for c in cases:
        print(
            f"{c.name:<58} {c.running:>7d} {c.shown_per_s:>8.1f} {100 * c.cpu_per_s:>5.1f}% "
            f"{c.cpu_per_s / base:>10.2f}x"
        )
    view = cases[1]
    print()
    print(
        f"64 configured, 2x2 shown: {view.running} camera workers run; CPU "
        f"{view.cpu_per_s / base:.2f}x that of 4 cameras configured (target: about 1, "
        f"{'met' if view.running == 4 and view.cpu_per_s / base < 1.3 else 'MISSED'})"
    )
    print("CPU % is of one core (this machine has", os.cpu_count(), "cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
