"""Where pictures come from: one small interface over sim, file, RTSP, HTTP and devices.

Why a Protocol with timeouts everywhere: a camera worker (``worker.py``) is a
supervisor that must never hang forever on a camera (HOUSE_STYLE 7). So every
source opens and reads with a timeout and reports failures as one of three
``SourceError`` kinds, which decide what the supervisor does next:

* ``SourceUnavailable`` -- try again later, with backoff;
* ``AuthFailed``        -- wrong or missing credentials: retry rarely (no storm
                           of failed logins that could lock the account);
* ``Unsupported``       -- retrying cannot help (bad URL, unknown variable).

Every message is passed through ``redact`` before it is raised: stream URLs
carry passwords, and ``${VAR}`` values are remembered as secrets by
``expand_env``. ffmpeg's own log lines go through a redacting logger
(``route_libav_logs``).

Which source: rtsp/rtsps/http(s)/file -> ``PyAVSource`` (see its docstring:
open+read timeouts, 401/403 as ``AuthFailed`` for RTSP and HTTP alike, no
frame threads, fast probing with a fallback, packets for replay);
``device://`` -> ``OpenCVSource`` (V4L2 and friends); ``sim://`` ->
``SimSource``. ``OpenCVSource`` can still open files and network streams
(kept for comparison and as a fallback), but ``make_source`` no longer uses
it for them.

OpenCV notes (cv2 5.0, measured on this machine):

* ``CAP_PROP_OPEN_TIMEOUT_MSEC`` and ``CAP_PROP_READ_TIMEOUT_MSEC`` are
  honoured when passed in the constructor's params list (an open against a
  silent TCP server gives up after the timeout), although ``get()`` reports
  -1 for both afterwards. They cannot be changed after the open, so the read
  timeout is fixed per source (``read_timeout_s``). A frozen server was
  measured to return from ``read()`` only after ~3x the read timeout.
* ``CAP_PROP_N_THREADS=1``: every extra frame thread adds one frame of latency.
* RTSP over TCP needs ``OPENCV_FFMPEG_CAPTURE_OPTIONS="rtsp_transport;tcp"``,
  an environment variable read by OpenCV at every open -- process-global, so
  it is set once (``use_rtsp_over_tcp``) from the main thread before workers
  start, and a value the user already set is left alone.
* ffmpeg does not tell OpenCV *why* an open failed (a 401 only reaches
  stderr). ``probe_auth_required`` asks the server itself after a failed open.
"""

from __future__ import annotations

import base64
import http.client
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import av
import av.error
import cv2
import numpy as np

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.redact import expand_env, redact
from rtcc_wall.core.streams import StreamSpec
from rtcc_wall.video import avio
from rtcc_wall.video.avio import WATCH, ReadDeadline, libav_log_capture
from rtcc_wall.video.decode import frame_to_display
from rtcc_wall.video.frames import BGRImage

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

    from rtcc_wall.video.sim import SimCamera, SimWorld

log = logging.getLogger(__name__)


class SourceError(Exception):
    """A source failed; the message is already redacted."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class SourceUnavailable(SourceError):
    """Cannot connect or read now; may work later."""


class AuthFailed(SourceError):
    """The server refused the credentials (or wants some)."""


class Unsupported(SourceError):
    """This source cannot work as configured; retrying will not help."""


class MissingVariable(Unsupported):
    """A ``${VAR}`` in the stream URL is not set in the environment."""

    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} used in the stream URL is not set")
        self.variable = name


@runtime_checkable
class FrameSource(Protocol):
    """A camera's picture stream. One thread calls open/read; close may come from any thread."""

    @property
    def nominal_fps(self) -> float | None: ...

    def open(self, timeout_s: float) -> None:
        """Connects; raises a ``SourceError`` subclass."""

    def read(self, timeout_s: float) -> BGRImage | None:
        """The next BGR (or BGRA) frame, or None at end of stream / on failure / after close.

        May raise a ``SourceError`` to say why the stream broke.
        """

    def close(self) -> None:
        """Idempotent; safe from another thread while ``read`` blocks."""

    def describe(self) -> str:
        """A redacted one-line description for messages."""


@runtime_checkable
class DisplaySizedSource(FrameSource, Protocol):
    """A source that shrinks and converts on its own, cheaper than ``to_display`` could.

    The worker sets ``display_box`` (w, h) before each ``read``; ``read`` then
    returns a *new* BGRA (h, w, 4) C-contiguous array fitted into that box
    (None: full size), which the worker publishes without another copy.
    ``source_size`` is the (w, h) of the decoded picture before it was shrunk.
    """

    display_box: tuple[int, int] | None

    @property
    def source_size(self) -> tuple[int, int] | None: ...


RTSP_TCP_OPTIONS = "rtsp_transport;tcp"
_CAPTURE_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


