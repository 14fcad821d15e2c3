"""Shared helpers of the live-video benchmarks (``wall_throughput.py``, ``latency.py``).

* ``cameras_for`` -- ``Camera`` records pointing at one stream URL;
* ``ffmpeg_yardstick`` -- the yardstick: CPU seconds per frame of
  ``ffmpeg -threads 1 -i CLIP -f null -`` on this machine, in this run, with
  and without ffmpeg's start-up; ``ffmpeg_paced_yardstick`` the same at the
  clip's frame rate (``-re``); ``ffmpeg_stream_yardstick`` the same on an
  RTSP stream; ``ffmpeg_wall_cpu_per_frame`` N such decodes at once, paced;
* ``decode_cpu_per_frame`` -- a bare PyAV decode of a clip, flat out or at its
  frame rate (what one lone stream's decoding costs: ``paced_decode.py``);
* the send-time barcode of ``tests/servers/rtsp_server.py --stamp-mount``:
  ``draw_stamp`` (numpy, for the self-test) and ``read_stamp`` (any scale).

Not a test module and not part of the package: run the benchmarks as scripts
from the repository root (they put it on ``sys.path`` themselves).
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rtcc_wall.core.cameras import Camera  # noqa: E402

U8 = npt.NDArray[np.uint8]


def use_offscreen_qt() -> None:
    """Qt's offscreen platform (real widgets and painting, no display); before Qt is imported."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def cameras_for(urls: Sequence[str], prefix: str = "cam") -> dict[str, Camera]:
    """One city camera per URL, ids ``{prefix}00``, ``{prefix}01``, ..."""
    from tests.helpers import stream_cameras

    return stream_cameras(urls, prefix, name="Bench")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


# --------------------------------------------------------------------------- ffmpeg yardstick


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


@dataclass(frozen=True)
class Yardstick:
    """What ``ffmpeg -threads 1 ... -f null -`` pays per frame, measured here and now.

    ``whole_run_s`` is the run's CPU divided by its frames, ffmpeg's start-up
    (loading, probing, connecting: 50-60 ms here) included: for a 10 s 360p
    clip that start-up is more than half of it. ``decode_s`` subtracts the
    CPU of the same command stopped after one frame, leaving what each
    further frame costs: the fair yardstick, and the one targets are judged by.
    """

    whole_run_s: float
    decode_s: float
    startup_s: float
    frames: int


def _ffmpeg_cpu(cmd: list[str], timeout: float = 120.0) -> tuple[float, int]:
    """(CPU seconds, frames) of one ffmpeg run (children's rusage; frames from ``-progress``)."""
    before = _children_cpu()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=timeout)
    cpu = _children_cpu() - before
    counts = re.findall(r"^frame=(\d+)$", res.stdout, flags=re.MULTILINE)
    return cpu, int(counts[-1]) if counts else 0


def _ffmpeg_cmd(
    source: str, *, frames: int | None = None, rtsp: bool = False, paced: bool = False
) -> list[str]:
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-threads", "1"]
    if rtsp:
        cmd += ["-rtsp_transport", "tcp"]
    if paced:
        cmd += ["-re"]
    cmd += ["-i", source]
    if frames is not None:
        cmd += ["-frames:v", str(frames)]
    return [*cmd, "-f", "null", "-progress", "pipe:1", "-"]


def _yardstick(
    source: str, runs: int, frames: int | None, rtsp: bool, paced: bool = False
) -> Yardstick:
    """Alternates whole runs and one-frame runs ``runs`` times each (the machine is noisy)."""
    whole_cpu = one_cpu = 0.0
    whole_frames = 0
    for _ in range(runs):
        cpu, n = _ffmpeg_cpu(_ffmpeg_cmd(source, frames=frames, rtsp=rtsp, paced=paced))
        whole_cpu, whole_frames = whole_cpu + cpu, whole_frames + n
        one_cpu += _ffmpeg_cpu(_ffmpeg_cmd(source, frames=1, rtsp=rtsp, paced=paced))[0]
    if whole_frames <= runs:
        raise RuntimeError(f"ffmpeg decoded too few frames of {source}")
    return Yardstick(
        whole_run_s=whole_cpu / whole_frames,
        decode_s=max(0.0, whole_cpu - one_cpu) / (whole_frames - runs),
        startup_s=one_cpu / runs,
        frames=whole_frames // runs,
    )


