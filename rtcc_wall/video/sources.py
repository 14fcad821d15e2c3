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
``expand_env``.

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
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.redact import expand_env, redact
from rtcc_wall.core.streams import StreamSpec
from rtcc_wall.video.frames import BGRImage

if TYPE_CHECKING:
    from rtcc_wall.video.sim import SimCamera, SimWorld


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
        """The next BGR frame, or None at end of stream / on failure / after close."""

    def close(self) -> None:
        """Idempotent; safe from another thread while ``read`` blocks."""

    def describe(self) -> str:
        """A redacted one-line description for messages."""


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


# --------------------------------------------------------------------------- factory


def make_source(
    camera: Camera,
    spec: StreamSpec,
    *,
    sim_world_provider: Callable[[], SimWorld] | None,
    width: int,
    height: int,
) -> FrameSource:
    """The source for ``spec``.

    ``width``/``height`` are the render size of a sim camera whose URL does not
    give one (``parse_stream_url`` fills in the defaults, so the URL usually
    wins). Files loop (demo clips); live kinds do not.
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
        return OpenCVSource(spec, loop=True)
    if spec.kind in ("rtsp", "http", "device"):
        return OpenCVSource(spec, loop=False)
    raise Unsupported(f"{spec.display}: unsupported stream kind {spec.kind!r}")
