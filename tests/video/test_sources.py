"""Frame sources: sim pacing, PyAV and OpenCV files/network with timeouts, auth, redaction."""

from __future__ import annotations

import base64
import dataclasses
import http.server
import logging
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
import pytest

from rtcc_wall.core.cameras import Camera, CameraState, make_camera
from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.streams import parse_stream_url
from rtcc_wall.video.sources import (
    FAST_PROBE_OPTIONS,
    RTSP_TCP_OPTIONS,
    AuthFailed,
    DisplaySizedSource,
    FrameSource,
    MissingVariable,
    OpenCVSource,
    PyAVSource,
    SimSource,
    SourceUnavailable,
    Unsupported,
    make_source,
    probe_auth_required,
    use_rtsp_over_tcp,
)
from rtcc_wall.video.worker import CameraWorker
from tests.video.conftest import StateRecorder, wait_until

PROJ = LocalProjection(0.0, 0.0)


def camera(stream: str = "sim://", cam_id: str = "c1") -> Camera:
    return make_camera(
        id=cam_id,
        name="Main & 1st",
        ownership="city",
        lon=0.0005,
        lat=-0.0002,
        heading_deg=0.0,
        fov_deg=70.0,
        range_m=60.0,
        stream=stream,
        projection=PROJ,
    )


def closed_port() -> int:
    """A local port nobody listens on (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never answers: a frozen camera."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield int(srv.getsockname()[1])
    stop.set()
    t.join(2)
    for c in conns:
        c.close()
    srv.close()


class _Unauthorized(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(2)
        try:
            data = self.request.recv(4096)
        except OSError:
            return
        if data.startswith(b"GET"):
            self.request.sendall(
                b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        cseq = next(
            (ln for ln in data.split(b"\r\n") if ln.lower().startswith(b"cseq")), b"CSeq: 1"
        )
        self.request.sendall(
            b"RTSP/1.0 401 Unauthorized\r\n"
            + cseq
            + b'\r\nWWW-Authenticate: Basic realm="cam"\r\n\r\n'
        )


@pytest.fixture
def unauthorized_server() -> Iterator[int]:
    """Answers every RTSP or HTTP request with 401."""
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Unauthorized)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield int(srv.server_address[1])
    srv.shutdown()
    srv.server_close()
    t.join(2)


# --------------------------------------------------------------------------- files


def test_file_source_loops_and_reports_fps(video_file: Path) -> None:
    src = OpenCVSource(parse_stream_url(str(video_file)), loop=True)
    assert isinstance(src, FrameSource)
    src.open(5.0)
    try:
        assert src.nominal_fps == pytest.approx(64.0)
        frames = [src.read(3.0) for _ in range(66)]
    finally:
        src.close()
    assert all(f is not None and f.shape == (240, 320, 3) for f in frames)
    first, again = frames[0], frames[64]
    assert first is not None
    assert again is not None
    assert np.array_equal(first, again), "frame 65 is frame 1 again"
    assert src.read(1.0) is None, "closed"


def test_file_source_without_loop_ends(video_file: Path) -> None:
    src = OpenCVSource(parse_stream_url(video_file.as_uri()), loop=False)
    src.open(5.0)
    n = 0
    while src.read(3.0) is not None:
        n += 1
        assert n <= 64
    src.close()
    src.close()  # idempotent
    assert n == 64


def test_missing_file_is_unavailable(tmp_path: Path) -> None:
    src = OpenCVSource(parse_stream_url(str(tmp_path / "nope.mp4")))
    with pytest.raises(SourceUnavailable, match="not found"):
        src.open(1.0)


# --------------------------------------------------------------------------- env + redaction


def test_missing_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTCC_TEST_NOT_SET", raising=False)
    src = OpenCVSource(parse_stream_url("rtsp://admin:${RTCC_TEST_NOT_SET}@10.0.0.9/live"))
    with pytest.raises(MissingVariable, match="RTCC_TEST_NOT_SET") as exc:
        src.open(1.0)
    assert isinstance(exc.value, Unsupported)


def test_worker_with_missing_variable_is_unsupported(
    monkeypatch: pytest.MonkeyPatch, recorder: StateRecorder
) -> None:
    monkeypatch.delenv("RTCC_TEST_NOT_SET", raising=False)
    spec = parse_stream_url("rtsp://admin:${RTCC_TEST_NOT_SET}@10.0.0.9/live")
    w = CameraWorker("c", lambda: OpenCVSource(spec), on_state=recorder)
    w.start()
    assert recorder.wait_for(CameraState.UNSUPPORTED)
    w.stop()
    assert "RTCC_TEST_NOT_SET" in w.last_error


def test_expanded_secret_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTCC_TEST_PW", "s3cr3t-Value")
    port = closed_port()
    src = OpenCVSource(parse_stream_url(f"rtsp://admin:${{RTCC_TEST_PW}}@127.0.0.1:{port}/x"))
    with pytest.raises(SourceUnavailable) as exc:
        src.open(1.0)
    assert "s3cr3t-Value" not in str(exc.value)
    assert "s3cr3t-Value" not in src.describe()


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_password_never_in_errors_or_states(scheme: str, recorder: StateRecorder) -> None:
    port = closed_port()
    spec = parse_stream_url(f"{scheme}://admin:secret@127.0.0.1:{port}/stream")
    w = CameraWorker(
        "c",
        lambda: OpenCVSource(spec),
        on_state=recorder,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        open_timeout_s=1.0,
    )
    w.start()
    try:
        assert recorder.wait_for(CameraState.OFFLINE, timeout_s=10)
    finally:
        w.stop()
    assert w.last_error
    assert "admin:***@" in w.last_error
    assert "secret" not in w.last_error
    assert all("secret" not in detail for _, _, detail in recorder.events)


# --------------------------------------------------------------------------- network


def test_open_timeout_against_a_frozen_server(silent_server: int) -> None:
    """cv2 5.0 honours CAP_PROP_OPEN_TIMEOUT_MSEC passed in the constructor's params."""
    src = OpenCVSource(parse_stream_url(f"rtsp://127.0.0.1:{silent_server}/live"))
    t0 = time.monotonic()
    with pytest.raises(SourceUnavailable, match="cannot open"):
        src.open(0.5)
    assert time.monotonic() - t0 < 3.0  # the probe adds at most its own timeout


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_401_is_auth_failed(scheme: str, unauthorized_server: int) -> None:
    url = f"{scheme}://admin:wrong@127.0.0.1:{unauthorized_server}/live"
    assert probe_auth_required(url, timeout_s=2.0)
    src = OpenCVSource(parse_stream_url(url))
    with pytest.raises(AuthFailed, match="401") as exc:
        src.open(2.0)
    assert "wrong" not in str(exc.value)


