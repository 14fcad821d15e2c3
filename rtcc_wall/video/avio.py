"""PyAV without a GIL round trip on every I/O poll: read deadlines and log capture.

Why (measured here, PyAV 18.1 / FFmpeg 8.1, 64 RTSP cameras at 360p15):
each camera thread took the GIL ~76 times per frame although it runs Python
only a few times per frame. ``perf`` on ``PyGILState_Ensure`` showed where:

* PyAV's **read timeout** is an ffmpeg interrupt callback that takes the GIL to
  read the clock, and ffmpeg calls it on every socket poll and read -- about
  40 times per frame for RTSP over TCP;
* PyAV's **log callback**, once installed by ``av.logging.set_level``, takes the
  GIL for every ffmpeg message, even those below the level it then drops --
  about 20 times per frame (RTP and H.264 debug messages).

With 64 cameras that was ~70,000 GIL hand-offs a second: the process spent
two thirds of its CPU in futex calls and the GUI thread waited tens of
milliseconds for every paint; the wall fell behind and stayed there.

So:

* ``ReadDeadline`` opens containers without PyAV's read timeout and enforces
  one from outside: ``DeadlineWatch`` (one thread for all cameras, 10 Hz)
  arms PyAV's own timeout record of a container whose read is overdue, so the
  interrupt callback -- which skips the GIL while no timeout is set -- makes
  ffmpeg give up with AVERROR_EXIT at its next poll. As with PyAV's timeout,
  the deadline is per packet read (``PyAVSource`` disarms it before each).
  ``close()`` arms it at once, so a blocked read ends within ~0.1 s.
  PyAV keeps that record (``timeout_info``) inside the container object; its
  place is found by looking for the two fields declared right before it
  (``open_timeout`` and ``read_timeout``, whose object identities are known)
  and PyAV's "no timeout" value (-1.0) in it. Nothing outside the Python
  object is written. When a PyAV release lays the object out differently the
  record is not found and the source falls back to PyAV's own read timeout
  (correct, only slower with many cameras).
* ``libav_log_capture()`` installs PyAV's log callback only while a container
  is being opened, or an export's MP4 written (when ffmpeg's error line
  explains a failure best); while frames flow, ffmpeg's own callback drops
  every line in C (level QUIET).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import struct
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Protocol

import av.logging

log = logging.getLogger(__name__)

_WORD = struct.calcsize("P")
#: PyAV's "no timeout" value in ``timeout_info.timeout``
_NO_TIMEOUT = -1.0
_NO_ATTR = object()


def _find_timeout_info(container: object) -> int | None:
    """Address of ``container``'s ``timeout_info`` {start_time, timeout}, or None.

    Looks for the words ``id(open_timeout), id(read_timeout)`` followed by a
    record whose ``timeout`` is -1.0, only inside the object's own memory
    (``__basicsize__``), and only when there is exactly one such place.
    """
    open_timeout = getattr(container, "open_timeout", _NO_ATTR)
    read_timeout = getattr(container, "read_timeout", _NO_ATTR)
    if open_timeout is _NO_ATTR or read_timeout is not None or open_timeout is None:
        return None
    base = id(container)
    size = type(container).__basicsize__
    raw = ctypes.string_at(base, size)
    want = (id(open_timeout), id(read_timeout))
    found: list[int] = []
    for off in range(2 * _WORD, size - 2 * _WORD - 16 + 1, _WORD):
        if struct.unpack_from("PP", raw, off) != want:
            continue
        timeout = struct.unpack_from("d", raw, off + 2 * _WORD + 8)[0]
        if timeout == _NO_TIMEOUT:
            found.append(base + off + 2 * _WORD)
    return found[0] if len(found) == 1 else None


class ReadDeadline:
    """Makes ffmpeg abandon the current (or next) blocking read of one container.

    ``usable`` is False when PyAV's timeout record was not found; ``abort``
    then does nothing and the caller must rely on PyAV's read timeout.
    """

    def __init__(self, container: object) -> None:
        self._container = container  # keeps the object (and the record) alive
        self._addr = _find_timeout_info(container)

    @property
    def usable(self) -> bool:
        return self._addr is not None

    def abort(self) -> None:
        """Arms an already-expired timeout: the next interrupt check returns 1.

        It stays armed (PyAV resets the record only when a demux generator
        starts or ends): the reader calls ``disarm`` before each packet read,
        and ``DeadlineWatch`` arms again while a read stays overdue.
        """
        addr = self._addr
        if addr is None:
            return
        # start_time first: while timeout is -1 the callback looks at nothing else
        ctypes.c_double.from_address(addr).value = 0.0
        ctypes.c_double.from_address(addr + 8).value = 0.0

    def disarm(self) -> None:
        """Back to PyAV's "no timeout" (the interrupt callback returns 0, GIL-free)."""
        addr = self._addr
        if addr is not None:
            ctypes.c_double.from_address(addr + 8).value = _NO_TIMEOUT


class _Deadlined(Protocol):
    """What ``DeadlineWatch`` asks of a source (``PyAVSource``)."""

    def check_deadline(self) -> None: ...


class DeadlineWatch:
    """One daemon thread that lets each registered source check its read deadline."""

    INTERVAL_S = 0.1

    def __init__(self) -> None:
        self._sources: weakref.WeakSet[_Deadlined] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, source: _Deadlined) -> None:
        with self._lock:
            self._sources.add(source)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="read-deadlines", daemon=True
                )
                self._thread.start()

    def discard(self, source: _Deadlined) -> None:
        with self._lock:
            self._sources.discard(source)

    def _run(self) -> None:
        while True:
            time.sleep(self.INTERVAL_S)
            with self._lock:
                sources = list(self._sources)
            for s in sources:
                try:
                    s.check_deadline()
                except Exception:  # noqa: BLE001 - thread boundary: one bad source must not stop the watch
                    log.exception("read deadline check failed")


WATCH = DeadlineWatch()

#: False once a container's timeout record was not found (a PyAV laid out differently)
_deadlines_ok = True


def deadlines_supported() -> bool:
    """Whether sources should open without PyAV's read timeout (see ``ReadDeadline``)."""
    return _deadlines_ok


def mark_deadlines_unsupported() -> None:
    global _deadlines_ok
    _deadlines_ok = False

_capture_lock = threading.Lock()
_capturing = 0


@contextlib.contextmanager
def libav_log_capture() -> Iterator[None]:
    """ffmpeg's ERROR lines reach PyAV's logger (and exceptions) while any caller is inside.

    Nested and concurrent uses are counted; the last one out puts PyAV's
    silent callback back (no GIL per ffmpeg message while frames flow).
    """
    global _capturing
    with _capture_lock:
        _capturing += 1
        if _capturing == 1:
            av.logging.set_level(av.logging.ERROR)
    try:
        yield
    finally:
        with _capture_lock:
            _capturing -= 1
            if _capturing == 0:
                _silence()


#: ffmpeg's AV_LOG_QUIET
_AV_LOG_QUIET = -8


def _silence() -> None:
    """ffmpeg's own callback at level QUIET: drops every line in C, never takes the GIL.

    Not ``av.logging.set_level(None)``: that also sets PyAV's Python-side
    threshold to None, and a callback already past its C-side check on another
    thread would then fail comparing with None and print the raw line (URL
    and all) to stderr.
    """
    av.logging.set_libav_level(_AV_LOG_QUIET)
    av.logging.restore_default_callback()


def log_capture_active() -> bool:
    """True while some open routes ffmpeg's lines to Python (for tests and diagnostics)."""
    with _capture_lock:
        return _capturing > 0
