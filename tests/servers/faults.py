"""Misbehaving network peers for the fault tests, in threads of the test process.

Why these three: they are the ways a camera fails that a worker must survive
without help from the operator.

* ``StallProxy`` -- a TCP proxy in front of a real server that can freeze:
  ``stall()`` stops forwarding in both directions but keeps every socket open
  (a camera whose encoder hung, a half-dead switch). For RTSP over TCP the
  media is interleaved in the same connection, so a stall freezes the
  picture. For RTSP over UDP only the control connection goes through the
  proxy; the RTP packets go straight from the server to the client, so a
  stall does *not* freeze the picture.
* ``GarbageServer`` -- answers every connection with random bytes (a wrong
  port, a device speaking another protocol).
* ``SilentServer`` -- accepts and never sends anything (a frozen server).

All of them listen on 127.0.0.1 with a port chosen by the OS, use one thread
per connection direction (a few dozen threads for 16 clients is fine here),
and ``close()`` closes every socket they own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

_CHUNK = 65536


def _close_quietly(sock: socket.socket) -> None:
    """Shuts a socket down both ways (waking its blocked readers), then closes it."""
    with contextlib.suppress(OSError):  # not connected any more
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class _Listener:
    """A listening socket with an accept thread; subclasses handle each connection."""

    name = "listener"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self.accepted = 0  # connections accepted so far
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind((host, 0))
        self._srv.listen(64)
        self.port = int(self._srv.getsockname()[1])
        self._spawn(self._accept_loop, f"{self.name}-accept")

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def url(self, scheme: str = "rtsp", path: str = "/cam") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    def _spawn(self, target: object, name: str, *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
        t.start()

    def _track(self, sock: socket.socket) -> bool:
        """Remembers a socket for ``close()``; False (and closes it) when already closed."""
        with self._lock:
            if not self._closed.is_set():
                self._sockets.add(sock)
                return True
        _close_quietly(sock)
        return False

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        _close_quietly(sock)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return  # listening socket closed
            with self._lock:
                self.accepted += 1
            if self._track(conn):
                self._spawn(self._handle, f"{self.name}-conn", conn)

    def _handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._sockets)

    def close(self) -> None:
        """Closes the listener and every connection; joins the threads briefly."""
        self._closed.set()
        _close_quietly(self._srv)
        with self._lock:
            socks, self._sockets = list(self._sockets), set()
            threads = list(self._threads)
        for s in socks:
            _close_quietly(s)
        for t in threads:
            if t is not threading.current_thread():
                t.join(2.0)

    def __enter__(self) -> _Listener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SilentServer(_Listener):
    """Accepts, reads and discards what the client sends, and never answers."""

    name = "silent-server"

    def _handle(self, conn: socket.socket) -> None:
        try:
            while conn.recv(_CHUNK):
                pass
        except OSError:
            pass
        finally:
            self._forget(conn)


class GarbageServer(_Listener):
    """Answers every connection with random bytes, ``chunk`` every ``interval_s``.

    It keeps sending (up to ``max_bytes``) rather than sending one burst and
    closing, so a client that waits for "the rest of the reply" gets more junk
    instead of a clean end of stream.
    """

    name = "garbage-server"

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        chunk: int = 4096,
        interval_s: float = 0.02,
        max_bytes: int = 4 << 20,
    ) -> None:
        self.chunk = chunk
        self.interval_s = interval_s
        self.max_bytes = max_bytes
        super().__init__(host)

    def _handle(self, conn: socket.socket) -> None:
        sent = 0
        try:
            while not self._closed.is_set() and sent < self.max_bytes:
                conn.sendall(os.urandom(self.chunk))
                sent += self.chunk
                if self._closed.wait(self.interval_s):
                    break
        except OSError:
            pass  # the client gave up
        finally:
            self._forget(conn)


class StallProxy(_Listener):
    """A TCP proxy to ``upstream_host:upstream_port`` that can freeze; see the module doc."""

    name = "stall-proxy"

    def __init__(self, upstream_host: str, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, int(upstream_port))
        self._flowing = threading.Event()
        self._flowing.set()
        super().__init__(host)

    # ------------------------------------------------------------------ control
    @property
    def stalled(self) -> bool:
        return not self._flowing.is_set()

    def stall(self) -> None:
        """Stops forwarding both ways; every socket stays open."""
        self._flowing.clear()

    def resume(self) -> None:
        """Forwards again, starting with what arrived during the stall."""
        self._flowing.set()

    def url_for(self, upstream_url: str) -> str:
        """``upstream_url`` with its host:port replaced by the proxy's (credentials kept)."""
        parts = urlsplit(upstream_url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@" if userinfo else ""
        netloc += f"{self.host}:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()  # wake the pumps so that they see the close
        super().close()

    # ------------------------------------------------------------------ pumping
    def _wait_flowing(self) -> bool:
        """Blocks while stalled; False when the proxy is closing."""
        while not self._flowing.wait(0.1):
            if self._closed.is_set():
                return False
        return not self._closed.is_set()

    def _handle(self, conn: socket.socket) -> None:
        try:
            up = socket.create_connection(self.upstream, timeout=5.0)
        except OSError:
            self._forget(conn)  # upstream down: the client sees a closed connection
            return
        up.settimeout(None)
        if not self._track(up):
            self._forget(conn)
            return
        self._spawn(self._pump, f"{self.name}-up", up, conn)
        self._pump(conn, up)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while self._wait_flowing():
                data = src.recv(_CHUNK)
                if not data or not self._wait_flowing():
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # One side ended: end both, as a real proxy would.
            self._forget(src)
            self._forget(dst)