def test_probe_says_no_when_unreachable() -> None:
    assert not probe_auth_required(f"rtsp://127.0.0.1:{closed_port()}/x", timeout_s=0.5)
    assert not probe_auth_required("not a url", timeout_s=0.5)


def test_rtsp_over_tcp_is_process_global_and_respects_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", raising=False)
    use_rtsp_over_tcp()
    import os

    assert os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] == RTSP_TCP_OPTIONS
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;udp")
    use_rtsp_over_tcp()
    assert os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] == "rtsp_transport;udp"


# --------------------------------------------------------------------------- factory


def test_make_source_dispatch(video_file: Path) -> None:
    cam = camera()
    with pytest.raises(Unsupported, match="road network"):
        make_source(cam, parse_stream_url("sim://"), sim_world_provider=None, width=64, height=36)

    def make(url: str, cam: Camera = cam) -> FrameSource:
        return make_source(cam, parse_stream_url(url), sim_world_provider=None, width=1, height=1)

    assert isinstance(make(str(video_file)), PyAVSource)
    assert isinstance(make(video_file.as_uri()), PyAVSource)
    rtsp = make("rtsp://u:pw@cam/x")
    assert isinstance(rtsp, PyAVSource)
    assert rtsp.transport == "tcp"
    assert "pw" not in rtsp.describe()
    assert isinstance(make("https://u:pw@cam/video.mjpg"), PyAVSource)
    udp = make("rtsp://cam/x", cam=dataclasses.replace(cam, transport="udp"))
    assert isinstance(udp, PyAVSource)
    assert udp.transport == "udp"
    assert isinstance(make("device://0"), OpenCVSource)


