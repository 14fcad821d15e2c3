"""Controls the gst-rtsp-server child process (``rtsp_server.py``) from the test suite.

Why a child of ``/usr/bin/python3``: the GObject bindings for gst-rtsp-server
are Debian packages for the system Python; the project's interpreter cannot
import them. The port is chosen once, up front, so that ``restart()`` brings
the server back at the same URL (as a rebooted camera would).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("rtsp_server.py")
READY_TIMEOUT_S = 15.0


def gst_rtsp_available() -> tuple[bool, str]:
    """(True, "") when the system Python can import GstRtspServer 1.0; else (False, why)."""
    check = "import gi; gi.require_version('GstRtspServer', '1.0')"
    try:
        res = subprocess.run(
            [SYSTEM_PYTHON, "-c", check], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"{SYSTEM_PYTHON} not usable: {e}"
    if res.returncode != 0:
        tail = res.stderr.strip().splitlines()[-1:] or ["?"]
        return False, (
            f"{SYSTEM_PYTHON} cannot import GstRtspServer 1.0 ({tail[0]}); install "
            "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{good,bad,ugly}"
        )
    return True, ""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class RtspServerError(RuntimeError):
    """The RTSP server child did not come up; the message carries its stderr."""


class RtspServer:
    """One gst-rtsp-server child process serving ``mounts`` and ``live_mounts``.

    ``mounts`` maps a mount path to an MP4 file (served looped, not
    re-encoded, each client from its first frame); ``join_mounts`` likewise,
    but as a camera that has been sending since the server started (a client
    joins wherever it is: mid-GOP); ``live_mounts`` maps a path to
    ``"WxH@FPS"`` (a live x264 test pattern); ``stamp_mounts`` likewise, to
    live frames that show their send time as a barcode
    (``benchmarks/latency.py``). ``auth`` = (user, password) requires Basic
    auth everywhere.
    """

    def __init__(
        self,
        mounts: dict[str, Path] | None = None,
        live_mounts: dict[str, str] | None = None,
        *,
        auth: tuple[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        stamp_mounts: dict[str, str] | None = None,
        join_mounts: dict[str, Path] | None = None,
    ) -> None:
        self.mounts = dict(mounts or {})
        self.live_mounts = dict(live_mounts or {})
        self.stamp_mounts = dict(stamp_mounts or {})
        self.join_mounts = dict(join_mounts or {})
        self.auth = auth
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_lines: list[str] = []
        self._stderr_thread: threading.Thread | None = None
        self._last_rc: int | None = None

    # ------------------------------------------------------------------ urls
    def url(
        self, mount: str = "/cam", *, user: str | None = None, password: str | None = None
    ) -> str:
        """``rtsp://[user:password@]host:port/mount`` (credentials percent-encoded)."""
        cred = ""
        if user is not None:
            cred = quote(user, safe="")
            if password is not None:
                cred += ":" + quote(password, safe="")
            cred += "@"
        if not mount.startswith("/"):
            mount = "/" + mount
        return f"rtsp://{cred}{self.host}:{self.port}{mount}"

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _command(self) -> list[str]:
        cmd = [SYSTEM_PYTHON, "-u", str(SCRIPT), "--port", str(self.port), "--host", self.host]
        for path, file in self.mounts.items():
            cmd += ["--mount", f"{path}={file}"]
        for path, spec in self.live_mounts.items():
            cmd += ["--live-mount", f"{path}={spec}"]
        for path, file in self.join_mounts.items():
            cmd += ["--join-mount", f"{path}={file}"]
        for path, spec in self.stamp_mounts.items():
            cmd += ["--stamp-mount", f"{path}={spec}"]
        if self.auth is not None:
            cmd += ["--auth", f"{self.auth[0]}:{self.auth[1]}"]
        return cmd

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> RtspServer:
        """Starts the child and waits for its ``READY`` line; raises RtspServerError."""
        if self.running:
            return self
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._spawn_and_wait(deadline)
                return self
            except RtspServerError:
                # Only "cannot listen" (rc 2) is retried: the previous instance's socket
                # may linger for a moment after a kill. Anything else is a real failure.
                if self._last_rc != 2 or time.monotonic() + 0.5 >= deadline:
                    raise
                threading.Event().wait(0.2)

    def _spawn_and_wait(self, deadline: float) -> None:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # the project's packages are not for the system Python
        env.pop("PYTHONHOME", None)
        env.setdefault("GST_DEBUG", "1")
        self._stderr_lines = []
        proc = subprocess.Popen(
            self._command(),
            stdin=subprocess.PIPE,  # our end closing (we died) makes the child quit
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal is for pytest, not for it
        )
        self._proc = proc
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, args=(proc,), name="rtsp-stderr", daemon=True
        )
        self._stderr_thread.start()
        assert proc.stdout is not None
        line = b""
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    break
                chunk = os.read(proc.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
        if line.startswith(b"READY"):
            threading.Thread(
                target=self._drain_stdout, args=(proc,), name="rtsp-stdout", daemon=True
            ).start()
            return
        self._terminate(proc)
        self._last_rc = proc.returncode
        if self._stderr_thread is not None:
            self._stderr_thread.join(2.0)
        why = "timed out" if proc.returncode in (None, -signal.SIGTERM) else "exited"
        raise RtspServerError(
            f"RTSP server on port {self.port} {why} before READY "
            f"(rc={proc.returncode}); stderr:\n" + "".join(self._stderr_lines[-40:])
        )

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            self._stderr_lines.append(raw.decode(errors="replace"))
            del self._stderr_lines[:-200]

    @staticmethod
    def _drain_stdout(proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for _ in proc.stdout:
            pass

    @property
    def stderr(self) -> str:
        """The child's recent stderr (for failure messages)."""
        return "".join(self._stderr_lines)

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes], timeout_s: float = 5.0) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5.0)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            self._terminate(proc)

    def kill(self) -> None:
        """SIGKILL, like a crash or a power cut: clients see their connections reset."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait(5.0)
        self._terminate(proc)  # closes the pipes

    def restart(self, timeout_s: float = READY_TIMEOUT_S) -> RtspServer:
        """Stops (if running) and starts again on the same port."""
        self.stop()
        return self.start(timeout_s)

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