def use_rtsp_over_tcp() -> None:
    """Makes OpenCV's ffmpeg use RTSP over TCP (process-global; call from the main thread).

    UDP loses packets (smeared, grey frames) on busy networks and through NAT.
    A value already in the environment wins.
    """
    os.environ.setdefault(_CAPTURE_OPTIONS_ENV, RTSP_TCP_OPTIONS)


# --------------------------------------------------------------------------- sim


class SimSource:
    """A ``sim://`` camera: renders the shared simulated world at ``fps``.

    Pacing uses the world's clock (so every sim camera agrees on what "now"
    is) and waits on an Event, so ``close()`` wakes a waiting ``read()`` at
    once. A render slower than the frame interval does not build up a debt of
    frames: the schedule restarts from now.
    """

    def __init__(
        self, world: SimWorld, camera: Camera, width: int = 640, height: int = 360, fps: float = 12
    ) -> None:
        if fps <= 0:
            raise Unsupported(f"sim camera {camera.id}: fps must be positive")
        self._world = world
        self._camera = camera
        self._width = int(width)
        self._height = int(height)
        self._fps = float(fps)
        self._closed = threading.Event()
        self._sim: SimCamera | None = None
        self._next_t: float | None = None

    @property
    def nominal_fps(self) -> float | None:
        return self._fps

    @property
    def codec_name(self) -> str:
        return "rendered"

    def open(self, timeout_s: float) -> None:
        from rtcc_wall.video.sim import SimCamera  # builds the camera's static background

        if self._closed.is_set():
            raise SourceUnavailable(f"{self.describe()}: closed")
        self._sim = SimCamera(self._world, self._camera, self._width, self._height)
        self._next_t = None

    def read(self, timeout_s: float) -> BGRImage | None:
        sim = self._sim
        if sim is None or self._closed.is_set():
            return None
        interval = 1.0 / self._fps
        now = self._world.now()
        if self._next_t is None or now - self._next_t > interval:
            self._next_t = now  # first frame, or fell behind: no catching up
        delay = self._next_t - now
        if delay > timeout_s:
            return None
        if delay > 0 and self._closed.wait(delay):
            return None
        t = self._world.now()
        self._next_t += interval
        return sim.render(t, datetime.now().astimezone())

    def close(self) -> None:
        self._closed.set()
        self._sim = None

    def describe(self) -> str:
        return f"sim camera {self._camera.id} ({self._width}x{self._height} @ {self._fps:g} fps)"


# --------------------------------------------------------------------------- OpenCV


def _params(*pairs: int) -> list[int]:
    return list(pairs)


