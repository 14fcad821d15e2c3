"""Frame sources: sim pacing, OpenCV files/network with timeouts, auth, redaction."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rtcc_wall.core.cameras import Camera, CameraState, make_camera
from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.streams import parse_stream_url
from rtcc_wall.video.sources import (
    RTSP_TCP_OPTIONS,
    AuthFailed,
    FrameSource,
    MissingVariable,
    OpenCVSource,
    SimSource,
    SourceUnavailable,
    Unsupported,
    make_source,
    probe_auth_required,
    use_rtsp_over_tcp,
)
from rtcc_wall.video.worker import CameraWorker
from tests.video.conftest import StateRecorder

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
    assert isinstance(
        make_source(
            cam, parse_stream_url(str(video_file)), sim_world_provider=None, width=1, height=1
        ),
        OpenCVSource,
    )
    rtsp = make_source(
        cam, parse_stream_url("rtsp://u:pw@cam/x"), sim_world_provider=None, width=1, height=1
    )
    assert isinstance(rtsp, OpenCVSource)
    assert "pw" not in rtsp.describe()


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