# --------------------------------------------------------------------------- sim


@pytest.fixture(scope="module")
def sim_world() -> object:
    sim = pytest.importorskip("rtcc_wall.video.sim")
    if not hasattr(sim, "SimWorld") or not hasattr(sim, "SimCamera"):
        pytest.skip("rtcc_wall.video.sim is not finished yet")
    from rtcc_wall.core.roads import build_network

    feats = [
        {
            "type": "Feature",
            "properties": {"highway": "primary", "name": "Main"},
            "geometry": {"type": "LineString", "coordinates": [[0, 0], [0.001, 0], [0.002, 0]]},
        },
        {
            "type": "Feature",
            "properties": {"highway": "residential", "name": "First"},
            "geometry": {"type": "LineString", "coordinates": [[0.001, -0.001], [0.001, 0.001]]},
        },
    ]
    return sim.SimWorld(build_network(feats, PROJ), vehicles=20, seed=1)


def test_sim_source_renders_and_paces(sim_world: object) -> None:
    src = make_source(
        camera(),
        parse_stream_url("sim://?fps=20&width=320&height=180"),
        sim_world_provider=lambda: sim_world,  # type: ignore[arg-type,return-value]
        width=640,
        height=360,
    )
    assert isinstance(src, SimSource)
    assert src.nominal_fps == 20
    src.open(1.0)
    t0 = time.monotonic()
    frames = [src.read(1.0) for _ in range(4)]
    elapsed = time.monotonic() - t0
    src.close()
    for f in frames:
        assert f is not None
        assert f.shape == (180, 320, 3)
        assert f.dtype == np.uint8
    assert elapsed >= 3 / 20 * 0.8, "paced at 20 fps"


def test_sim_source_close_wakes_a_waiting_read(sim_world: object) -> None:
    src = SimSource(sim_world, camera(), 160, 90, fps=1)  # type: ignore[arg-type]
    src.open(1.0)
    assert src.read(2.0) is not None
    threading.Timer(0.05, src.close).start()
    t0 = time.monotonic()
    assert src.read(2.0) is None  # would wait ~1 s for the next frame
    assert time.monotonic() - t0 < 0.5


# --------------------------------------------------------------------------- PyAV

CLIP_FPS = 30
CLIP_FRAMES = 30


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
        check=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def h264_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s of 320x240 H.264 at 30 fps, as a camera would send it (no B-frames)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg CLI not installed")
    path = tmp_path_factory.mktemp("pyav") / "clip.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={CLIP_FPS}", "-frames:v",
        str(CLIP_FRAMES), "-c:v", "libx264", "-bf", "0", "-g", "15", "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path


def test_pyav_file_loops_at_native_pace(h264_clip: Path) -> None:
    src = PyAVSource(parse_stream_url(str(h264_clip)), loop=True)
    assert isinstance(src, FrameSource)
    assert isinstance(src, DisplaySizedSource)
    src.open(5.0)
    try:
        assert src.nominal_fps == pytest.approx(CLIP_FPS)
        assert src.codec_name == "h264"
        assert src.probe_mode == "fast"
        t0 = time.monotonic()
        frames = [src.read(3.0) for _ in range(CLIP_FRAMES + 6)]
        elapsed = time.monotonic() - t0
    finally:
        src.close()
    assert all(f is not None and f.shape == (240, 320, 4) for f in frames)
    first, again = frames[0], frames[CLIP_FRAMES]
    assert first is not None
    assert again is not None
    assert np.array_equal(first, again), "the frame after the last is the first again"
    want = (len(frames) - 1) / CLIP_FPS
    assert want * 0.85 <= elapsed <= want * 1.5, f"paced at ~{CLIP_FPS} fps: {elapsed:.2f} s"
    assert src.read(1.0) is None, "closed"


