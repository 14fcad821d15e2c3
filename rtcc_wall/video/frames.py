"""Decoded pictures on their way to a tile, and the one-slot buffer between them.

Why this shape (HOUSE_STYLE 5 and 6):

* **Latest frame wins.** A camera worker decodes as fast as its source
  delivers; a tile repaints on its own display timer. A queue between them
  would grow without bound whenever the GUI is slower than the camera (a slow
  consumer reading frames directly was measured here at 5.5 s of delay after
  15 s). ``LatestFrame`` keeps one slot: a new frame overwrites the old one and
  the overwrite of a frame nobody looked at is counted as ``dropped``.
* **Own your pixels.** A ``Frame``'s array is allocated by the worker for that
  frame alone and marked read-only when the frame is built, so a QImage may
  borrow it (``ui/images.py``) for as long as it holds the ``Frame`` — no copy
  on the GUI thread, and no writer can change pixels under a painter.
* **Shrink, then convert.** ``to_display`` runs on the worker thread: it
  scales the decoded BGR picture down to the tile (INTER_LINEAR; INTER_AREA
  costs 5-10x more) and only then converts to 4-byte BGRA, which Qt draws as
  ``QImage.Format_RGB32`` without any conversion (0.03 ms vs 0.17 ms per tile
  for BGR888). Converting the small picture is cheaper than the big one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np
import numpy.typing as npt

BGRImage = npt.NDArray[np.uint8]

# Every camera has a decode thread of its own, so OpenCV's own thread pool only
# adds hand-offs: with its default (one thread per core) shrinking a 1280x720
# frame's planes cost 0.48 ms of CPU per frame here, 0.36 ms with one thread.
cv2.setNumThreads(1)


@dataclass(frozen=True, eq=False)
class Frame:
    """One picture ready for display.

    ``image`` is BGRA uint8, shape (h, w, 4), C-contiguous, owned by this frame
    and read-only. ``captured_at`` is monotonic seconds on the worker's clock
    (compare it with the same clock, e.g. ``CameraWorker.frame_age``);
    ``wall_time`` is the timezone-aware local time of capture, for display.
    ``source_size`` is (w, h) of the decoded picture before it was shrunk.
    """

    image: BGRImage
    seq: int
    captured_at: float
    wall_time: datetime
    source_size: tuple[int, int]

    def __post_init__(self) -> None:
        img = self.image
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 4:
            raise ValueError(
                f"Frame.image must be BGRA uint8 (h, w, 4), got {img.dtype} {img.shape}"
            )
        if not img.flags.c_contiguous:
            raise ValueError("Frame.image must be C-contiguous")
        # Never written after publish: make accidental writes fail loudly.
        img.flags.writeable = False

    @property
    def size(self) -> tuple[int, int]:
        """(w, h) of the display picture."""
        return int(self.image.shape[1]), int(self.image.shape[0])


class LatestFrame:
    """A thread-safe one-slot buffer: the producer overwrites, consumers look.

    Several consumers may ``get()`` the same frame (a camera shown on two
    walls). A frame counts as *taken* once any consumer received it; a frame
    overwritten before that is counted in ``dropped``.

    ``get`` and ``take_if_newer`` take no lock: they are called by the GUI
    thread for every tile at display rate, and a lock held by a camera thread
    that is waiting for the GIL makes the GUI wait for the GIL's whole queue
    (measured with 64 cameras: the wall fell behind for good). Reading and
    writing one attribute is atomic in CPython; the only race left is that
    a frame taken at the very moment a newer one is published may also be
    counted as dropped.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._frame: Frame | None = None
        self._taken: Frame | None = None  # the newest frame a consumer received
        self._published = 0
        self._dropped = 0
        self._waiters = 0

    def publish(self, frame: Frame) -> None:
        with self._cond:
            old = self._frame
            if old is not None and old is not self._taken:
                self._dropped += 1
            self._frame = frame
            self._published += 1
            if self._waiters:
                self._cond.notify_all()

    def get(self) -> Frame | None:
        """The newest frame (not removed: other consumers may look too), or None."""
        f = self._frame
        if f is not None:
            self._taken = f
        return f

    def take_if_newer(self, seq: int) -> Frame | None:
        """The newest frame if its ``seq`` is greater than ``seq``, else None."""
        f = self._frame
        if f is None or f.seq <= seq:
            return None
        self._taken = f
        return f

    def wait_newer(self, seq: int, timeout_s: float) -> Frame | None:
        """Blocks up to ``timeout_s`` for a frame newer than ``seq`` (recorders, tests)."""
        with self._cond:
            self._waiters += 1
            try:
                self._cond.wait_for(
                    lambda: self._frame is not None and self._frame.seq > seq, timeout=timeout_s
                )
            finally:
                self._waiters -= 1
            f = self._frame
            if f is None or f.seq <= seq:
                return None
            self._taken = f
            return f

    def clear(self) -> None:
        with self._cond:
            self._frame = None
            self._taken = None

    # The counters are read without the lock, like ``get``: a benchmark or status
    # display on the GUI thread that waited for 64 camera locks in a row stalled the
    # wall for ~100 ms (and caused the very drops it was counting).
    @property
    def published(self) -> int:
        return self._published

    @property
    def dropped(self) -> int:
        return self._dropped


def fit_size(src_w: int, src_h: int, box_w: int, box_h: int) -> tuple[int, int]:
    """The largest (w, h) with the source's aspect ratio inside the box, never enlarged.

    Degenerate sizes give at least 1x1 (a tile being laid out may report 0).
    """
    if src_w <= 0 or src_h <= 0:
        raise ValueError(f"source size must be positive, got {src_w}x{src_h}")
    box_w = max(1, int(box_w))
    box_h = max(1, int(box_h))
    scale = min(box_w / src_w, box_h / src_h, 1.0)
    if scale >= 1.0:
        return src_w, src_h
    return max(1, min(box_w, round(src_w * scale))), max(1, min(box_h, round(src_h * scale)))


def to_display(bgr: BGRImage, box: tuple[int, int] | None) -> BGRImage:
    """A new BGRA (h, w, 4) C-contiguous array: ``bgr`` shrunk to fit ``box``, then converted.

    ``box`` is (w, h); None keeps the source size. Grey (h, w) and BGRA input
    are accepted too (some devices and codecs deliver them).
    """
    if bgr.dtype != np.uint8:
        raise ValueError(f"expected a uint8 picture, got {bgr.dtype}")
    h, w = int(bgr.shape[0]), int(bgr.shape[1])
    src: BGRImage = bgr
    if box is not None:
        tw, th = fit_size(w, h, box[0], box[1])
        if (tw, th) != (w, h):
            src = np.asarray(
                cv2.resize(bgr, (tw, th), interpolation=cv2.INTER_LINEAR), dtype=np.uint8
            )
    out: BGRImage
    if src.ndim == 2:
        out = np.asarray(cv2.cvtColor(src, cv2.COLOR_GRAY2BGRA), dtype=np.uint8)
    elif src.shape[2] == 3:
        out = np.asarray(cv2.cvtColor(src, cv2.COLOR_BGR2BGRA), dtype=np.uint8)
    elif src.shape[2] == 4:
        # cv2.resize returned a new array; a passed-through source must be copied to be owned
        out = src.copy() if src is bgr else src
    else:
        raise ValueError(f"expected 1, 3 or 4 channels, got shape {bgr.shape}")
    return np.ascontiguousarray(out)
