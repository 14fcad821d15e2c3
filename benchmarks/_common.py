"""Shared helpers of the live-video benchmarks (``wall_throughput.py``, ``latency.py``).

* ``cameras_for`` -- ``Camera`` records pointing at one stream URL;
* ``ffmpeg_cpu_per_frame`` -- the yardstick: CPU seconds per frame of
  ``ffmpeg -threads 1 -i CLIP -f null -`` on this machine, in this run;
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
from collections.abc import Sequence
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


def ffmpeg_cpu_per_frame(clip: Path, runs: int = 3) -> tuple[float, int]:
    """(CPU seconds per decoded frame, frames per run) of ``ffmpeg -threads 1`` on ``clip``.

    CPU is the finished children's user+system time (``RUSAGE_CHILDREN``)
    across the runs; only the ffmpeg children end in between, so the delta is
    theirs alone. Frames come from ffmpeg's own ``-progress`` report.
    """
    cmd = [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
        "-threads", "1", "-i", str(clip), "-f", "null", "-progress", "pipe:1", "-",
    ]  # fmt: skip
    subprocess.run(cmd, capture_output=True, check=True)  # warm the page cache
    before = _children_cpu()
    frames = 0
    for _ in range(runs):
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        counts = re.findall(r"^frame=(\d+)$", res.stdout, flags=re.MULTILINE)
        frames += int(counts[-1]) if counts else 0
    cpu = _children_cpu() - before
    if frames == 0:
        raise RuntimeError(f"ffmpeg decoded no frames of {clip}")
    return cpu / frames, frames // runs


def ffmpeg_stream_cpu_per_frame(url: str, frames: int = 250) -> float:
    """CPU seconds per frame of ``ffmpeg -threads 1`` reading ``frames`` frames of an RTSP URL.

    The same yardstick as ``ffmpeg_cpu_per_frame`` plus the cost of receiving
    the stream (TCP, RTP depacketizing, H.264 parsing) that a file does not
    have. It includes ffmpeg's start-up and connection (small against 250 frames).
    """
    cmd = [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp",
        "-threads", "1", "-i", url, "-frames:v", str(frames),
        "-f", "null", "-progress", "pipe:1", "-",
    ]  # fmt: skip
    before = _children_cpu()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120)
    cpu = _children_cpu() - before
    counts = re.findall(r"^frame=(\d+)$", res.stdout, flags=re.MULTILINE)
    got = int(counts[-1]) if counts else 0
    if got == 0:
        raise RuntimeError(f"ffmpeg decoded no frames of {url}")
    return cpu / got


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