def ffmpeg_yardstick(clip: Path, runs: int = 3) -> Yardstick:
    """``ffmpeg -threads 1 -i CLIP -f null -``: the whole clip, as fast as it goes."""
    subprocess.run(_ffmpeg_cmd(str(clip)), capture_output=True, check=True)  # warm the page cache
    return _yardstick(str(clip), runs, None, rtsp=False)


def ffmpeg_paced_yardstick(clip: Path, runs: int = 3) -> Yardstick:
    """``ffmpeg -re -threads 1 -i CLIP -f null -``: the whole clip at its own frame rate, as a
    camera delivers it (ffmpeg 5.1's ``-re`` polls every 10 ms while it waits)."""
    subprocess.run(_ffmpeg_cmd(str(clip), frames=1), capture_output=True, check=True)
    return _yardstick(str(clip), runs, None, rtsp=False, paced=True)


def ffmpeg_stream_yardstick(url: str, frames: int = 250, runs: int = 1) -> Yardstick:
    """The same on an RTSP stream (TCP): ``frames`` frames, paying for receiving it too."""
    return _yardstick(url, runs, frames, rtsp=True)


def decode_cpu_per_frame(
    path: Path,
    fps: float | None,
    work: Callable[[object], object] | None = None,
    *,
    spin: bool = False,
) -> float:
    """Seconds of this thread's CPU per frame spent decoding ``path`` (and in ``work``).

    ``fps`` None decodes flat out; otherwise the thread waits after each
    frame until the next is due (the waiting is not counted): asleep, or
    with ``spin`` in a busy loop that keeps the core awake.
    """
    import av  # imported here: the send-time helpers below need no PyAV

    container = av.open(str(path))
    try:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # as rtcc_wall.video.sources sets up its decoders
        stream.codec_context.thread_count = 1
        frames = container.decode(stream)
        start = time.monotonic()
        cpu = 0.0
        n = 0
        while True:
            t0 = time.thread_time()
            frame = next(frames, None)
            if frame is None:
                break
            if work is not None:
                work(frame)
            cpu += time.thread_time() - t0
            n += 1
            if fps is not None:
                due = start + n / fps
                if spin:
                    while time.monotonic() < due:
                        pass
                elif (delay := due - time.monotonic()) > 0:
                    time.sleep(delay)
    finally:
        container.close()
    if n == 0:
        raise RuntimeError(f"no frames decoded from {path}")
    return cpu / n


def ffmpeg_wall_cpu_per_frame(
    source: str, streams: int, seconds: float, startup_s: float, *, rtsp: bool
) -> float:
    """CPU per frame of ``streams`` ffmpeg processes decoding at once, each at the source's
    own pace for ``seconds`` (``-re`` for a file, looped), start-ups (``startup_s`` each)
    subtracted: what decoding alone costs at the wall's load, caches shared as the app's are.
    """
    base = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-threads", "1"]
    src = ["-rtsp_transport", "tcp"] if rtsp else ["-re", "-stream_loop", "-1"]
    src += ["-i", source]
    cmd = [*base, *src, "-t", f"{seconds:g}", "-f", "null", "-progress", "pipe:1", "-"]
    before = _children_cpu()
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(streams)
    ]
    frames = 0
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        counts = re.findall(r"^frame=(\d+)$", out, flags=re.MULTILINE)
        frames += int(counts[-1]) if counts else 0
    cpu = _children_cpu() - before
    if frames == 0:
        raise RuntimeError(f"{streams} ffmpeg decodes of {source} produced no frames")
    return max(0.0, cpu - streams * startup_s) / frames


# --------------------------------------------------------------------------- send-time barcode
# Layout and check: the same as tests/servers/rtsp_server.py (stamp_layout, stamp_bits).

STAMP_GUARD_LEFT = (1, 0, 1, 0)
STAMP_GUARD_RIGHT = (0, 1, 0, 1)
STAMP_VALUE_BITS = 40
STAMP_CHECK_BITS = 8
STAMP_BLOCKS = len(STAMP_GUARD_LEFT) + STAMP_VALUE_BITS + STAMP_CHECK_BITS + len(STAMP_GUARD_RIGHT)
_MOD = 1 << STAMP_VALUE_BITS


