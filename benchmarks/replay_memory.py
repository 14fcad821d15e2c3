"""Replay buffers of 16 cameras over 10 minutes: MB per camera-minute, and the total stays flat.

What is measured
    16 cameras play from the project's test RTSP server (gst-rtsp-server,
    ``tests/servers/rtsp_server.py``; one RTSP session per camera, the clip
    served looped without re-encoding) through a real ``StreamManager``: one
    ``CameraWorker`` and PyAV source per camera, decoding for a 480x270 tile
    (a 4x4 wall on a 1920x1080 screen), each filling its ``ReplayRing`` of
    ``--replay-seconds`` (default 60, the app's default) with the stream's
    compressed packets. No window: the rings are what is measured.

    The clip stands in for a real camera's 640x360 stream: H.264 at 512 kb/s
    (a common setting for a 360p camera stream), 15 fps, a key frame every
    2 s, no B-frames (``tests/video/test_replay.py: make_camera_clip``). Its
    real bitrate, from the file, is printed.

    Every 10 s it samples the total bytes in all rings
    (``StreamManager.replay_total_bytes()``), the seconds each ring holds,
    this process's resident memory (VmRSS) and CPU time. It prints:

    * MB per camera-minute  -- ring bytes / (seconds held / 60), per camera;
      the issue's bound is 5 MB (MB = 2**20 bytes here);
    * the total over time    -- one line per sample;
    * flatness               -- mean total of the last minute / mean total of
      the first full minute after every ring is full (1.00 = flat).

How to run (from the repository root)::

    python benchmarks/replay_memory.py                  # 10 minutes
    python benchmarks/replay_memory.py --minutes 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _common import cameras_for

from tests.servers.rtsp import RtspServer, gst_rtsp_available
from tests.video.test_replay import CAMERA_KBPS, MAX_MB_PER_CAMERA_MINUTE, make_camera_clip

MB = 2**20
SAMPLE_S = 10.0
TILE = (480, 270)


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the cameras were started
    total_bytes: int
    held_s: list[float]  # per camera
    rss_bytes: int
    cpu_s: float

    @property
    def mb_per_camera_minute(self) -> float:
        held = sum(self.held_s)
        return self.total_bytes / MB / (held / 60.0) if held > 0 else float("nan")


def rss_bytes() -> int:
    """This process's resident set size (Linux /proc), 0 when unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run(cameras: int, minutes: float, replay_seconds: float, clip: Path) -> list[Sample]:
    from rtcc_wall.video.manager import StreamManager

    server = RtspServer({"/cam": clip}).start()
    cams = cameras_for([server.url("/cam")] * cameras)
    manager = StreamManager(cams, network_provider=None, replay_seconds=replay_seconds)
    samples: list[Sample] = []
    stop = threading.Event()
    try:
        t0 = time.monotonic()
        for cid in cams:
            manager.acquire(cid, "bench")
            manager.set_target_size(cid, "bench", *TILE)
        end = t0 + minutes * 60.0
        next_t = t0 + SAMPLE_S
        print(
            f"{'t (s)':>6} {'total MB':>9} {'MB/cam-min':>10} {'held s (min-max)':>17} "
            f"{'RSS MB':>7} {'CPU %':>6} {'live':>5}",
            flush=True,
        )
        last_cpu, last_t = time.process_time(), time.monotonic()
        while not stop.wait(max(0.0, next_t - time.monotonic())):
            now = time.monotonic()
            rings = [manager.replay(cid) for cid in cams]
            held = [r.seconds_held if r is not None else 0.0 for r in rings]
            cpu = time.process_time()
            s = Sample(now - t0, manager.replay_total_bytes(), held, rss_bytes(), cpu)
            samples.append(s)
            live = sum(
                1
                for cid in cams
                if (w := manager.worker(cid)) is not None and w.state.value == "live"
            )
            print(
                f"{s.t:>6.0f} {s.total_bytes / MB:>9.2f} {s.mb_per_camera_minute:>10.2f} "
                f"{min(held):>8.1f}-{max(held):<8.1f} {s.rss_bytes / MB:>7.0f} "
                f"{100 * (cpu - last_cpu) / (now - last_t):>5.0f}% {live:>2}/{cameras}",
                flush=True,
            )
            last_cpu, last_t = cpu, now
            next_t += SAMPLE_S
            if next_t > end + 1e-6:
                break
    finally:
        manager.shutdown()
        server.stop()
    return samples


def report(samples: list[Sample], cameras: int, replay_seconds: float, clip_kbps: float) -> None:
    print()
    print(f"{cameras} cameras, replay {replay_seconds:g} s each, clip {clip_kbps:.0f} kb/s")
    full = [s for s in samples if min(s.held_s) >= replay_seconds]
    if not full:
        print("the rings never filled: run longer than --replay-seconds")
        return
    per = [s.mb_per_camera_minute for s in full]
    print(
        f"MB per camera-minute (rings full): mean {statistics.mean(per):.2f}, "
        f"max {max(per):.2f}  (bound {MAX_MB_PER_CAMERA_MINUTE:g} MB: "
        f"{'met' if max(per) <= MAX_MB_PER_CAMERA_MINUTE else 'MISSED'})"
    )
    totals = [s.total_bytes / MB for s in full]
    print(
        f"total in all rings (rings full): mean {statistics.mean(totals):.1f} MB, "
        f"min {min(totals):.1f}, max {max(totals):.1f}"
    )
    first_t = full[0].t
    first = [s.total_bytes for s in full if s.t < first_t + 60.0]
    last_t = samples[-1].t
    last = [s.total_bytes for s in full if s.t > last_t - 60.0]
    ratio = statistics.mean(last) / statistics.mean(first)
    print(
        f"flatness: last minute {statistics.mean(last) / MB:.2f} MB / first full minute "
        f"{statistics.mean(first) / MB:.2f} MB = {ratio:.3f}"
        + ("  (the two minutes overlap: run longer)" if last_t - 60.0 < first_t + 60.0 else "")
    )
    rss = [s.rss_bytes / MB for s in full]
    print(f"process RSS (rings full): {rss[0]:.0f} MB -> {rss[-1]:.0f} MB")
    span = samples[-1].t - samples[0].t
    if span > 0:
        cpu = 100 * (samples[-1].cpu_s - samples[0].cpu_s) / span
        print(f"process CPU: {cpu:.0f} % of one core (decoding {cameras} cameras included)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--cameras", type=int, default=16)
    ap.add_argument("--replay-seconds", type=float, default=60.0)
    args = ap.parse_args(argv)
    if args.minutes <= 0 or args.cameras <= 0 or args.replay_seconds <= 0:
        print("--minutes, --cameras and --replay-seconds must be positive", file=sys.stderr)
        return 2
    ok, why = gst_rtsp_available()
    if not ok:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rtcc-replay-") as tmp:
        clip = make_camera_clip(Path(tmp) / "camera.mp4", seconds=60)
        kbps = clip.stat().st_size * 8 / 60 / 1000
        print(
            f"camera clip: 640x360 @ 15 fps, H.264 at {CAMERA_KBPS} kb/s asked, "
            f"{kbps:.0f} kb/s in the file",
            flush=True,
        )
        samples = run(args.cameras, args.minutes, args.replay_seconds, clip)
    report(samples, args.cameras, args.replay_seconds, kbps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
