"""StreamManager: a worker only while someone looks, sized for the biggest tile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rtcc_wall.core.cameras import Camera, CameraState
from rtcc_wall.core.roads import RoadNetwork
from rtcc_wall.video.manager import StreamManager
from rtcc_wall.video.sources import FrameSource
from tests.video.conftest import BLOCK, STUCK, FakeSource, StateRecorder, picture, wait_until
from tests.video.test_sources import camera

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05}


class Builder:
    def __init__(self) -> None:
        self.built: list[tuple[str, FakeSource]] = []

    def __call__(self, cam: Camera) -> FrameSource:
        src = FakeSource([picture(0, 640, 360), BLOCK], name=cam.id)
        self.built.append((cam.id, src))
        return src


@pytest.fixture
def cams() -> dict[str, Camera]:
    return {c: camera(cam_id=c) for c in ("a", "b", "c")}


@pytest.fixture
def manager(cams: dict[str, Camera]) -> Iterator[tuple[StreamManager, Builder, StateRecorder]]:
    builder = Builder()
    rec = StateRecorder()
    m = StreamManager(
        cams,
        network_provider=None,
        on_state=rec,
        source_builder=builder,
        worker_options=FAST,
    )
    yield m, builder, rec
    assert m.shutdown()


def test_no_worker_until_acquired(manager: tuple[StreamManager, Builder, StateRecorder]) -> None:
    m, builder, _ = manager
    assert m.running_ids() == []
    assert builder.built == []
    with pytest.raises(KeyError):
        m.acquire("nope", object())


def test_ref_counting(manager: tuple[StreamManager, Builder, StateRecorder]) -> None:
    m, builder, rec = manager
    t1, t2 = object(), object()
    w = m.acquire("a", t1)
    assert m.acquire("a", t2) is w, "one worker per camera, shared"
    assert m.acquire("a", t2) is w, "acquiring twice is idempotent"
    assert m.consumers("a") == 2
    assert rec.wait_for(CameraState.LIVE)
    assert m.running_ids() == ["a"]
    m.release("a", t1)
    assert m.running_ids() == ["a"]
    assert w.running
    m.release("a", t1)  # releasing twice is harmless
    assert w.running
    m.release("a", t2)
    assert m.running_ids() == []
    assert wait_until(lambda: not w.running), "the worker stops when nobody looks"
    assert len(builder.built) == 1
    assert builder.built[0][1].closed.is_set()
    # looking again starts a fresh worker
    w2 = m.acquire("a", t1)
    assert w2 is not w
    assert w2.running
    assert rec.wait_for(CameraState.LIVE, count=2)


def test_target_size_is_the_largest_consumer(
    manager: tuple[StreamManager, Builder, StateRecorder],
) -> None:
    m, _, _ = manager
    small, big = object(), object()
    w = m.acquire("b", small)
    before = w.target_size
    assert before is None, "no size yet: native size"
    m.set_target_size("b", small, 320, 180)
    assert w.target_size == (320, 180)
    m.acquire("b", big)
    m.set_target_size("b", big, 640, 200)
    assert w.target_size == (640, 200)
    m.set_target_size("b", small, 300, 400)
    assert w.target_size == (640, 400)
    m.release("b", big)
    assert w.target_size == (300, 400)
    m.set_target_size("b", object(), 5000, 5000)  # not a consumer: ignored
    assert w.target_size == (300, 400)


def test_watchdog_reports_stale(cams: dict[str, Camera]) -> None:
    rec = StateRecorder()
    m = StreamManager(
        cams, network_provider=None, stale_after_s=0.3, on_state=rec, source_builder=Builder()
    )
    try:
        w = m.acquire("c", object())
        assert rec.wait_for(CameraState.LIVE)
        assert rec.wait_for(CameraState.STALE, timeout_s=2.0)
        assert w.state is CameraState.STALE
    finally:
        assert m.shutdown()


def test_shutdown_stops_everything(cams: dict[str, Camera]) -> None:
    m = StreamManager(cams, network_provider=None, source_builder=Builder())
    workers = [m.acquire(c, object()) for c in cams]
    assert m.shutdown(timeout_s=2.0)
    assert not any(w.running for w in workers)
    assert m.running_ids() == []
    with pytest.raises(RuntimeError):
        m.acquire("a", object())


def test_sim_world_is_built_once_and_shared(
    cams: dict[str, Camera], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = pytest.importorskip("rtcc_wall.video.sim")
    built: list[object] = []

    class FakeWorld:
        def __init__(self, network: object, **kw: object) -> None:
            built.append(network)

    monkeypatch.setattr(sim, "SimWorld", FakeWorld)
    calls: list[int] = []
    net = object()

    def provider() -> RoadNetwork:
        calls.append(1)
        return net  # type: ignore[return-value]

    m = StreamManager(cams, network_provider=provider)
    try:
        assert calls == [], "lazy: nothing built before a sim camera is watched"
        w1, w2 = m.sim_world(), m.sim_world()
        assert w1 is w2
        assert calls == [1]
        assert built == [net]
    finally:
        m.shutdown()


def test_sim_without_network_is_unsupported(cams: dict[str, Camera]) -> None:
    rec = StateRecorder()
    m = StreamManager(cams, network_provider=None, on_state=rec)
    try:
        w = m.acquire("a", object())
        assert rec.wait_for(CameraState.UNSUPPORTED)
        assert "road network" in w.last_error
    finally:
        m.shutdown()


def test_bad_stream_url_is_unsupported() -> None:
    rec = StateRecorder()
    bad = camera(stream="ftp://cam/x", cam_id="x")
    m = StreamManager({"x": bad}, network_provider=None, on_state=rec)
    try:
        w = m.acquire("x", object())
        assert rec.wait_for(CameraState.UNSUPPORTED)
        assert "unsupported scheme" in w.last_error
    finally:
        m.shutdown()


def test_real_file_camera_end_to_end(video_file: Path) -> None:
    rec = StateRecorder()
    cam = camera(stream=str(video_file), cam_id="f")
    m = StreamManager({"f": cam}, network_provider=None, on_state=rec)
    tile = object()
    try:
        w = m.acquire("f", tile)
        m.set_target_size("f", tile, 160, 90)
        assert rec.wait_for(CameraState.LIVE)
        f = w.latest.wait_newer(3, timeout_s=5)
        assert f is not None
        assert f.size[0] <= 160
        assert f.size[1] <= 90
    finally:
        assert m.shutdown()


def test_shutdown_waits_for_released_workers_still_ending(cams: dict[str, Camera]) -> None:
    """release() does not block the GUI thread, but shutdown() must not forget that worker:
    exiting with a thread still inside OpenCV aborted the process."""
    stuck = FakeSource([picture(0), STUCK], name="stuck")
    rec = StateRecorder()
    m = StreamManager(cams, network_provider=None, on_state=rec, source_builder=lambda cam: stuck)
    tile = object()
    w = m.acquire("a", tile)
    assert stuck.blocking.wait(5)
    m.release("a", tile)
    assert m.running_ids() == []
    try:
        assert not m.shutdown(timeout_s=0.3), "the stuck released worker is reported"
    finally:
        stuck.unblock()
    assert wait_until(lambda: not w.running)
