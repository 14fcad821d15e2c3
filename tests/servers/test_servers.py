"""Smoke tests: each test server behaves as a real peer for ffmpeg (through PyAV) and OpenCV.

Why: the fault tests in tests/video only mean something if the servers do
what they claim (serve, loop, refuse a password, freeze). These tests also
pin down what PyAV raises for each failure, which the source code relies on:

* RTSP 401 and HTTP 401: ``av.error.HTTPUnauthorizedError`` (a subclass of
  ``av.error.HTTPClientError`` < ``av.error.FFmpegError``), message
  "Server returned 401 Unauthorized (authorization failed)"; its
  ``filename`` and ``str()`` carry the URL *with the password*: redact it.
* junk bytes: ``av.error.InvalidDataError`` ("Invalid data found when
  processing input").
* a silent server: an open with ``timeout=(open_s, read_s)`` raises
  ``av.error.ExitError`` ("Immediate exit requested") after about ``open_s``.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import av.error
import cv2
import pytest

from tests.servers.faults import GarbageServer, SilentServer, StallProxy
from tests.servers.fixtures import RTSP_PASSWORD, RTSP_USER, ClipSet, requires_gst_rtsp
from tests.servers.mjpeg import MjpegServer
from tests.servers.rtsp import RtspServer

FAST_PROBE = {"analyzeduration": "0", "probesize": "32"}


def read_frames(
    url: str,
    n: int,
    *,
    transport: str | None = "tcp",
    fmt: str | None = None,
    timeout: tuple[float, float] = (5.0, 3.0),
) -> list[av.VideoFrame]:
    """Opens ``url`` with PyAV and decodes ``n`` frames (raises on any failure)."""
    options = dict(FAST_PROBE)
    if transport is not None:
        options["rtsp_transport"] = transport
    frames: list[av.VideoFrame] = []
    with av.open(url, format=fmt, options=options, timeout=timeout) as container:
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) >= n:
                break
    return frames


def read_until_failure(frames: Iterator[av.VideoFrame], limit: int) -> BaseException | None:
    """Pulls up to ``limit`` frames; the error (or StopIteration) that ended them, else None."""
    try:
        for _ in range(limit):
            next(frames)
    except (av.error.FFmpegError, StopIteration) as e:
        return e
    return None


def ffprobe_size(target: str | Path, *extra: str) -> tuple[int, int, str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", *extra, "-select_streams", "v:0",
         "-show_entries", "stream=width,height,r_frame_rate", "-of", "csv=p=0", str(target)],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout.strip()  # fmt: skip
    w, h, rate = out.split(",")[:3]
    return int(w), int(h), rate


# --------------------------------------------------------------------------- clips


def test_clips_have_the_promised_shapes(test_clips: ClipSet) -> None:
    assert ffprobe_size(test_clips.clip_360p) == (640, 360, "15/1")
    assert ffprobe_size(test_clips.clip_720p) == (1280, 720, "25/1")
    assert ffprobe_size(test_clips.clip_sub) == (320, 180, "15/1")
    with av.open(str(test_clips.clip_360p)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264"
        keyframes = [p.pts for p in c.demux(stream) if p.is_keyframe and p.pts is not None]
    assert len(keyframes) >= 10  # one a second at least
    assert test_clips.truncated_mp4.stat().st_size < test_clips.clip_360p.stat().st_size
    with pytest.raises(av.error.FFmpegError):
        av.open(str(test_clips.garbage_file)).close()


# --------------------------------------------------------------------------- RTSP


pytestmark_rtsp = requires_gst_rtsp()


@pytestmark_rtsp
@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize(("mount", "size"), [("/cam", (640, 360)), ("/live", (640, 360))])
def test_rtsp_serves_frames(
    rtsp_server_shared: RtspServer, mount: str, size: tuple[int, int], transport: str
) -> None:
    frames = read_frames(rtsp_server_shared.url(mount), 10, transport=transport)
    assert len(frames) == 10
    assert (frames[-1].width, frames[-1].height) == size


@pytestmark_rtsp
@pytest.mark.parametrize(("mount", "size"), [("/hd", (1280, 720)), ("/sub", (320, 180))])
def test_rtsp_other_mounts(
    rtsp_server_shared: RtspServer, mount: str, size: tuple[int, int]
) -> None:
    frame = read_frames(rtsp_server_shared.url(mount), 3)[-1]
    assert (frame.width, frame.height) == size


@pytestmark_rtsp
def test_rtsp_ffprobe_sees_h264(rtsp_server_shared: RtspServer) -> None:
    assert ffprobe_size(rtsp_server_shared.url("/cam"), "-rtsp_transport", "tcp")[:2] == (640, 360)


@pytestmark_rtsp
def test_rtsp_file_mount_loops_in_real_time(tmp_path: Path) -> None:
    """A 1 s clip keeps playing past its end, paced at its frame rate, with rising timestamps."""
    short = tmp_path / "short.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x180:rate=15", "-t", "1", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", "15", "-bf", "0", "-pix_fmt", "yuv420p", str(short)],
        check=True, timeout=30,
    )  # fmt: skip
    with RtspServer({"/short": short}) as server:
        t0 = time.monotonic()
        frames = read_frames(server.url("/short"), 40)
        elapsed = time.monotonic() - t0
    pts = [f.pts for f in frames if f.pts is not None]
    assert len(frames) == 40
    assert pts == sorted(pts)
    assert len(set(pts)) == len(pts)
    assert 1.8 < elapsed < 6.0, elapsed  # 40 frames at 15 fps: ~2.7 s


@pytestmark_rtsp
def test_rtsp_auth_right_password(rtsp_auth_server: RtspServer) -> None:
    url = rtsp_auth_server.url("/cam", user=RTSP_USER, password=RTSP_PASSWORD)
    assert len(read_frames(url, 5)) == 5


@pytestmark_rtsp
@pytest.mark.parametrize(("user", "password"), [(RTSP_USER, "wrong"), (None, None)])
def test_rtsp_auth_refused_raises_http_unauthorized(
    rtsp_auth_server: RtspServer, user: str | None, password: str | None
) -> None:
    url = rtsp_auth_server.url("/cam", user=user, password=password)
    with pytest.raises(av.error.HTTPUnauthorizedError, match="401 Unauthorized") as info:
        read_frames(url, 1)
    assert isinstance(info.value, av.error.HTTPClientError)
    # PyAV puts the full URL in the exception: the application must redact it.
    assert info.value.filename == url


@pytestmark_rtsp
def test_rtsp_restart_on_same_port(rtsp_server: RtspServer) -> None:
    port = rtsp_server.port
    read_frames(rtsp_server.url("/cam"), 2)
    rtsp_server.kill()
    assert not rtsp_server.running
    with pytest.raises(av.error.FFmpegError):
        read_frames(rtsp_server.url("/cam"), 1, timeout=(2.0, 2.0))
    t0 = time.monotonic()
    rtsp_server.start()
    assert time.monotonic() - t0 < 5.0
    assert rtsp_server.port == port
    read_frames(rtsp_server.url("/cam"), 2)
    rtsp_server.restart()
    assert rtsp_server.port == port
    read_frames(rtsp_server.url("/live"), 2)


@pytestmark_rtsp
def test_rtsp_stop_is_clean_and_leaves_no_process(test_clips: ClipSet) -> None:
    server = RtspServer({"/cam": test_clips.clip_sub}).start()
    pid = server.pid
    with av.open(server.url("/cam"), options={"rtsp_transport": "tcp", **FAST_PROBE}) as c:
        next(c.decode(video=0))
        server.stop()  # with a client connected
    assert not server.running
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytestmark_rtsp
def test_rtsp_start_failure_reports_stderr(tmp_path: Path) -> None:
    from tests.servers.rtsp import RtspServerError

    bad = RtspServer({"/cam": tmp_path / "missing.mp4"})
    with pytest.raises(RtspServerError, match="missing.mp4"):
        bad.start(timeout_s=10)
    assert not bad.running


@pytestmark_rtsp
def test_stall_proxy_freezes_rtsp_over_tcp_and_resumes(
    rtsp_server_shared: RtspServer, stall_proxy_factory: Callable[[str, int], StallProxy]
) -> None:
    proxy = stall_proxy_factory(rtsp_server_shared.host, rtsp_server_shared.port)
    url = proxy.url_for(rtsp_server_shared.url("/cam"))
    assert f":{proxy.port}/cam" in url
    options = {"rtsp_transport": "tcp", **FAST_PROBE}
    with av.open(url, options=options, timeout=(5.0, 1.5)) as c:
        frames = c.decode(video=0)
        for _ in range(5):
            next(frames)
        proxy.stall()
        t0 = time.monotonic()
        # drains what was buffered, then the read times out
        assert read_until_failure(frames, 1000) is not None
        assert time.monotonic() - t0 < 8.0
    proxy.resume()
    assert len(read_frames(url, 3)) == 3


@pytestmark_rtsp
def test_stall_proxy_keeps_credentials_in_url(
    rtsp_auth_server: RtspServer, stall_proxy_factory: Callable[[str, int], StallProxy]
) -> None:
    proxy = stall_proxy_factory(rtsp_auth_server.host, rtsp_auth_server.port)
    url = proxy.url_for(rtsp_auth_server.url("/sub", user=RTSP_USER, password=RTSP_PASSWORD))
    assert url.startswith(f"rtsp://{RTSP_USER}:{RTSP_PASSWORD}@127.0.0.1:{proxy.port}/sub")
    assert len(read_frames(url, 2)) == 2


# --------------------------------------------------------------------------- MJPEG


def test_mjpeg_decodes_with_pyav_and_opencv(mjpeg_server: MjpegServer) -> None:
    frames = read_frames(mjpeg_server.url, 5, transport=None, fmt="mpjpeg")
    assert (frames[-1].width, frames[-1].height) == (320, 180)
    cap = cv2.VideoCapture(mjpeg_server.url, cv2.CAP_FFMPEG)
    try:
        ok, img = cap.read()
    finally:
        cap.release()
    assert ok
    assert img.shape == (180, 320, 3)


def test_mjpeg_auth_mode(mjpeg_server: MjpegServer) -> None:
    mjpeg_server.mode = "auth"
    for url in (mjpeg_server.url, mjpeg_server.url_with(RTSP_USER, "wrong")):
        with pytest.raises(av.error.HTTPUnauthorizedError, match="401"):
            read_frames(url, 1, transport=None, fmt="mpjpeg")
    good = mjpeg_server.url_with(RTSP_USER, RTSP_PASSWORD)
    assert len(read_frames(good, 2, transport=None, fmt="mpjpeg")) == 2


def test_mjpeg_garbage_mode(mjpeg_server: MjpegServer) -> None:
    mjpeg_server.mode = "garbage"
    with pytest.raises(av.error.FFmpegError):
        read_frames(mjpeg_server.url, 1, transport=None, fmt="mpjpeg")


def test_mjpeg_stall_mode_times_out_then_resumes(mjpeg_server: MjpegServer) -> None:
    with av.open(mjpeg_server.url, format="mpjpeg", options=FAST_PROBE, timeout=(3, 1)) as c:
        frames = c.decode(video=0)
        next(frames)
        mjpeg_server.mode = "stall"
        t0 = time.monotonic()
        assert read_until_failure(frames, 100) is not None
        assert time.monotonic() - t0 < 5.0
    mjpeg_server.mode = "normal"
    assert len(read_frames(mjpeg_server.url, 2, transport=None, fmt="mpjpeg")) == 2


# --------------------------------------------------------------------------- faults


def test_stall_proxy_handles_many_connections(
    mjpeg_server: MjpegServer, stall_proxy_factory: Callable[[str, int], StallProxy]
) -> None:
    """20 simultaneous streams flow, all freeze on stall() (sockets open), all flow again."""
    proxy = stall_proxy_factory(mjpeg_server.host, mjpeg_server.port)
    conns = [socket.create_connection(("127.0.0.1", proxy.port), timeout=3.0) for _ in range(20)]
    try:
        for s in conns:
            s.sendall(f"GET {mjpeg_server.path} HTTP/1.0\r\n\r\n".encode())
        for s in conns:
            assert s.recv(4096)
        proxy.stall()
        threading.Event().wait(0.3)  # let what was in flight arrive (not synchronisation)
        for s in conns:  # drain it
            s.setblocking(False)
            try:
                while s.recv(65536):
                    pass
            except BlockingIOError:
                pass
        readable, _, _ = select.select(conns, [], [], 0.5)
        assert readable == []  # every connection open, nothing comes
        proxy.resume()
        for s in conns:
            s.settimeout(3.0)
            assert s.recv(4096)
    finally:
        for s in conns:
            s.close()


def test_garbage_server_is_invalid_data_for_ffmpeg(garbage_server: GarbageServer) -> None:
    for url, fmt in ((garbage_server.url("rtsp"), None), (garbage_server.url("http"), "mpjpeg")):
        t0 = time.monotonic()
        with pytest.raises(av.error.FFmpegError):
            read_frames(url, 1, fmt=fmt, timeout=(3.0, 2.0))
        assert time.monotonic() - t0 < 8.0


def test_garbage_server_sends_random_bytes(garbage_server: GarbageServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", garbage_server.port, timeout=3)
    try:
        conn.request("GET", "/")
        with pytest.raises((http.client.HTTPException, OSError)):
            conn.getresponse()
    finally:
        conn.close()


def test_silent_server_times_out(silent_server: SilentServer) -> None:
    t0 = time.monotonic()
    with pytest.raises(av.error.FFmpegError):
        read_frames(silent_server.url("rtsp"), 1, timeout=(2.0, 1.0))
    assert time.monotonic() - t0 < 6.0
    assert silent_server.accepted >= 1


def test_servers_close_their_threads() -> None:
    before = {t.ident for t in threading.enumerate()}
    for cls in (SilentServer, GarbageServer):
        with cls() as srv:
            socket.create_connection(srv.address, timeout=2).close()
    with MjpegServer() as m:
        read_frames(m.url, 1, transport=None, fmt="mpjpeg")
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    deadline = time.monotonic() + 3.0
    while leftover and time.monotonic() < deadline:
        threading.Event().wait(0.05)
        leftover = [t for t in leftover if t.is_alive()]
    assert not leftover, leftover
