"""What PyAV's read timeout and log callback cost 64 camera threads, and the GUI thread.

What is measured
    N cameras (default 64) read one RTSP mount of the test gst-rtsp-server
    (640x360@15 H.264, one RTSP session each) through the app's own
    ``CameraWorker`` + ``PyAVSource``, shrinking every frame to a 238x133
    tile as the 8x8 wall does. No Qt: a stand-in "GUI" thread wakes every
    1/60 s, takes every camera's newest frame (as the wall's tick does), runs
    ``--gui-ms`` of Python (as painting the wall does) and records how late
    it woke -- mostly the time it waited for the GIL.

    Two modes run back to back in the same process, on the same server:

    * ``pyav``  -- PyAV keeps the read timeout (its interrupt callback takes
      the GIL on every ffmpeg poll) and its log callback is installed (it
      takes the GIL for every ffmpeg message): how the app read cameras
      before ``video/avio.py``;
    * ``avio``  -- the app now: read deadlines kept from outside, ffmpeg's
      log lines dropped in C while frames flow.

    For each: frames per second, CPU ms per frame (this process, all
    threads), the kernel's share of that CPU, context switches per frame
    (every GIL hand-off to a waiting thread is one), and the GUI thread's
    wake-up lateness (median, p99). The last lines print avio / pyav ratios.

How to run (from the repository root)::

    python benchmarks/gil_handoffs.py                  # 64 cameras, 20 s per mode
    python benchmarks/gil_handoffs.py --cameras 32 --seconds 30
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import av
import av.logging
from _common import median, percentile

from rtcc_wall.core.streams import parse_stream_url
from rtcc_wall.video.sources import PyAVSource
from rtcc_wall.video.worker import CameraWorker
from tests.servers.fixtures import make_clips
from tests.servers.rtsp import RtspServer, gst_rtsp_available

TILE = (238, 133)


@dataclass(frozen=True)
class Result:
    mode: str
    fps: float
    cpu_ms_per_frame: float
    sys_share: float
    switches_per_frame: float
    late_median_ms: float
    late_p99_ms: float


def _context_switches() -> int:
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            continue  # a thread that ended meanwhile
    return total


def run_mode(
    mode: str, url: str, cameras: int, seconds: float, warmup_s: float, gui_s: float
) -> Result:
    spec = parse_stream_url(url)
    legacy = mode == "pyav"

    def factory() -> PyAVSource:
        # an explicit opener makes PyAVSource keep PyAV's own read timeout
        return PyAVSource(spec, transport="tcp", opener=av.open if legacy else None)

    workers = [CameraWorker(f"cam{i:02d}", factory) for i in range(cameras)]
    for w in workers:
        w.set_target_size(*TILE)
        w.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(w.latest.get() for w in workers):
        time.sleep(0.1)
    if legacy:
        av.logging.set_level(av.logging.ERROR)  # as the app did: installed for good
    time.sleep(warmup_s)

    late: list[float] = []
    stop = threading.Event()

    def gui() -> None:
        period = 1 / 60
        due = time.monotonic() + period
        while not stop.is_set():
            time.sleep(max(0.0, due - time.monotonic()))
            late.append(time.monotonic() - due)
            for w in workers:
                w.latest.get()
            busy_until = time.perf_counter() + gui_s
            while time.perf_counter() < busy_until:
                pass  # Python work under the GIL, as painting a wall of tiles is
            due += period
            if time.monotonic() > due:
                due = time.monotonic() + period  # fell behind: no catching up

    t = threading.Thread(target=gui, name="gui-stand-in")
    frames0 = sum(w.frames for w in workers)
    cpu0, sw0, t0 = os.times(), _context_switches(), time.monotonic()
    t.start()
    time.sleep(seconds)
    stop.set()
    t.join()
    cpu1, sw1, t1 = os.times(), _context_switches(), time.monotonic()
    frames = sum(w.frames for w in workers) - frames0
    for w in workers:
        w.request_stop()
    for w in workers:
        w.stop(timeout_s=3.0)
    if legacy:
        av.logging.set_level(None)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return Result(
        mode=mode,
        fps=frames / (t1 - t0),
        cpu_ms_per_frame=cpu / max(frames, 1) * 1e3,
        sys_share=(cpu1.system - cpu0.system) / cpu if cpu else float("nan"),
        switches_per_frame=(sw1 - sw0) / max(frames, 1),
        late_median_ms=median(late) * 1e3,
        late_p99_ms=percentile(late, 99) * 1e3,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=20.0, help="measuring time per mode")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument(
        "--gui-ms", type=float, default=3.0, help="Python work per GUI tick (paint stand-in)"
    )
    args = ap.parse_args()
    if not gst_rtsp_available():
        print("needs gst-rtsp-server (python3-gi, gir1.2-gst-rtsp-server-1.0): see README")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        clips = make_clips(Path(tmp))
        server = RtspServer({"/cam": clips.clip_360p}).start()
        try:
            url = server.url("/cam")
            results = [
                run_mode(m, url, args.cameras, args.seconds, args.warmup, args.gui_ms / 1e3)
                for m in ("pyav", "avio")
            ]
        finally:
            server.stop()
    print(
        f"{args.cameras} cameras x 640x360@15 RTSP/TCP, {args.seconds:g} s per mode "
        f"({os.cpu_count()} cores; offered {args.cameras * 15} frames/s)"
    )
    print(
        f"{'mode':<5} {'frames/s':>8} {'CPU ms/fr':>9} {'kernel':>6} {'switches/fr':>11} "
        f"{'GUI late median':>15} {'p99':>8}"
    )
    for r in results:
        print(
            f"{r.mode:<5} {r.fps:>8.1f} {r.cpu_ms_per_frame:>9.3f} {r.sys_share:>6.0%} "
            f"{r.switches_per_frame:>11.1f} {r.late_median_ms:>12.2f} ms {r.late_p99_ms:>5.1f} ms"
        )
    old, new = results
    print(
        f"avio / pyav: CPU per frame {new.cpu_ms_per_frame / old.cpu_ms_per_frame:.2f}, "
        f"switches per frame {new.switches_per_frame / old.switches_per_frame:.2f}, "
        f"GUI lateness p99 {new.late_p99_ms / old.late_p99_ms:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