def test_pyav_display_box_and_source_size(h264_clip: Path) -> None:
    src = PyAVSource(parse_stream_url(h264_clip.as_uri()))
    src.open(5.0)
    try:
        src.display_box = (160, 160)
        img = src.read(3.0)
        assert img is not None
        assert img.shape == (120, 160, 4)
        assert src.source_size == (320, 240)
        src.display_box = None
        img = src.read(3.0)
        assert img is not None
        assert img.shape == (240, 320, 4)
    finally:
        src.close()
    src.close()  # idempotent


def test_pyav_file_without_loop_ends(h264_clip: Path) -> None:
    src = PyAVSource(parse_stream_url(str(h264_clip)), loop=False)
    src.open(5.0)
    n = 0
    while src.read(0.0) is not None:  # timeout 0: no pacing wait
        n += 1
        assert n <= CLIP_FRAMES
    src.close()
    assert n == CLIP_FRAMES


def test_pyav_missing_file_is_unavailable_and_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RTCC_TEST_DIR_SECRET", "dir-s3cr3t-name")
    src = PyAVSource(parse_stream_url(f"{tmp_path}/${{RTCC_TEST_DIR_SECRET}}/nope.mp4"))
    with pytest.raises(SourceUnavailable, match="not found") as exc:
        src.open(1.0)
    assert "dir-s3cr3t-name" not in str(exc.value)


@pytest.mark.parametrize("damage", ["garbage", "empty"])
def test_pyav_unreadable_file_is_unsupported_not_a_crash(
    damage: str, tmp_path: Path, recorder: StateRecorder
) -> None:
    bad = tmp_path / "bad.mp4"
    if damage == "garbage":
        bad.write_bytes(np.random.default_rng(1).integers(0, 256, 64 * 1024, np.uint8).tobytes())
    else:
        bad.write_bytes(b"")
    src = PyAVSource(parse_stream_url(str(bad)), loop=True)
    with pytest.raises(Unsupported, match="cannot read"):
        src.open(2.0)
    w = CameraWorker("c", lambda: PyAVSource(parse_stream_url(str(bad))), on_state=recorder)
    w.start()
    try:
        assert recorder.wait_for(CameraState.UNSUPPORTED)
    finally:
        w.stop()


def test_pyav_truncated_file_plays_what_it_has(h264_clip: Path, tmp_path: Path) -> None:
    """Half a faststart MP4: the index is whole, the second half of the frames is missing."""
    bad = tmp_path / "truncated.mp4"
    data = h264_clip.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    once = PyAVSource(parse_stream_url(str(bad)), loop=False)
    once.open(2.0)
    n = 0
    while once.read(0.0) is not None:
        n += 1
        assert n <= CLIP_FRAMES
    once.close()
    assert 0 < n < CLIP_FRAMES
    looped = PyAVSource(parse_stream_url(str(bad)), loop=True)
    looped.open(2.0)
    try:
        assert all(looped.read(0.0) is not None for _ in range(3 * n)), "loops over the damage"
    finally:
        looped.close()