class OpenCVSource:
    """file / rtsp / http / device through ``cv2.VideoCapture``.

    Files are paced at their own frame rate (they decode much faster than real
    time) and loop when ``loop`` is set, by seeking to frame 0 (or reopening
    when the seek fails). Network streams are read as fast as they deliver.

    ``close()`` from another thread never releases the capture while ``read()``
    is inside OpenCV (that would free the decoder under it); the reading thread
    releases it when the call returns. A read stuck in C for good is abandoned
    with its thread by the worker.
    """

    def __init__(
        self,
        spec: StreamSpec,
        *,
        loop: bool = False,
        read_timeout_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if spec.kind not in ("file", "rtsp", "http", "device"):
            raise Unsupported(f"{spec.display}: OpenCV cannot open {spec.kind!r} sources")
        self._spec = spec
        self._loop = loop
        self._read_timeout_s = read_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._cap: cv2.VideoCapture | None = None
        self._in_read = False
        self._fps: float | None = None
        self._next_t: float | None = None

    @property
    def nominal_fps(self) -> float | None:
        return self._fps

    def describe(self) -> str:
        return f"{self._spec.kind} {redact(self._spec.url)}"

    # -- open ---------------------------------------------------------------
    def _target(self) -> str:
        try:
            if self._spec.kind == "file":
                return expand_env(self._spec.path)
            return expand_env(self._spec.url)
        except KeyError as e:
            raise MissingVariable(str(e.args[0])) from None

    def _new_capture(self, timeout_s: float) -> cv2.VideoCapture:
        if self._spec.kind == "device":
            # V4L2/DirectShow/AVFoundation: the ffmpeg timeout properties do not apply.
            return cv2.VideoCapture(self._spec.device, cv2.CAP_ANY)
        target = self._target()
        if self._spec.kind == "file" and not Path(target).is_file():
            raise SourceUnavailable(f"{self.describe()}: file not found")
        params = _params(
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            max(1, round(timeout_s * 1000)),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            max(1, round(self._read_timeout_s * 1000)),
            cv2.CAP_PROP_N_THREADS,
            1,
        )
        return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)

    def open(self, timeout_s: float) -> None:
        if self._closed.is_set():
            raise SourceUnavailable(f"{self.describe()}: closed")
        try:
            cap = self._new_capture(timeout_s)
        except cv2.error as e:
            raise SourceUnavailable(f"{self.describe()}: {e}") from None
        if not cap.isOpened():
            cap.release()
            if self._spec.kind in ("rtsp", "http") and probe_auth_required(
                self._target(), timeout_s=min(timeout_s, 3.0)
            ):
                raise AuthFailed(f"{self.describe()}: the server refused the credentials (401)")
            raise SourceUnavailable(f"{self.describe()}: cannot open")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 0.5 <= fps <= 240.0 else None
        self._next_t = None
        with self._lock:
            if self._closed.is_set():
                cap.release()
                raise SourceUnavailable(f"{self.describe()}: closed")
            self._cap = cap

    # -- read ---------------------------------------------------------------
    def read(self, timeout_s: float) -> BGRImage | None:
        with self._lock:
            cap = self._cap
            if cap is None or self._closed.is_set():
                return None
            self._in_read = True
        try:
            if self._spec.kind == "file" and not self._pace(timeout_s):
                return None
            img = self._read_once(cap)
            if img is None and self._loop and not self._closed.is_set():
                img = self._rewind_and_read(cap)
            return img
        finally:
            with self._lock:
                self._in_read = False
                if self._closed.is_set() and self._cap is not None:
                    self._cap.release()
                    self._cap = None

    def _pace(self, timeout_s: float) -> bool:
        """Waits until the file's next frame is due; False when closed meanwhile."""
        if self._fps is None:
            return not self._closed.is_set()
        interval = 1.0 / self._fps
        now = self._clock()
        if self._next_t is None or now - self._next_t > interval:
            self._next_t = now
        delay = min(self._next_t - now, timeout_s)
        self._next_t += interval
        if delay > 0:
            return not self._closed.wait(delay)
        return not self._closed.is_set()

    @staticmethod
    def _read_once(cap: cv2.VideoCapture) -> BGRImage | None:
        try:
            ok, img = cap.read()
        except cv2.error:
            return None  # a decoder error ends this connection; the worker reconnects
        if not ok or img is None or img.size == 0:
            return None
        return np.asarray(img, dtype=np.uint8)

    def _rewind_and_read(self, cap: cv2.VideoCapture) -> BGRImage | None:
        if cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
            img = self._read_once(cap)
            if img is not None:
                return img
        # Seeking failed (some containers): reopen from the start.
        try:
            fresh = self._new_capture(5.0)
        except (cv2.error, SourceError):
            return None
        if not fresh.isOpened():
            fresh.release()
            return None
        with self._lock:
            if self._closed.is_set():
                fresh.release()
                return None
            self._cap = fresh
        cap.release()
        return self._read_once(fresh)

    # -- close --------------------------------------------------------------
    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._in_read or self._cap is None:
                return  # the reading thread releases it when OpenCV returns
            cap, self._cap = self._cap, None
        cap.release()


# --------------------------------------------------------------------------- auth probe


