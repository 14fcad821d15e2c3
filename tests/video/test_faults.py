"""The camera worker against real, misbehaving servers (tests/servers), on the real pixel path.

Why: a video wall is judged by what a tile shows when a camera fails. These
tests drive ``make_source`` + ``CameraWorker`` -- the same code the wall runs
-- against a real RTSP server (gst-rtsp-server child process), a real MJPEG
camera, a stalling TCP proxy, servers that send junk or nothing, and broken
files, and check the *states* an operator would see: LIVE, STALE,
RECONNECTING/OFFLINE, AUTH_FAILED, UNSUPPORTED. They check behaviour, not
how the source is implemented.

Every wait has a deadline (``wait_until`` / ``StateRecorder.wait_for``);
nothing sleeps to synchronise.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rtcc_wall.core.cameras import Camera, CameraState, Ownership, make_camera
from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.streams import parse_stream_url
from rtcc_wall.video.probe import probe_camera
from rtcc_wall.video.sources import FrameSource, make_source
from rtcc_wall.video.worker import CameraWorker
from tests.servers.faults import GarbageServer, SilentServer, StallProxy
from tests.servers.fixtures import RTSP_PASSWORD, RTSP_USER, ClipSet, requires_gst_rtsp
from tests.servers.mjpeg import MjpegServer
from tests.servers.rtsp import RtspServer
from tests.video.conftest import StateRecorder, wait_until

S = CameraState
needs_gst = requires_gst_rtsp()
FAILED_STATES = (S.RECONNECTING, S.OFFLINE, S.UNSUPPORTED)
WRONG_PASSWORD = "Wr0ng-pa55"


def camera_for(url: str, transport: str = "tcp") -> Camera:
    """A camera whose stream is ``url`` (``transport`` only if Camera knows the field)."""
    extra: dict[str, str] = {}
    if "transport" in inspect.signature(make_camera).parameters:
        extra["transport"] = transport
    elif transport != "tcp":
        pytest.fail("Camera has no 'transport' field: cannot ask for RTSP over UDP")
    return make_camera(
        id="cam-test",
        name="Test camera",
        ownership=next(iter(Ownership)),
        lon=0.0,
        lat=0.0,
        heading_deg=0.0,
        fov_deg=60.0,
        range_m=50.0,
        stream=url,
        projection=LocalProjection(0, 0),
        **extra,  # type: ignore[arg-type]
    )


class Run:
    """A started CameraWorker on ``url`` with its recorder and the times of its opens."""

    def __init__(self, url: str, *, transport: str = "tcp", **worker_kw: float) -> None:
        self.url = url
        self.camera = camera_for(url, transport)
        self.spec = parse_stream_url(url)
        self.recorder = StateRecorder()
        self.open_times: list[float] = []
        kw: dict[str, float] = {
            "stale_after_s": 2.0,
            "backoff_initial_s": 0.3,
            "backoff_max_s": 1.0,
            "open_timeout_s": 3.0,
            "read_timeout_s": 4.0,
        }
        kw.update(worker_kw)
        self.worker = CameraWorker(
            self.camera.id,
            self._factory,
            on_state=self.recorder,
            **kw,  # type: ignore[arg-type]
        )
        self.worker.set_target_size(320, 180)

    def _factory(self) -> FrameSource:
        self.open_times.append(time.monotonic())
        return make_source(self.camera, self.spec, sim_world_provider=None, width=640, height=360)

    def start(self) -> Run:
        self.worker.start()
        return self

    def stop(self) -> float:
        """Stops the worker; returns how long ``stop()`` took (it must have joined)."""
        t0 = time.monotonic()
        joined = self.worker.stop(timeout_s=3.0)
        took = time.monotonic() - t0
        assert joined, f"worker thread did not stop within 3 s; state {self.worker.state}"
        return took

    def details(self) -> list[str]:
        return [d for _, _, d in self.recorder.events]

    def assert_no_internal_error(self) -> None:
        texts = [self.worker.last_error, *self.details()]
        assert not [t for t in texts if "internal error" in t], texts


@pytest.fixture
def run_worker() -> Iterator[Callable[..., Run]]:
    """Starts ``Run``s; every one is stopped after the test, even a failed one."""
    runs: list[Run] = []

    def start(url: str, **kw: object) -> Run:
        r = Run(url, **kw).start()  # type: ignore[arg-type]
        runs.append(r)
        return r

    yield start
    for r in runs:
        r.worker.stop(timeout_s=3.0)


def frames_after(worker: CameraWorker, n: int, timeout_s: float) -> bool:
    start = worker.frames
    return wait_until(lambda: worker.frames >= start + n, timeout_s, poll_s=0.05)


def never_live_for(worker: CameraWorker, seconds: float) -> list[CameraState]:
    """Polls ``state`` for ``seconds``; returns every state seen (LIVE must not be one)."""
    seen: list[CameraState] = []
    deadline = time.monotonic() + seconds
    tick = threading.Event()
    while time.monotonic() < deadline:
        s = worker.state
        if not seen or seen[-1] is not s:
            seen.append(s)
        worker.poll_stale()
        tick.wait(0.05)
    return seen


# --------------------------------------------------------------------------- RTSP live


@needs_gst
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_reaches_live_and_keeps_publishing(
    rtsp_server_shared: RtspServer, run_worker: Callable[..., Run], transport: str
) -> None:
    r = run_worker(rtsp_server_shared.url("/cam"), transport=transport)
    assert r.recorder.wait_for(S.LIVE, 8.0), (r.recorder.states, r.worker.last_error)
    assert frames_after(r.worker, 20, 5.0), (r.worker.frames, r.worker.state)
    assert r.worker.state is S.LIVE
    frame = r.worker.latest.get()
    assert frame is not None
    assert frame.source_size == (640, 360)
    assert frame.image.shape[1] <= 320
    assert frame.image.shape[0] <= 180
    assert r.stop() < 2.0


@needs_gst
def test_rtsp_server_killed_then_back(
    rtsp_server: RtspServer, run_worker: Callable[..., Run]
) -> None:
    r = run_worker(rtsp_server.url("/live"), backoff_initial_s=0.3, backoff_max_s=1.0)
    assert r.recorder.wait_for(S.LIVE, 8.0), (r.recorder.states, r.worker.last_error)
    rtsp_server.kill()
    assert wait_until(lambda: r.worker.state in (S.RECONNECTING, S.OFFLINE), 6.0), r.recorder.states
    assert r.worker.last_error
    threading.Event().wait(2.0)  # the camera stays down for a while (not synchronisation)
    assert r.worker.state in (S.RECONNECTING, S.OFFLINE), r.recorder.states
    lives = r.recorder.states.count(S.LIVE)
    rtsp_server.start()
    back = time.monotonic()
    assert r.recorder.wait_for(S.LIVE, 5.0, count=lives + 1), (
        r.recorder.states,
        r.worker.last_error,
    )
    assert time.monotonic() - back < 5.0
    assert frames_after(r.worker, 5, 3.0)
    r.assert_no_internal_error()


@needs_gst
def test_rtsp_joined_mid_gop_waits_for_the_key_frame_without_reconnecting(
    test_clips: ClipSet, run_worker: Callable[..., Run]
) -> None:
    """A camera that has been sending all along (a key frame every 4 s): a tile that joins
    1 s into a GOP gets P-frames whose references it never saw. It must not show them
    (concealed garbage), must not take them for a dead stream (reconnecting would join
    mid-GOP again, for ever), and goes live on the next key frame."""
    import av
    import numpy as np

    from rtcc_wall.video.decode import frame_to_display

    server = RtspServer(join_mounts={"/running": test_clips.clip_long_gop}).start()
    try:
        started = time.monotonic()
        threading.Event().wait(max(0.0, started + 1.0 - time.monotonic()))  # 1 s into a GOP
        r = run_worker(server.url("/running"), open_timeout_s=3.0, read_timeout_s=3.0)
        joined = time.monotonic()
        # connected, no picture yet: the tile says "waiting for a full picture"
        assert wait_until(lambda: r.worker.awaiting_picture, 3.0), r.recorder.states
        first = r.worker.latest.wait_newer(0, 10.0)
        waited = time.monotonic() - joined
        assert first is not None, (r.recorder.states, r.worker.last_error)
        # the next key frame was ~3 s away: a first picture much sooner means the
        # server sent a key frame for the new client, and this test tested nothing
        assert 1.5 < waited < 6.0, waited
        assert r.recorder.states[:2] == [S.CONNECTING, S.LIVE], r.recorder.states
        assert len(r.open_times) == 1, "reconnected while waiting for the key frame"
        assert frames_after(r.worker, 10, 3.0)
        assert not r.worker.awaiting_picture

        # the first picture is a frame of the clip decoded as it was sent: a key frame
        # (a picture predicted from references never received would match none)
        box = (first.image.shape[1], first.image.shape[0])
        with av.open(str(test_clips.clip_long_gop)) as c:
            decoded = [
                (bool(f.key_frame), frame_to_display(f, box).astype(np.int16))
                for f in c.decode(video=0)
            ]
        diffs = [float(np.abs(img - first.image).mean()) for _, img in decoded]
        best = int(np.argmin(diffs))
        assert diffs[best] < 1.0, f"first picture matches no frame of the clip ({diffs[best]:.1f})"
        assert decoded[best][0], f"first picture is frame {best}, not a key frame"
        r.assert_no_internal_error()
        r.stop()

        # `rtcc-wall probe` tells an administrator why: connected at once, picture later
        into_gop = (time.monotonic() - started) % 4.0  # key frames every 4 s of the clip
        threading.Event().wait((1.0 - into_gop) % 4.0)  # 1 s into the next GOP
        result = probe_camera(camera_for(server.url("/running")), seconds=5.0, box=(320, 180))
        assert result.ok, result
        assert result.time_to_connect_s is not None, result
        assert result.time_to_connect_s < 1.5, result
        assert result.time_to_first_frame_s is not None, result
        assert result.time_to_first_frame_s - result.time_to_connect_s > 1.0, result
    finally:
        server.stop()


# --------------------------------------------------------------------------- frozen peers


@needs_gst
def test_silent_rtsp_server_never_live_and_stops_promptly(
    silent_server: SilentServer, run_worker: Callable[..., Run]
) -> None:
    """A server that accepts and says nothing: the open times out; never LIVE."""
    r = run_worker(silent_server.url("rtsp", "/cam"), open_timeout_s=2.0)
    seen = never_live_for(r.worker, 2.5)
    assert S.LIVE not in seen, seen
    assert S.STALE not in seen, seen
    assert silent_server.accepted >= 1
    assert wait_until(lambda: r.worker.state in FAILED_STATES, 4.0), r.recorder.states
    assert r.worker.last_error
    assert r.stop() < 2.5


def test_silent_http_server_never_live(
    silent_server: SilentServer, run_worker: Callable[..., Run]
) -> None:
    r = run_worker(silent_server.url("http", "/video.mjpg"), open_timeout_s=2.0)
    seen = never_live_for(r.worker, 2.5)
    assert S.LIVE not in seen, seen
    assert S.STALE not in seen, seen
    assert wait_until(lambda: r.worker.state in FAILED_STATES, 4.0), r.recorder.states
    assert r.worker.last_error
    assert r.stop() < 2.5


@needs_gst
def test_rtsp_stalled_mid_stream_goes_stale_and_stops_promptly(
    rtsp_server_shared: RtspServer,
    stall_proxy_factory: Callable[[str, int], StallProxy],
    run_worker: Callable[..., Run],
) -> None:
    """RTSP over TCP through a proxy that freezes: STALE within 3 s, never LIVE while frozen.

    (Over UDP the media would bypass the proxy, so only TCP can be frozen this way.)
    """
    proxy = stall_proxy_factory(rtsp_server_shared.host, rtsp_server_shared.port)
    r = run_worker(proxy.url_for(rtsp_server_shared.url("/cam")), transport="tcp")
    assert r.recorder.wait_for(S.LIVE, 8.0), (r.recorder.states, r.worker.last_error)
    assert frames_after(r.worker, 5, 3.0)
    proxy.stall()
    stalled_at = time.monotonic()
    assert wait_until(r.worker.poll_stale, 3.5, poll_s=0.05), (
        r.recorder.states,
        r.worker.frame_age(),
    )
    assert time.monotonic() - stalled_at < 3.5
    assert S.STALE in r.recorder.states  # reported through on_state, by poll_stale
    frames_when_stale = r.worker.frames
    seen = never_live_for(r.worker, 2.0)  # past the source's read timeout
    assert S.LIVE not in seen, (seen, r.worker.frames - frames_when_stale, r.recorder.states)
    assert r.stop() < 2.5  # still stalled: stop() must not wait for ffmpeg


def test_mjpeg_reaches_live_then_stall_goes_stale(
    mjpeg_server: MjpegServer, run_worker: Callable[..., Run]
) -> None:
    r = run_worker(mjpeg_server.url)
    assert r.recorder.wait_for(S.LIVE, 6.0), (r.recorder.states, r.worker.last_error)
    assert frames_after(r.worker, 10, 3.0)
    frame = r.worker.latest.get()
    assert frame is not None
    assert frame.source_size == (320, 180)
    mjpeg_server.mode = "stall"
    assert wait_until(r.worker.poll_stale, 3.5, poll_s=0.05), r.recorder.states
    assert S.STALE in r.recorder.states
    assert r.stop() < 2.5


# --------------------------------------------------------------------------- junk


def _garbage_url(kind: str, garbage: GarbageServer, mjpeg: MjpegServer, clips: ClipSet) -> str:
    if kind == "rtsp-garbage-server":
        return garbage.url("rtsp", "/cam")
    if kind == "http-garbage-server":
        return garbage.url("http", "/video.mjpg")
    if kind == "mjpeg-garbage-mode":
        mjpeg.mode = "garbage"
        return mjpeg.url
    assert kind == "garbage-file"
    return clips.garbage_file.as_uri()


@pytest.mark.parametrize(
    "kind", ["rtsp-garbage-server", "http-garbage-server", "mjpeg-garbage-mode", "garbage-file"]
)
def test_garbage_never_live_and_fails_cleanly(
    kind: str,
    garbage_server: GarbageServer,
    mjpeg_server: MjpegServer,
    test_clips: ClipSet,
    run_worker: Callable[..., Run],
) -> None:
    url = _garbage_url(kind, garbage_server, mjpeg_server, test_clips)
    r = run_worker(url, backoff_initial_s=0.2, backoff_max_s=0.5, open_timeout_s=2.0)
    assert wait_until(
        lambda: r.worker.state in FAILED_STATES and bool(r.worker.last_error), 8.0, poll_s=0.05
    ), (r.recorder.states, r.worker.last_error)
    assert S.LIVE not in r.recorder.states
    r.assert_no_internal_error()
    assert r.worker.running or r.worker.state is S.UNSUPPORTED
    assert r.stop() < 2.5


def test_truncated_file_does_not_claim_live_forever(
    test_clips: ClipSet, run_worker: Callable[..., Run]
) -> None:
    """The cut clip may play its first half; then it must loop or reconnect, not freeze LIVE."""
    r = run_worker(test_clips.truncated_mp4.as_uri(), backoff_initial_s=0.2, backoff_max_s=0.5)
    start = time.monotonic()

    def moved_on() -> bool:
        # a reconnect after the end, or frames still coming long after the half (a loop)
        after_live = (
            r.recorder.states[r.recorder.states.index(S.LIVE) + 1 :]
            if (S.LIVE in r.recorder.states)
            else r.recorder.states
        )
        reconnected = any(s in FAILED_STATES for s in after_live)
        looped = time.monotonic() - start > 7.0 and (r.worker.frame_age() or 99.0) < 1.0
        return reconnected or looped

    assert wait_until(moved_on, 12.0, poll_s=0.05), (
        r.recorder.states,
        r.worker.frames,
        r.worker.frame_age(),
        r.worker.last_error,
    )
    assert r.worker.state is not S.STALE
    r.assert_no_internal_error()
    assert r.stop() < 2.5


# --------------------------------------------------------------------------- auth


def _auth_url(kind: str, rtsp: RtspServer | None, mjpeg: MjpegServer) -> str:
    if kind == "rtsp":
        assert rtsp is not None
        return rtsp.url("/cam", user=RTSP_USER, password=WRONG_PASSWORD)
    mjpeg.mode = "auth"
    return mjpeg.url_with(RTSP_USER, WRONG_PASSWORD)


@pytest.mark.parametrize("kind", [pytest.param("rtsp", marks=needs_gst), "http"])
def test_wrong_password_is_auth_failed_and_retried_slowly(
    kind: str,
    request: pytest.FixtureRequest,
    mjpeg_server: MjpegServer,
    run_worker: Callable[..., Run],
) -> None:
    rtsp = request.getfixturevalue("rtsp_auth_server") if kind == "rtsp" else None
    url = _auth_url(kind, rtsp, mjpeg_server)
    r = run_worker(url, backoff_initial_s=0.2, backoff_max_s=1.5, open_timeout_s=3.0)
    t0 = time.monotonic()
    assert r.recorder.wait_for(S.AUTH_FAILED, 4.0), (r.recorder.states, r.worker.last_error)
    window_end = t0 + 4.0
    wait_until(lambda: time.monotonic() >= window_end, 5.0, poll_s=0.05)
    in_window = [t for t in r.open_times if t <= window_end]
    assert 2 <= len(in_window) <= 4, [round(t - t0, 2) for t in r.open_times]
    gaps = [b - a for a, b in zip(in_window, in_window[1:], strict=False)]
    assert all(g >= 1.5 * 0.8 - 0.05 for g in gaps), gaps  # at the backoff maximum (+-20 %)
    assert r.worker.state is S.AUTH_FAILED
    assert S.LIVE not in r.recorder.states
    texts = [r.worker.last_error, *r.details()]
    for secret in (WRONG_PASSWORD, RTSP_PASSWORD):
        assert not [t for t in texts if secret in t], texts
    assert r.worker.last_error
    assert r.stop() < 2.5


@needs_gst
def test_right_password_reaches_live(
    rtsp_auth_server: RtspServer, run_worker: Callable[..., Run]
) -> None:
    r = run_worker(rtsp_auth_server.url("/sub", user=RTSP_USER, password=RTSP_PASSWORD))
    assert r.recorder.wait_for(S.LIVE, 8.0), (r.recorder.states, r.worker.last_error)
    assert not [d for d in r.details() if RTSP_PASSWORD in d]


def test_missing_clip_path_is_not_live(tmp_path: Path, run_worker: Callable[..., Run]) -> None:
    """A file that is not there: reported, never LIVE (sanity check for the harness)."""
    r = run_worker((tmp_path / "nope.mp4").as_uri(), backoff_initial_s=0.2, backoff_max_s=0.5)
    assert wait_until(lambda: r.worker.state in FAILED_STATES, 5.0, poll_s=0.05)
    assert r.worker.last_error