class _AuthHandler(http.server.BaseHTTPRequestHandler):
    """401 without the right Basic credentials, 403 for user "guest", else one JPEG part."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        if auth == "Basic " + base64.b64encode(b"guest:guest-pw").decode():
            self.send_error(403)
            return
        if auth != "Basic " + base64.b64encode(b"admin:right-pw").decode():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="cam"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_error(404)


@pytest.fixture
def auth_http_server() -> Iterator[int]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthHandler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield int(srv.server_address[1])
    srv.shutdown()
    srv.server_close()
    t.join(2)


@pytest.mark.parametrize(
    ("cred", "match"),
    [("admin:wrong-pw@", "401"), ("", "401"), ("guest:guest-pw@", "403")],
)
def test_pyav_http_auth_failures(auth_http_server: int, cred: str, match: str) -> None:
    src = PyAVSource(parse_stream_url(f"http://{cred}127.0.0.1:{auth_http_server}/video.mjpg"))
    with pytest.raises(AuthFailed, match=match) as exc:
        src.open(3.0)
    assert "wrong-pw" not in str(exc.value)
    assert "guest-pw" not in str(exc.value)


def test_pyav_http_not_found_is_unavailable(auth_http_server: int) -> None:
    src = PyAVSource(parse_stream_url(f"http://admin:right-pw@127.0.0.1:{auth_http_server}/x"))
    with pytest.raises(SourceUnavailable, match="404") as exc:
        src.open(3.0)
    assert "right-pw" not in str(exc.value)


class _RtspUnauthorized(socketserver.BaseRequestHandler):
    """Answers every RTSP request on a connection with 401, as a camera does."""

    def handle(self) -> None:
        self.request.settimeout(2)
        while True:
            try:
                data = self.request.recv(4096)
            except OSError:
                return
            if not data:
                return
            cseq = next(
                (ln for ln in data.split(b"\r\n") if ln.lower().startswith(b"cseq")), b"CSeq: 1"
            )
            self.request.sendall(
                b"RTSP/1.0 401 Unauthorized\r\n"
                + cseq
                + b'\r\nWWW-Authenticate: Basic realm="cam"\r\n\r\n'
            )


def test_pyav_rtsp_401_is_auth_failed() -> None:
    """ffmpeg maps an RTSP 401 to the same AVERROR as HTTP's: PyAV's HTTPUnauthorizedError.

    (tests/servers has the same against a real gst-rtsp-server with Basic auth.)
    """
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _RtspUnauthorized)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        port = int(srv.server_address[1])
        src = PyAVSource(parse_stream_url(f"rtsp://admin:wrong@127.0.0.1:{port}/x"))
        with pytest.raises(AuthFailed, match="refused the credentials") as exc:
            src.open(3.0)
        assert "wrong" not in str(exc.value)
        anonymous = PyAVSource(parse_stream_url(f"rtsp://127.0.0.1:{port}/x"))
        with pytest.raises(AuthFailed, match="wants a user and password"):
            anonymous.open(3.0)
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(2)


def test_pyav_open_timeout_against_a_frozen_server(silent_server: int) -> None:
    for scheme in ("rtsp", "http"):
        src = PyAVSource(parse_stream_url(f"{scheme}://u:pw@127.0.0.1:{silent_server}/live"))
        t0 = time.monotonic()
        with pytest.raises(SourceUnavailable, match="timed out"):
            src.open(0.5)
        # an attempt that used up its timeout is not retried with default probing
        assert time.monotonic() - t0 < 1.5


def test_no_password_on_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """ffmpeg logs "Connection to tcp://... failed" and PyAV quotes the URL: both redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.DEBUG)
    ours = logging.getLogger("rtcc_wall")
    old_level = ours.level
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG)
    try:
        src = PyAVSource(parse_stream_url("rtsp://u:pw@127.0.0.1:9/x"))
        with pytest.raises(SourceUnavailable) as exc:
            src.open(2.0)
    finally:
        ours.removeHandler(handler)
        ours.setLevel(old_level)
    out, err = capfd.readouterr()
    assert "Connection refused" in err, "ffmpeg's log line reaches our (redacting) logger"
    assert "u:***@" in str(exc.value)
    for text in (out, err, str(exc.value)):
        assert "pw" not in text


def test_pyav_udp_transport_is_passed_to_ffmpeg() -> None:
    seen: list[dict[str, str]] = []

    def opener(url: str, **kwargs: Any) -> Any:
        seen.append(dict(kwargs["options"]))
        assert kwargs["timeout"][0] > 0
        assert kwargs["timeout"][1] > 0
        raise av.error.ConnectionRefusedError(111, "Connection refused", url)

    src = PyAVSource(parse_stream_url("rtsp://cam/x"), transport="udp", opener=opener)
    with pytest.raises(SourceUnavailable, match="refused"):
        src.open(1.0)
    assert len(seen) == 1, "a refused connection is not retried with other probing"
    assert seen[0]["rtsp_transport"] == "udp"
    assert seen[0]["probesize"] == "32"
    with pytest.raises(Unsupported):
        PyAVSource(parse_stream_url("rtsp://cam/x"), transport="sctp")