def stamp_layout(width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, block width, y0, band height) in a frame of the *sent* size (see rtsp_server.py)."""
    bw = max(1, (width * 92 // 100) // STAMP_BLOCKS)
    x0 = (width - bw * STAMP_BLOCKS) // 2
    bh = min(height, max(40, (height // 10) & ~1))
    y0 = ((height - bh) // 2) & ~1
    return x0, bw, y0, bh


def stamp_check(value: int) -> int:
    return (sum((value >> (8 * i)) & 0xFF for i in range(5)) & 0xFF) ^ 0xA5


def stamp_bits(ms: int) -> list[int]:
    value = ms % _MOD
    data = [(value >> (STAMP_VALUE_BITS - 1 - i)) & 1 for i in range(STAMP_VALUE_BITS)]
    check = stamp_check(value)
    data += [(check >> (STAMP_CHECK_BITS - 1 - i)) & 1 for i in range(STAMP_CHECK_BITS)]
    return [*STAMP_GUARD_LEFT, *data, *STAMP_GUARD_RIGHT]


def draw_stamp(ms: int, width: int, height: int) -> U8:
    """A grey (h, w) luma picture with the barcode of ``ms``, as the server draws it."""
    x0, bw, y0, bh = stamp_layout(width, height)
    img = np.full((height, width), 128, dtype=np.uint8)
    for i, bit in enumerate(stamp_bits(ms)):
        img[y0 : y0 + bh, x0 + i * bw : x0 + (i + 1) * bw] = 235 if bit else 16
    return img


def read_stamp(gray: U8, source_size: tuple[int, int], now_ms: int | None = None) -> int | None:
    """The send time (ms since the epoch) drawn in ``gray``, or None when it cannot be read.

    ``gray`` is a 2-D picture (a luma plane, or one channel of BGRA) showing
    the whole sent frame scaled to any size; ``source_size`` is the (w, h) it
    was sent at, which fixes where the blocks are. Each block is read as the
    mean of its central half (in x and y), the threshold comes from the guard
    blocks, and the 8-bit check must match. The 40-bit value is unwrapped to
    the time nearest ``now_ms`` (default: now).
    """
    sw, sh = source_size
    h, w = gray.shape[:2]
    x0, bw, y0, bh = stamp_layout(sw, sh)
    sx, sy = w / sw, h / sh
    r0 = int(round((y0 + 0.25 * bh) * sy))
    r1 = max(r0 + 1, int(round((y0 + 0.75 * bh) * sy)))
    profile = gray[r0:r1].mean(axis=0, dtype=np.float64)
    means = np.empty(STAMP_BLOCKS, dtype=np.float64)
    for i in range(STAMP_BLOCKS):
        a = int(round((x0 + (i + 0.25) * bw) * sx))
        b = max(a + 1, int(round((x0 + (i + 0.75) * bw) * sx)))
        means[i] = profile[a:b].mean()
    g = len(STAMP_GUARD_LEFT)
    guard_idx = list(range(g)) + list(range(STAMP_BLOCKS - g, STAMP_BLOCKS))
    guard_bits = [*STAMP_GUARD_LEFT, *STAMP_GUARD_RIGHT]
    whites = [means[i] for i, b in zip(guard_idx, guard_bits, strict=True) if b]
    blacks = [means[i] for i, b in zip(guard_idx, guard_bits, strict=True) if not b]
    lo, hi = max(blacks), min(whites)
    if hi - lo < 40:
        return None  # no barcode here (or far too blurred)
    thr = (lo + hi) / 2
    bits = [int(m > thr) for m in means[g : STAMP_BLOCKS - g]]
    value = 0
    for b in bits[:STAMP_VALUE_BITS]:
        value = (value << 1) | b
    check = 0
    for b in bits[STAMP_VALUE_BITS:]:
        check = (check << 1) | b
    if check != stamp_check(value):
        return None
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    base = now_ms - (now_ms % _MOD) + value
    return min((base - _MOD, base, base + _MOD), key=lambda t: abs(t - now_ms))