def probe_auth_required(url: str, *, timeout_s: float = 3.0) -> bool:
    """True when an RTSP/HTTP server answers 401 to the URL's credentials.

    Used only after OpenCV failed to open the stream, to tell "wrong password"
    from "unreachable". HTTP sends the credentials as Basic auth; RTSP sends a
    plain DESCRIBE (no digest implementation here), so a server that requires
    auth at all answers 401: since OpenCV's own authenticated attempt just
    failed, wrong credentials are the likely cause. Any error means "don't
    know" (False).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            return False
        scheme = parts.scheme.lower()
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        if scheme in ("http", "https"):
            conn_cls = (
                http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            )
            conn = conn_cls(host, parts.port, timeout=timeout_s)
            headers = {"User-Agent": "rtcc-wall"}
            if parts.username is not None:
                cred = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
                headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
            try:
                conn.request("GET", path, headers=headers)
                return conn.getresponse().status == 401
            finally:
                conn.close()
        if scheme in ("rtsp", "rtsps"):
            if scheme == "rtsps":
                return False  # would need TLS; leave it to the later RTSP hardening
            clean = f"rtsp://{host}:{parts.port or 554}{path}"
            req = f"DESCRIBE {clean} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"
            with socket.create_connection((host, parts.port or 554), timeout=timeout_s) as s:
                s.sendall(req.encode())
                status = s.recv(256).split(b"\r\n", 1)[0].split()
            return len(status) >= 2 and status[1] == b"401"
    except (OSError, http.client.HTTPException, ValueError):
        return False
    return False


# --------------------------------------------------------------------------- PyAV

#: The fast open measured here: first frame after ~0.09 s instead of ~1.2 s with
#: default probing. ``flags=low_delay`` keeps the decoder from holding frames back;
#: ``av.open(options=...)`` hands it to the decoders too, which is where it belongs.
#:
#: Deliberately NOT ``fflags=nobuffer``: it makes ffmpeg throw away the packets it
#: read while probing -- the key frame. Measured against a local gst RTSP server
#: (1 s GOP): first frame after 1.17 s with it, 0.17 s without; on a file it drops
#: the whole first GOP at every open and loop. It changes nothing after the open.
FAST_PROBE_OPTIONS: dict[str, str] = {
    "probesize": "32",
    "analyzeduration": "0",
    "flags": "low_delay",
}

RtspTransport = Literal["tcp", "udp"]

#: Called with every compressed video packet before it is decoded (see PyAVSource).
PacketHook = Callable[["av.Packet"], None]

#: ``av.open`` or a stand-in with its signature (tests inject failures with it).
Opener = Callable[..., "InputContainer"]

_libav_lock = threading.Lock()
_libav_routed = False
_libav_log = logging.getLogger("rtcc_wall.video.libav")


class _RedactingForwarder(logging.Handler):
    """Receives PyAV's ``libav.*`` records and re-logs them redacted under our logger.

    ffmpeg names the URL, password included, in its messages ("Connection to
    tcp://... failed", "... 'rtsp://user:pw@...'"); the ``libav`` logger is cut
    off from the root logger so that no unredacted record reaches any handler.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = redact(record.getMessage())
        except Exception:  # noqa: BLE001 - boundary: a log line must never break decoding
            return
        # INFO at most: ffmpeg's errors are repeated in our exceptions, and Python's
        # last-resort handler would otherwise print WARNING+ to a bare console.
        _libav_log.log(min(record.levelno, logging.INFO), "%s: %s", record.name, msg)


def route_libav_logs() -> None:
    """Sends ffmpeg's log lines (ERROR and worse) through Python logging, redacted.

    Process-global and idempotent; called by every PyAV open. The lines flow
    only while a container is being opened or an export's MP4 written
    (``avio.libav_log_capture``; an export captures its own lines): ERROR
    is enough for PyAV to add ffmpeg's last error line to its exceptions, and
    while frames flow PyAV's log callback would take the GIL for every ffmpeg
    message, even the ones it drops.
    """
    global _libav_routed
    with _libav_lock:
        if _libav_routed:
            return
        libav = logging.getLogger("libav")
        libav.propagate = False
        libav.setLevel(logging.DEBUG)
        libav.addHandler(_RedactingForwarder())
        _libav_routed = True


def av_error_reason(e: av.error.FFmpegError, lines: Sequence[str] | None = None) -> str:
    """ffmpeg's reason for ``e`` and its last error line, without repeating the URL; redacted.

    ``lines``: the error lines the failing thread captured itself, to take the
    last of instead of the line PyAV attached (PyAV keeps one "last error
    line" for the whole process, whichever thread logged it).
    """
    reason = e.strerror or type(e).__name__
    line = ""
    if lines is not None:
        line = next((x.strip() for x in reversed(lines) if x.strip()), "")
    else:
        entry: object = getattr(e, "log", None)  # (level, name, message) when logs are routed
        if isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[2], str):
            line = entry[2].strip()
    if line and line not in reason:
        reason += f" ({line})"
    return redact(reason)


