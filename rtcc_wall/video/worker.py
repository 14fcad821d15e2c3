"""One supervisor thread per watched camera (HOUSE_STYLE 7 and 8).

Why a thread per camera: decoders release the GIL, so one decode thread per
camera spreads over the cores, and a camera that hangs in C (a frozen server,
a stuck driver) can only ever block its own thread. The thread:

* opens the source with a timeout and reads frames with a timeout;
* shrinks and converts every frame on this thread (``to_display``) to the
  size the tile asked for, and publishes it to a one-slot ``LatestFrame``;
  a ``DisplaySizedSource`` (PyAV) is handed the size instead and shrinks
  before its colour conversion, which is cheaper;
* on failure reconnects with capped exponential backoff plus jitter (1 s
  doubling to 30 s, +-20 %, reset after a connection that delivered a
  frame), so a wall of cameras behind one dead switch does not reconnect in
  lock-step; wrong credentials back off at the maximum at once (no storm of
  failed logins), and an unsupported source is not retried at all;
* reports a state through a plain callback (a Qt adapter marshals it);
* paints the camera's active privacy masks (``mask_provider``, asked before
  every frame) into the display picture before the frame is built, so an
  unmasked picture never leaves this thread while a mask is active. When the
  provider or the painting fails, the whole picture is masked (fail closed).
* fills the camera's replay ring (``replay``, optional; ``video/replay.py``)
  with the stream's compressed packets when the source has a packet hook
  (``PyAVSource.on_packet``), else by encoding the unmasked pictures after
  they were published (``PictureEncoder``); nothing is added once a stop was
  requested. The ring's owner (``StreamManager``) empties it.

Staleness is a matter of time, not of events: a frozen server may keep
``read()`` blocked in C for many seconds, during which this thread cannot
report anything. So ``state`` is *derived*: LIVE with a newest frame older than
``stale_after_s`` reads as STALE, from any thread, at any moment. A watchdog
(``StreamManager``) calls ``poll_stale()`` to turn that into an ``on_state``
event as well.

A thread stuck in C cannot be joined: ``stop()`` waits up to its timeout,
then abandons it (a daemon thread) and says so.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from rtcc_wall.core.cameras import CameraState
from rtcc_wall.core.masks import FULL_FRAME, MaskProvider
from rtcc_wall.core.redact import redact
from rtcc_wall.video.frames import BGRImage, Frame, LatestFrame, fit_size, to_display
from rtcc_wall.video.masks import MaskPainter
from rtcc_wall.video.sources import (
    AuthFailed,
    DisplaySizedSource,
    FrameSource,
    SourceError,
    Unsupported,
)

if TYPE_CHECKING:
    from rtcc_wall.video.replay import PictureEncoder, ReplayRing

log = logging.getLogger(__name__)

StateCallback = Callable[[str, CameraState, str], None]

#: Failed connection attempts in a row after which a camera is shown OFFLINE.
OFFLINE_AFTER = 3


class Backoff:
    """Capped exponential delays with multiplicative jitter.

    The n-th delay (from 0) is ``min(initial * 2**n, max) * (1 + u)`` with
    ``u`` uniform in [-jitter, +jitter].
    """

    def __init__(
        self,
        initial_s: float = 1.0,
        max_s: float = 30.0,
        *,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError("need 0 < initial_s <= max_s")
        self.initial_s = initial_s
        self.max_s = max_s
        self.jitter = jitter
        self._rng = rng if rng is not None else random.Random()
        self._n = 0

    def base(self) -> float:
        """The next delay before jitter."""
        return min(self.initial_s * (2.0 ** min(self._n, 64)), self.max_s)

    def next(self) -> float:
        b = self.base()
        self._n += 1
        return b * (1.0 + self._rng.uniform(-self.jitter, self.jitter))

    def at_max(self) -> float:
        """A jittered maximum delay (does not advance the sequence)."""
        return self.max_s * (1.0 + self._rng.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        self._n = 0


class CameraWorker:
    """Keeps the newest picture of one camera in ``latest``; see the module docstring."""

    def __init__(
        self,
        camera_id: str,
        source_factory: Callable[[], FrameSource],
        *,
        stale_after_s: float = 3.0,
        on_state: StateCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        rng: random.Random | None = None,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 3.0,
        offline_after: int = OFFLINE_AFTER,
        mask_provider: MaskProvider | None = None,
        replay: ReplayRing | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.latest = LatestFrame()
        self.stale_after_s = stale_after_s
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.offline_after = offline_after
        self._factory = source_factory
        self._on_state = on_state
        self._clock = clock
        self._backoff = Backoff(backoff_initial_s, backoff_max_s, rng=rng)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state = CameraState.IDLE
        self._last_error = ""
        self._last_frame_at: float | None = None
        self._stale_reported = False
        self._target: tuple[int, int] | None = None
        self._source: FrameSource | None = None
        self._frames = 0
        self._reconnects = 0
        self._opens = 0
        self._session_live = False  # the current connection delivered a frame
        # the source opened and no picture came yet (a stream joined mid-GOP waits
        # for its next key frame: seconds, on cameras with long GOPs)
        self._awaiting_picture = False
        self._first_opened_at: float | None = None  # worker clock, the first successful open
        self._mask_provider = mask_provider
        self._mask_painter = MaskPainter()
        self._mask_failing = False  # log a failing provider once per failure streak
        self.replay = replay
        self._encoder: PictureEncoder | None = None  # for sources without packets
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera_id}", daemon=True)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        if self._thread.ident is not None:
            raise RuntimeError(f"camera worker {self.camera_id} was already started")
        self._thread.start()

    def request_stop(self) -> None:
        """Asks the thread to end and closes the source from outside; does not wait."""
        self._stop.set()
        with self._lock:
            src = self._source
        if src is not None:
            try:
                src.close()
            except Exception as e:  # noqa: BLE001 - boundary: a faulty close must not break shutdown
                log.warning("camera %s: close failed: %s", self.camera_id, redact(repr(e)))

    def stop(self, timeout_s: float = 2.0) -> bool:
        """Stops the thread; True when it ended within ``timeout_s``.

        False means the thread is stuck (e.g. inside a decoder) and is abandoned:
        it is a daemon, publishes nothing more, and ends whenever the call returns.
        """
        self.request_stop()
        if self._thread.ident is None:
            return True
        self._thread.join(max(0.0, timeout_s))
        joined = not self._thread.is_alive()
        if not joined:
            log.warning("camera %s: worker thread did not stop; abandoned", self.camera_id)
        return joined

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def set_target_size(self, w: int, h: int) -> None:
        """The box (w, h) that the next frames are shrunk to fit (never enlarged)."""
        with self._lock:
            self._target = (max(1, int(w)), max(1, int(h)))

    @property
    def target_size(self) -> tuple[int, int] | None:
        with self._lock:
            return self._target

    # ------------------------------------------------------------------ status
    # The status reads below take no lock: the GUI thread asks every tile's
    # worker at display rate, and waiting on a lock held by a camera thread
    # that itself waits for the GIL stalls the GUI (see LatestFrame). Each is
    # one atomic attribute read; ``state`` reads the state before the frame
    # time, which is written first when a camera goes LIVE.
    @property
    def state(self) -> CameraState:
        s = self._state
        last = self._last_frame_at
        if s is CameraState.LIVE and last is not None and self._clock() - last > self.stale_after_s:
            return CameraState.STALE
        return s

    def poll_stale(self) -> bool:
        """Reports a newly stale camera through ``on_state``; True when it is stale now.

        Called by a watchdog on any thread: while ``read()`` blocks, the worker
        thread cannot notice by itself.
        """
        if self.state is not CameraState.STALE:
            return False
        with self._lock:
            report = not self._stale_reported
            self._stale_reported = True
        if report:
            age = self.frame_age()
            self._emit(CameraState.STALE, f"no frame for {age or 0.0:.1f} s")
        return True

    @property
    def last_error(self) -> str:
        return self._last_error

    @property
    def first_opened_at(self) -> float | None:
        """When a source first opened (worker clock): connecting took this long."""
        return self._first_opened_at

    @property
    def awaiting_picture(self) -> bool:
        """Connected, but no picture yet from this connection (e.g. waiting for a key frame)."""
        return self._awaiting_picture

    def frame_age(self, now: float | None = None) -> float | None:
        """Seconds since the newest frame was captured (worker clock), or None."""
        last = self._last_frame_at
        if last is None:
            return None
        return max(0.0, (self._clock() if now is None else now) - last)

    @property
    def frames(self) -> int:
        with self._lock:
            return self._frames

    @property
    def reconnects(self) -> int:
        with self._lock:
            return self._reconnects

    @property
    def open_attempts(self) -> int:
        with self._lock:
            return self._opens

    # ------------------------------------------------------------------ thread
    def _emit(self, state: CameraState, detail: str) -> None:
        cb = self._on_state
        if cb is None:
            return
        try:
            cb(self.camera_id, state, redact(detail))
        except Exception as e:  # noqa: BLE001 - boundary: a faulty listener must not kill the camera
            log.warning("camera %s: on_state callback failed: %s", self.camera_id, redact(repr(e)))

    def _set_state(self, state: CameraState, detail: str = "", *, error: bool = False) -> None:
        detail = redact(detail)
        with self._lock:
            changed = state is not self._state
            self._state = state
            if error:
                self._last_error = detail
            if changed:
                self._stale_reported = False  # STALE is only ever reported from LIVE
        if changed:
            self._emit(state, detail)

    def _run(self) -> None:
        try:
            self._supervise()
        except Exception as e:  # noqa: BLE001 - thread boundary: never let an exception escape
            log.exception("camera %s: worker failed", self.camera_id)
            self._set_state(CameraState.OFFLINE, f"internal error: {e!r}", error=True)
        finally:
            self._close_source()
            if self._stop.is_set() and self.state is not CameraState.UNSUPPORTED:
                self._set_state(CameraState.IDLE, "stopped")

    def _close_source(self) -> None:
        with self._lock:
            src, self._source = self._source, None
        if src is not None:
            try:
                src.close()
            except Exception as e:  # noqa: BLE001 - boundary: a faulty close must not kill the loop
                log.warning("camera %s: close failed: %s", self.camera_id, redact(repr(e)))

    def _supervise(self) -> None:
        failures = 0  # connection attempts in a row that produced no frame
        self._set_state(CameraState.CONNECTING, "connecting")
        delay = 0.0
        while not self._stop.wait(delay):
            self._session_live = False
            try:
                self._connect_and_stream()
            except Unsupported as e:
                self._set_state(CameraState.UNSUPPORTED, str(e), error=True)
                return  # retrying cannot help
            except AuthFailed as e:
                self._close_source()
                failures += 1
                self._set_state(CameraState.AUTH_FAILED, str(e), error=True)
                delay = self._backoff.at_max()  # a wrong password stays wrong: no retry storm
                continue
            except SourceError as e:
                with self._lock:
                    self._last_error = str(e)
            self._close_source()
            if self._stop.is_set():
                return
            with self._lock:
                self._reconnects += 1
                detail = self._last_error
            if self._session_live:
                # a good connection ended: start the backoff afresh
                failures = 0
                self._backoff.reset()
                self._set_state(CameraState.RECONNECTING, detail or "stream ended")
            else:
                failures += 1
                state = (
                    CameraState.OFFLINE
                    if failures >= self.offline_after
                    else CameraState.RECONNECTING
                )
                self._set_state(state, detail or "no picture from the source")
            delay = self._backoff.next()

    def _connect_and_stream(self) -> None:
        """Opens the source and publishes frames until it fails; sets ``_session_live``."""
        with self._lock:
            self._opens += 1
        try:
            src = self._factory()
        except ValueError as e:  # e.g. StreamUrlError: a URL that can never work
            raise Unsupported(str(e)) from None
        with self._lock:
            self._source = src
        if self._stop.is_set():
            return
        self._hook_replay(src)
        src.open(self.open_timeout_s)
        if self._first_opened_at is None:
            self._first_opened_at = self._clock()
        self._awaiting_picture = not self._stop.is_set()
        try:
            self._stream_from(src)
        finally:
            self._awaiting_picture = False

    def _stream_from(self, src: FrameSource) -> None:
        sized = src if isinstance(src, DisplaySizedSource) else None
        while not self._stop.is_set():
            if sized is not None:
                sized.display_box = self.target_size
            img = src.read(self.read_timeout_s)
            if img is None or self._stop.is_set():
                if img is None and not self._stop.is_set():
                    with self._lock:
                        self._last_error = redact(f"{src.describe()}: no frame (end of stream)")
                break
            self._publish(img, sized)
            if not self._session_live:
                self._awaiting_picture = False
                self._session_live = True
                self._backoff.reset()
                self._set_state(CameraState.LIVE, src.describe())

    def _hook_replay(self, src: FrameSource) -> None:
        """Feeds the replay ring from ``src``: its packets if it has a hook, else its pictures.

        One encoder serves every connection of a picture source (the ring goes on
        across a reconnect; a new picture size starts it afresh).
        """
        ring = self.replay
        if ring is None:
            return
        from rtcc_wall.video.replay import PacketFeeder, PictureEncoder

        if hasattr(src, "on_packet"):
            self._encoder = None
            src.on_packet = PacketFeeder(ring, active=lambda: not self._stop.is_set())
        elif self._encoder is None:
            self._encoder = PictureEncoder(ring, fps=src.nominal_fps)

    def _encode_replay(self, img: BGRImage) -> None:
        encoder = self._encoder
        if encoder is not None and not self._stop.is_set():
            encoder.encode(img, time.time())

    def _publish(self, img: object, sized: DisplaySizedSource | None = None) -> None:
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3) or img.size == 0:
            raise SourceError(f"source returned an unusable picture: {type(img).__name__}")
        with self._lock:
            target = self._target
        h, w = int(img.shape[0]), int(img.shape[1])
        if sized is not None and _display_ready(img, target):
            # already shrunk and converted by the source, into a new array it gave away
            display = img
            w, h = sized.source_size or (w, h)
        else:
            display = to_display(img, target)
        shared = display is img
        if shared:
            self._encode_replay(img)  # before the masks are painted into this very array
        if self._mask_provider is not None:
            display = self._masked(display)
        now = self._clock()
        with self._lock:
            self._frames += 1
            seq = self._frames
            was_stale_reported = self._stale_reported
            self._last_frame_at = now
            self._stale_reported = False
        self.latest.publish(
            Frame(
                image=display,
                seq=seq,
                captured_at=now,
                wall_time=datetime.now().astimezone(),
                source_size=(w, h),
            )
        )
        if was_stale_reported:
            self._emit(CameraState.LIVE, "frames again")
        if not shared:
            self._encode_replay(img)  # the unmasked picture, after the live one is out

    def _masked(self, display: BGRImage) -> BGRImage:
        """``display`` with the active privacy masks painted in (the whole picture on failure).

        Paints in place, so the array must be this worker's own: a view into a
        buffer that someone else holds (a decoder's frame pool) is copied first.
        """
        provider = self._mask_provider
        if provider is None:
            return display
        try:
            masks = provider()
            if not masks:
                self._mask_failing = False
                return display  # no masks, or lifted
            owned = _owned(display)
            self._mask_painter.apply(owned, masks)
        except Exception as e:  # noqa: BLE001 - boundary: never publish unmasked on a bug
            if not self._mask_failing:
                log.error(
                    "camera %s: privacy masks failed, masking the whole picture: %s",
                    self.camera_id,
                    redact(repr(e)),
                )
            self._mask_failing = True
            owned = _owned(display)
            self._mask_painter.apply(owned, FULL_FRAME)
            return owned
        self._mask_failing = False
        return owned


def _owned(img: BGRImage) -> BGRImage:
    """``img`` itself when this worker may write into it, else a private C-contiguous copy."""
    if img.base is None and img.flags.writeable and img.flags.c_contiguous:
        return img
    return np.ascontiguousarray(img.copy())


def _display_ready(img: np.ndarray, box: tuple[int, int] | None) -> bool:
    """True for a BGRA uint8 C-contiguous picture that already fits ``box``.

    The box may have changed between the source's read and now: a picture that
    no longer fits goes through ``to_display`` once more.
    """
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 4 or not img.flags.c_contiguous:
        return False
    if box is None:
        return True
    h, w = int(img.shape[0]), int(img.shape[1])
    return fit_size(w, h, box[0], box[1]) == (w, h)