def test_fast_probe_falls_back_to_default_probing(
    h264_clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A stream that fast probing cannot open is opened again with ffmpeg's defaults."""
    calls: list[dict[str, str]] = []

    def opener(url: str, **kwargs: Any) -> Any:
        options = dict(kwargs["options"])
        calls.append(options)
        if options.get("probesize") == FAST_PROBE_OPTIONS["probesize"]:
            raise av.error.InvalidDataError(1094995529, "Invalid data found", url)
        return av.open(url, **kwargs)

    caplog.set_level(logging.INFO, logger="rtcc_wall.video.sources")
    src = PyAVSource(parse_stream_url(str(h264_clip)), opener=opener)
    src.open(5.0)
    try:
        assert src.probe_mode == "default"
        assert len(calls) == 2
        assert "probesize" not in calls[1]
        assert src.read(0.0) is not None
    finally:
        src.close()
    assert "opened with default probing" in caplog.text


def test_fast_probe_without_picture_size_falls_back(h264_clip: Path) -> None:
    class NoVideo:
        class streams:  # noqa: N801 - mimics av's container.streams.video
            video: list[object] = []

        closed = False

        def close(self) -> None:
            NoVideo.closed = True

    calls = 0

    def opener(url: str, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return NoVideo() if calls == 1 else av.open(url, **kwargs)

    src = PyAVSource(parse_stream_url(str(h264_clip)), opener=opener)
    src.open(5.0)
    src.close()
    assert calls == 2
    assert NoVideo.closed, "the failed attempt's container was closed"
    assert src.probe_mode == "default"


def test_both_probes_failing_is_one_error(tmp_path: Path) -> None:
    def opener(url: str, **kwargs: Any) -> Any:
        raise av.error.InvalidDataError(1094995529, "Invalid data found", url)

    src = PyAVSource(parse_stream_url("http://u:pw@127.0.0.1:1/x.mjpg"), opener=opener)
    with pytest.raises(SourceUnavailable, match="fast probe.*default probe.*mpjpeg") as exc:
        src.open(1.0)
    assert "pw" not in str(exc.value)


def test_on_packet_sees_compressed_packets(h264_clip: Path) -> None:
    sizes: list[int] = []
    src = PyAVSource(parse_stream_url(str(h264_clip)), on_packet=lambda p: sizes.append(p.size))
    src.open(5.0)
    try:
        for _ in range(5):
            assert src.read(0.0) is not None
    finally:
        src.close()
    assert len(sizes) >= 5
    assert all(s > 0 for s in sizes)


def test_failing_on_packet_does_not_stop_video(h264_clip: Path) -> None:
    def broken(_p: av.Packet) -> None:
        raise RuntimeError("replay buffer bug")

    src = PyAVSource(parse_stream_url(str(h264_clip)), on_packet=broken)
    src.open(5.0)
    try:
        assert all(src.read(0.0) is not None for _ in range(3))
    finally:
        src.close()


def test_worker_publishes_pyav_pictures_without_reconverting(
    h264_clip: Path, recorder: StateRecorder
) -> None:
    w = CameraWorker(
        "c", lambda: PyAVSource(parse_stream_url(str(h264_clip)), loop=True), on_state=recorder
    )
    w.set_target_size(160, 160)
    w.start()
    try:
        assert recorder.wait_for(CameraState.LIVE)
        frame = w.latest.wait_newer(1, 3.0)
        assert frame is not None
        assert frame.size == (160, 120)
        assert frame.source_size == (320, 240)
        w.set_target_size(100, 100)
        assert wait_until(lambda: (f := w.latest.get()) is not None and f.size == (100, 74))
    finally:
        w.stop()


def test_close_from_another_thread_ends_a_paced_read(h264_clip: Path) -> None:
    src = PyAVSource(parse_stream_url(str(h264_clip)), loop=True)
    src.open(5.0)
    assert src.read(1.0) is not None
    threading.Timer(0.05, src.close).start()
    t0 = time.monotonic()
    n = 0
    while src.read(1.0) is not None:
        n += 1
        assert n < CLIP_FRAMES
    assert time.monotonic() - t0 < 1.0