class _RetryOpen(Exception):
    """The open failed in a way that a slower, default probe may fix."""

    def __init__(self, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


class PyAVSource:
    """rtsp / rtsps / http(s) (MJPEG and other streams) / files through PyAV.

    Why PyAV (ARCHITECTURE "Live video, measured here"): ``av.open`` takes an
    open *and* a read timeout (a frozen server raised after ~6 s; OpenCV
    returned after 90 s by default), it tells why an open failed (401/403 are
    their own exceptions, for RTSP as well as HTTP), and it exposes the
    compressed packets, which a replay ring can keep at bitrate cost.

    * **Latency.** One decode thread, no frame threading: each frame thread
      delays output by a frame (measured: FRAME/AUTO threading held 1-2 frames
      back, SLICE none). ``thread_count=1`` also means ffmpeg never logs from a
      thread of its own, so the log callback cannot contend for the GIL with
      a close on another thread.
    * **Fast open, with a fallback.** ``FAST_PROBE_OPTIONS`` first; if that
      open fails with bad data, finds no video stream or no picture size, it
      is retried once with default probing (some streams need it). An attempt
      that used up its whole timeout is not retried: that is a dead server,
      and a second wait would only double the time to "offline". Which probe
      worked is logged and kept in ``probe_mode``.
    * **MJPEG.** ffmpeg's HTTP layer hands the server's Content-Type to format
      detection, so ``multipart/x-mixed-replace`` selects the ``mpjpeg``
      demuxer by itself (checked against a local MJPEG server); should
      detection still fail on an HTTP stream, it is retried as ``mpjpeg``.
    * **Display size.** ``read()`` returns a BGRA picture already fitted into
      ``display_box`` (set by the worker before each read, None = full size),
      via ``decode.frame_to_display`` -- shrinking the YUV planes before the
      colour conversion. Every returned array is new (the caller owns it).
    * **Files** play at their own pace (frame timestamps) and loop (seek to
      the start, or reopen when the container cannot seek).
    * **Read timeout without the GIL.** PyAV's own read timeout takes the GIL
      on every ffmpeg poll (~40 times a frame); with the real ``av.open`` the
      read deadline is kept from outside instead (``avio.ReadDeadline``, one
      watch thread for all cameras), and ffmpeg's log lines reach Python only
      while opening (``avio.libav_log_capture``). An injected ``opener``, or a
      PyAV whose objects are laid out differently, gets PyAV's timeout.
    * **Packets.** ``on_packet`` (optional; the worker sets it to fill the
      camera's replay ring, ``replay.PacketFeeder``) is called on the reading
      thread with every compressed video packet before it is decoded (its
      ``packet.stream`` gives the codec facts). It must
      be quick and must not keep the packet's buffer beyond what it copies
      (``bytes(packet)``); an exception in it is logged once and ignored.

    ``close()`` from another thread never frees the container while ``read()``
    is inside ffmpeg: it makes ffmpeg give up at its next poll (~0.1 s; within
    the read timeout with PyAV's timeout) and the reading thread closes it
    when the call returns. Every message is redacted.
    """

    def __init__(
        self,
        spec: StreamSpec,
        *,
        transport: str = "tcp",
        loop: bool = False,
        read_timeout_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        on_packet: PacketHook | None = None,
        opener: Opener | None = None,
        max_decode_errors: int = 50,
    ) -> None:
        if spec.kind not in ("file", "rtsp", "http"):
            raise Unsupported(f"{spec.display}: PyAV source cannot open {spec.kind!r} sources")
        if transport not in ("tcp", "udp"):
            raise Unsupported(f"{spec.display}: RTSP transport must be tcp or udp")
        self._spec = spec
        self._transport = transport
        self._loop = loop
        self._read_timeout_s = read_timeout_s
        self._clock = clock
        self.on_packet = on_packet
        self._opener: Opener = opener if opener is not None else av.open
        self._max_decode_errors = max_decode_errors
        #: (w, h) the next picture is fitted into; None keeps the source size.
        self.display_box: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._container: InputContainer | None = None
        self._stream: VideoStream | None = None
        self._packets: Iterator[av.Packet] | None = None
        self._pending: deque[av.VideoFrame] = deque()
        self._in_read = False
        self._fps: float | None = None
        self._codec: str | None = None
        self._source_size: tuple[int, int] | None = None
        self._probe_mode: str | None = None
        self._hook_failed = False
        # Read deadlines kept from outside (avio.ReadDeadline) instead of PyAV's read
        # timeout, which takes the GIL on every ffmpeg poll; only with the real av.open.
        self._use_deadline = opener is None and avio.deadlines_supported()
        self._deadline: ReadDeadline | None = None
        # when the packet read now inside ffmpeg began (None: not in one); with the lock,
        # the watch never arms a deadline for a read that has already ended
        self._read_since: float | None = None
        self._deadline_lock = threading.Lock()
        # file pacing
        self._due: float | None = None
        self._prev_time: float | None = None

    # -- facts ---------------------------------------------------------------
    @property
    def nominal_fps(self) -> float | None:
        return self._fps

    @property
    def source_size(self) -> tuple[int, int] | None:
        """(w, h) of the last decoded picture (before fitting), or of the stream after open."""
        return self._source_size

    @property
    def codec_name(self) -> str | None:
        return self._codec

    @property
    def transport(self) -> str:
        """RTSP transport asked of ffmpeg: "tcp" or "udp" (unused by other kinds)."""
        return self._transport

    @property
    def probe_mode(self) -> str | None:
        """Which open worked: "fast", "default" or "mpjpeg"; None before open."""
        return self._probe_mode

    def describe(self) -> str:
        return f"{self._spec.kind} {redact(self._spec.url)}"

    # -- open ----------------------------------------------------------------
    def _target(self) -> str:
        try:
            if self._spec.kind == "file":
                path = self._spec.path
                if self._spec.url.lower().startswith("file://"):
                    path = unquote(path)  # Path.as_uri() percent-encodes spaces etc.
                return expand_env(path)
            return expand_env(self._spec.url)
        except KeyError as e:
            raise MissingVariable(str(e.args[0])) from None

    def _attempts(self) -> list[tuple[str, dict[str, str], str | None]]:
        base: dict[str, str] = {}
        if self._spec.kind == "rtsp":
            base["rtsp_transport"] = self._transport
        return [("fast", {**base, **FAST_PROBE_OPTIONS}, None), ("default", base, None)]

    def open(self, timeout_s: float) -> None:
        if self._closed.is_set():
            raise SourceUnavailable(f"{self.describe()}: closed")
        target = self._target()
        if self._spec.kind == "file" and not Path(target).is_file():
            raise SourceUnavailable(f"{self.describe()}: file not found")
        route_libav_logs()
        with libav_log_capture():
            self._open_attempts(target, timeout_s)

    def _open_attempts(self, target: str, timeout_s: float) -> None:
        attempts = self._attempts()
        failures: list[str] = []
        retry_as_mpjpeg = False
        i = 0
        while i < len(attempts):
            mode, options, fmt = attempts[i]
            i += 1
            try:
                container, stream = self._open_once(target, options, fmt, timeout_s)
            except _RetryOpen as e:
                failures.append(f"{mode} probe: {e.reason}")
                log.debug("%s: %s probe failed: %s", self.describe(), mode, redact(e.reason))
                if isinstance(e.cause, av.error.InvalidDataError) and self._spec.kind == "http":
                    retry_as_mpjpeg = True
                if i == len(attempts) and retry_as_mpjpeg and fmt is None:
                    attempts.append(("mpjpeg", attempts[-1][1], "mpjpeg"))
                continue
            self._probe_mode = mode
            log.info("%s: opened with %s probing", self.describe(), mode)
            self._adopt(container, stream)
            return
        if self._spec.kind == "file":
            raise Unsupported(f"{self.describe()}: cannot read: {'; '.join(failures)}")
        raise SourceUnavailable(f"{self.describe()}: cannot open: {'; '.join(failures)}")

    def _open_once(
        self, target: str, options: dict[str, str], fmt: str | None, timeout_s: float
    ) -> tuple[InputContainer, VideoStream]:
        """One ``av.open`` with the given probing; raises SourceError or ``_RetryOpen``."""
        t0 = self._clock()
        deadline = self._use_deadline
        try:
            container = self._opener(
                target,
                format=fmt,
                options=options,
                timeout=(max(0.1, timeout_s), None if deadline else max(0.1, self._read_timeout_s)),
            )
        except av.error.FFmpegError as e:
            timed_out = self._clock() - t0 >= 0.9 * timeout_s
            raise self._open_error(e, timed_out) from None
        if deadline and not ReadDeadline(container).usable:
            # this PyAV lays its objects out differently: PyAV's own read timeout it is
            log.warning(
                "%s: cannot keep read deadlines with this PyAV; using its read timeout "
                "(costs more CPU with many cameras)",
                self.describe(),
            )
            container.close()
            avio.mark_deadlines_unsupported()  # once for the process, not per camera and open
            self._use_deadline = False
            return self._open_once(target, options, fmt, timeout_s)
        try:
            streams = list(container.streams.video)
            if not streams:
                raise _RetryOpen("no video stream")
            stream = streams[0]
            cc = stream.codec_context
            if not cc.width or not cc.height:
                raise _RetryOpen("picture size unknown")
        except BaseException:
            container.close()
            raise
        return container, stream

    def _open_error(self, e: av.error.FFmpegError, timed_out: bool) -> SourceError | _RetryOpen:
        """Maps an ``av.open`` failure to what the supervisor should do about it."""
        what = f"{self.describe()}: {av_error_reason(e)}"
        if isinstance(e, av.error.HTTPUnauthorizedError):
            if urlsplit(self._spec.url).username is None:
                return AuthFailed(f"{self.describe()}: the server wants a user and password (401)")
            return AuthFailed(f"{self.describe()}: the server refused the credentials (401)")
        if isinstance(e, av.error.HTTPForbiddenError):
            return AuthFailed(f"{self.describe()}: access forbidden for this user (403)")
        if isinstance(
            e,
            av.error.DecoderNotFoundError
            | av.error.DemuxerNotFoundError
            | av.error.ProtocolNotFoundError
            | av.error.PatchWelcomeError,
        ):
            return Unsupported(f"{what} (not supported by this ffmpeg build)")
        if timed_out or isinstance(e, av.error.ExitError):
            return SourceUnavailable(f"{self.describe()}: no answer (timed out)")
        if isinstance(e, OSError | av.error.HTTPError):
            return SourceUnavailable(what)  # refused, unreachable, not found, HTTP 404/5xx ...
        return _RetryOpen(av_error_reason(e), e)  # bad data, odd stream: default probing may help

    @staticmethod
    def _set_up_decoder(stream: VideoStream) -> None:
        """No frame threads: each adds a frame of delay. One thread per camera.

        Otherwise ffmpeg's defaults, on purpose: no "showall"/"output_corrupt",
        so a stream joined mid-GOP yields no picture until its next key frame
        (P-frames whose references never came would decode to smeared garbage).
        Packets keep coming meanwhile, so the read deadline does not fire
        (test_faults: mid-GOP).
        """
        stream.thread_type = "SLICE"
        stream.codec_context.thread_count = 1

    def _adopt(self, container: InputContainer, stream: VideoStream) -> None:
        self._set_up_decoder(stream)
        cc = stream.codec_context
        self._codec = cc.name
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        self._fps = fps if 0.5 <= fps <= 240.0 else None
        self._source_size = (int(cc.width), int(cc.height))
        self._due = self._prev_time = None
        with self._lock:
            if self._closed.is_set():
                container.close()
                raise SourceUnavailable(f"{self.describe()}: closed")
            self._container = container
            self._stream = stream
            self._packets = container.demux(stream)
            self._pending.clear()
            self._deadline = self._new_deadline(container)
        if self._deadline is not None:
            WATCH.add(self)

    def _new_deadline(self, container: InputContainer) -> ReadDeadline | None:
        """The deadline of a container opened without PyAV's read timeout (checked in open)."""
        if not self._use_deadline:
            return None
        deadline = ReadDeadline(container)
        if not deadline.usable:  # cannot happen after _open_once's check; never read unbounded
            raise SourceUnavailable(f"{self.describe()}: read deadline unavailable")
        return deadline

    # -- read ----------------------------------------------------------------
    def read(self, timeout_s: float) -> BGRImage | None:
        """The next picture as BGRA fitted into ``display_box``; None at end or after close.

        Raises ``SourceUnavailable`` when the stream fails (read timeout, too
        many undecodable packets in a row).
        """
        with self._lock:
            container = self._container
            if container is None or self._closed.is_set():
                return None
            self._in_read = True
        try:
            frame = self._next_frame()
            if frame is None and self._loop and not self._closed.is_set():
                frame = self._rewind_and_next()
            if frame is None or self._closed.is_set():
                return None
            # Shrink while the decoder's picture is still in this core's cache, then wait
            # for a file frame's due time (converting after the wait cost 2x more here).
            self._source_size = (int(frame.width), int(frame.height))
            picture = frame_to_display(frame, self.display_box)
            if self._spec.kind == "file" and not self._pace(frame, timeout_s):
                return None
            return picture
        finally:
            with self._lock:
                self._in_read = False
                closed = self._closed.is_set()
                if closed:
                    self._release_locked()
            if closed:
                WATCH.discard(self)

    def _next_frame(self) -> av.VideoFrame | None:
        """Demuxes and decodes until a frame comes out; None at the end of the stream."""
        stream, packets = self._stream, self._packets
        if stream is None or packets is None:
            return None
        errors = 0
        live = self._spec.kind != "file"
        while not self._closed.is_set():
            if self._pending:
                return self._pending.popleft()
            t0 = self._clock()
            self._packet_read_starts(t0)
            try:
                packet = next(packets)
            except StopIteration:
                return None
            except av.error.ExitError:
                raise SourceUnavailable(
                    f"{self.describe()}: no data for {self._read_timeout_s:g} s (read timeout)"
                ) from None
            except av.error.EOFError:
                return None
            except av.error.FFmpegError as e:
                raise SourceUnavailable(
                    f"{self.describe()}: read failed: {av_error_reason(e)}"
                ) from None
            finally:
                self._packet_read_ended()
            if live and self._clock() - t0 >= 0.98 * self._read_timeout_s:
                # The read timed out, and ffmpeg's RTP depacketizer handed out the frame it
                # was still holding (measured through a freezing proxy: the last frame from
                # before the freeze, 3 s late). Old news is not a live picture.
                raise SourceUnavailable(
                    f"{self.describe()}: no data for {self._read_timeout_s:g} s (read timeout)"
                )
            if not packet.size and live:
                # The empty packet at the end would drain frames the decoder still holds:
                # for a live stream that ended (often: a read that timed out on a frozen
                # server) they are old, and must not make the camera look live again.
                continue
            if packet.size and self.on_packet is not None:
                self._call_hook(packet)
            try:
                # for a file, the empty packet at the end drains the decoder's last frames
                frames = packet.decode()
            except av.error.FFmpegError as e:
                errors += 1  # a damaged packet (lost UDP data): skip it, the next key frame heals
                if errors >= self._max_decode_errors:
                    why = av_error_reason(e)
                    raise SourceUnavailable(
                        f"{self.describe()}: {errors} undecodable packets in a row: {why}"
                    ) from None
                continue
            errors = 0
            self._pending.extend(f for f in frames if isinstance(f, av.VideoFrame))
        return None

    def _call_hook(self, packet: av.Packet) -> None:
        hook = self.on_packet
        if hook is None:
            return
        try:
            hook(packet)
        except Exception as e:  # noqa: BLE001 - boundary: a replay-buffer bug must not stop live video
            if not self._hook_failed:
                self._hook_failed = True
                log.warning("%s: on_packet failed: %s", self.describe(), redact(repr(e)))

    def _rewind_and_next(self) -> av.VideoFrame | None:
        """Loops a file: seek to the start, or reopen when the container cannot seek."""
        container, stream = self._container, self._stream
        if container is None or stream is None:
            return None
        try:
            container.seek(0, stream=stream)  # also flushes the decoder
            self._packets = container.demux(stream)
            self._pending.clear()
            frame = self._next_frame()
            if frame is not None:
                return frame
        except av.error.FFmpegError as e:
            log.debug("%s: seek failed (%s); reopening", self.describe(), av_error_reason(e))
        try:
            fresh, fresh_stream = self._open_once(self._target(), {}, None, 5.0)
        except (_RetryOpen, SourceError):
            return None
        with self._lock:
            if self._closed.is_set():
                fresh.close()
                return None
            old = self._container
            self._container, self._stream = fresh, fresh_stream
            self._packets = fresh.demux(fresh_stream)
            self._pending.clear()
            self._deadline = self._new_deadline(fresh)
        self._set_up_decoder(fresh_stream)
        if old is not None:
            old.close()
        return self._next_frame()

    def _pace(self, frame: av.VideoFrame, timeout_s: float) -> bool:
        """Waits until a file's frame is due (its timestamps); False when closed meanwhile.

        A jump back (the loop restarted) or a missing timestamp steps by one
        nominal frame; a reader that fell behind restarts the schedule from
        now instead of catching up with a burst.
        """
        now = self._clock()
        t = frame.time
        default_step = 1.0 / self._fps if self._fps else 0.0
        if self._due is None:
            due = now
        else:
            step = default_step
            if t is not None and self._prev_time is not None and 0.0 < t - self._prev_time <= 1.0:
                step = t - self._prev_time
            due = self._due + step
            if now - due > max(step, 0.05):
                due = now  # fell behind: no catching up
        self._due, self._prev_time = due, t
        delay = min(due - now, timeout_s)
        if delay > 0:
            return not self._closed.wait(delay)
        return not self._closed.is_set()

    # -- close ---------------------------------------------------------------
    def _release_locked(self) -> None:
        container, self._container = self._container, None
        self._deadline = None
        self._stream = None
        self._packets = None
        self._pending.clear()
        if container is not None:
            try:
                container.close()
            except av.error.FFmpegError as e:
                log.debug("%s: close failed: %s", self.describe(), av_error_reason(e))

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._in_read:
                # ends a read blocked in ffmpeg at its next poll (~0.1 s); the reading
                # thread closes the container when ffmpeg returns
                if self._deadline is not None:
                    self._deadline.abort()
                return
            self._release_locked()
        WATCH.discard(self)

    def _packet_read_starts(self, now: float) -> None:
        deadline = self._deadline
        with self._deadline_lock:
            self._read_since = now
            if deadline is not None and not self._closed.is_set():
                deadline.disarm()  # an abort meant for an earlier read ends here

    def _packet_read_ended(self) -> None:
        with self._deadline_lock:
            self._read_since = None

    def check_deadline(self) -> None:
        """Called by ``avio.WATCH`` every 0.1 s: makes ffmpeg give up an overdue packet read.

        Like PyAV's own read timeout, the deadline is per packet read: a stream
        whose first picture waits for a key frame several seconds away is not
        a stream that stopped.
        """
        with self._deadline_lock:
            since, deadline = self._read_since, self._deadline
            if since is None or deadline is None:
                return
            if self._closed.is_set() or self._clock() - since > self._read_timeout_s:
                deadline.abort()


# --------------------------------------------------------------------------- factory


def make_source(
    camera: Camera,
    spec: StreamSpec,
    *,
    sim_world_provider: Callable[[], SimWorld] | None,
    width: int,
    height: int,
    on_packet: PacketHook | None = None,
) -> FrameSource:
    """The source for ``spec``.

    ``width``/``height`` are the render size of a sim camera whose URL does not
    give one (``parse_stream_url`` fills in the defaults, so the URL usually
    wins). Files loop (demo clips, training rooms); live kinds do not.
    rtsp/http/file go through PyAV (timeouts, auth errors, packets, no frame
    threads); ``device://`` stays on OpenCV, whose V4L2/DirectShow/AVFoundation
    backends need no ffmpeg device names. ``on_packet`` is passed to PyAV
    sources (see ``PyAVSource``).
    """
    if spec.kind == "sim":
        if sim_world_provider is None:
            raise Unsupported(f"{spec.display}: sim:// cameras need a road network")
        return SimSource(
            sim_world_provider(),
            camera,
            spec.params.get("width", width),
            spec.params.get("height", height),
            spec.params.get("fps", 12),
        )
    if spec.kind == "file":
        return PyAVSource(spec, loop=True, on_packet=on_packet)
    if spec.kind in ("rtsp", "http"):
        return PyAVSource(spec, transport=camera.transport, on_packet=on_packet)
    if spec.kind == "device":
        return OpenCVSource(spec, loop=False)
    raise Unsupported(f"{spec.display}: unsupported stream kind {spec.kind!r}")
