"""An MJPEG-over-HTTP camera in a thread of the test process (stdlib ``http.server``).

Why in-process: a thread is enough for a multipart stream, starts in
milliseconds, and lets a test switch the camera's behaviour while clients are
connected (``mode``), which is how real cheap IP cameras misbehave:

* ``normal``  -- ``multipart/x-mixed-replace`` JPEG parts at ``fps``;
* ``stall``   -- keep every connection open and send nothing more (frozen camera);
* ``one``     -- send each connection one JPEG part, then nothing more (a camera that
  froze right after its first picture);
* ``garbage`` -- random bytes instead of multipart JPEG parts;
* ``auth``    -- require Basic auth (``user``/``password``), 401 otherwise, then normal.

Each frame shows its number (a counter per connection), drawn with cv2.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import cv2
import numpy as np

Mode = Literal["normal", "stall", "garbage", "auth", "one"]
MODES: tuple[Mode, ...] = ("normal", "stall", "garbage", "auth", "one")
BOUNDARY = "rtccframe"


def numbered_jpeg(n: int, width: int, height: int, quality: int = 80) -> bytes:
    """A JPEG picture with ``n`` drawn large, over a colour that changes with ``n``."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:, :] = ((n * 7) % 256, 80, (255 - n * 5) % 256)
    cv2.putText(
        img, str(n), (width // 8, height * 2 // 3), cv2.FONT_HERSHEY_SIMPLEX,
        height / 90, (255, 255, 255), max(1, height // 60),
    )  # fmt: skip
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("cv2.imencode failed")
    return buf.tobytes()


class MjpegServer:
    """See the module docstring. ``start()`` binds a free port on 127.0.0.1."""

    def __init__(
        self,
        *,
        fps: float = 15.0,
        width: int = 320,
        height: int = 180,
        user: str = "viewer",
        password: str = "s3cret-pw",
        path: str = "/video.mjpg",
        host: str = "127.0.0.1",
        mode: Mode = "normal",
    ) -> None:
        self.fps = fps
        self.width = width
        self.height = height
        self.user = user
        self.password = password
        self.path = path
        self.host = host
        self._mode: Mode = mode
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._mode_changed = threading.Condition(self._lock)
        self.requests = 0  # HTTP requests served (connection attempts by clients)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control
    @property
    def mode(self) -> Mode:
        with self._lock:
            return self._mode

    @mode.setter
    def mode(self, value: Mode) -> None:
        if value not in MODES:
            raise ValueError(f"unknown mode {value!r}; expected one of {MODES}")
        with self._lock:
            self._mode = value
            self._mode_changed.notify_all()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("MjpegServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return self.url_with()

    def url_with(self, user: str | None = None, password: str | None = None) -> str:
        """The stream URL, optionally with credentials in it."""
        cred = ""
        if user is not None:
            cred = f"{user}:{password or ''}@"
        return f"http://{cred}{self.host}:{self.port}{self.path}"

    def start(self) -> MjpegServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Quiet: the test output is not the place for access logs."""

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server._serve(self)

        self._stopped.clear()
        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
            name="mjpeg-server", daemon=True,
        )  # fmt: skip
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops accepting and ends every open stream (within one frame interval)."""
        self._stopped.set()
        with self._lock:
            self._mode_changed.notify_all()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(5.0)

    def __enter__(self) -> MjpegServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ serving
    def _authorized(self, req: BaseHTTPRequestHandler) -> bool:
        want = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return req.headers.get("Authorization", "") == f"Basic {want}"

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
        if req.path.split("?", 1)[0] != self.path:
            req.send_error(404)
            return
        if self.mode == "auth" and not self._authorized(req):
            req.send_response(401)
            req.send_header("WWW-Authenticate", 'Basic realm="camera"')
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        req.send_response(200)
        req.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        req.send_header("Cache-Control", "no-cache")
        req.send_header("Connection", "close")
        req.end_headers()
        try:
            self._stream(req)
        except OSError:
            return  # the client went away

    def _stream(self, req: BaseHTTPRequestHandler) -> None:
        interval = 1.0 / self.fps
        n = 0
        next_t = time.monotonic()
        while not self._stopped.is_set():
            mode = self.mode
            if mode == "stall" or (mode == "one" and n >= 1):
                with self._lock:
                    self._mode_changed.wait_for(
                        lambda m=mode: self._mode != m or self._stopped.is_set(), 1.0
                    )
                next_t = time.monotonic()
                continue
            if mode == "garbage":
                req.wfile.write(os.urandom(4096))
            else:
                jpg = numbered_jpeg(n, self.width, self.height)  # ~0.3 ms at 320x180
                req.wfile.write(
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpg)}\r\n\r\n".encode()
                    + jpg
                    + b"\r\n"
                )
            req.wfile.flush()
            n += 1
            next_t += interval
            delay = next_t - time.monotonic()
            if delay < -interval:
                next_t = time.monotonic()  # fell behind (slow client): no burst
            elif delay > 0:
                self._stopped.wait(delay)
