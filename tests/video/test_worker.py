"""The pixel path: LatestFrame, to_display, and the camera worker's supervision."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from rtcc_wall.core.cameras import CameraState
from rtcc_wall.core.streams import parse_stream_url
from rtcc_wall.video.frames import Frame, LatestFrame, fit_size, to_display
from rtcc_wall.video.sources import AuthFailed, OpenCVSource, SourceUnavailable, Unsupported
from rtcc_wall.video.worker import Backoff, CameraWorker
from tests.video.conftest import (
    BLOCK,
    STUCK,
    FakeSource,
    ScriptedFactory,
    StateRecorder,
    picture,
    wait_until,
)

S = CameraState


def make_frame(seq: int, w: int = 4, h: int = 3) -> Frame:
    return Frame(
        image=np.zeros((h, w, 4), np.uint8),
        seq=seq,
        captured_at=float(seq),
        wall_time=datetime.now().astimezone(),
        source_size=(w, h),
    )


# --------------------------------------------------------------------------- frames


def test_latest_frame_overwrite_and_drop_counting() -> None:
    buf = LatestFrame()
    assert buf.get() is None
    buf.publish(make_frame(1))
    buf.publish(make_frame(2))  # 1 was never taken
    assert (buf.published, buf.dropped) == (2, 1)
    got = buf.get()
    assert got is not None
    assert got.seq == 2
    assert buf.get() is got  # not removed: several consumers may look
    buf.publish(make_frame(3))  # 2 was taken: no drop
    assert buf.dropped == 1
    assert buf.take_if_newer(3) is None
    newer = buf.take_if_newer(2)
    assert newer is not None
    assert newer.seq == 3


def test_frame_pixels_are_read_only_and_validated() -> None:
    f = make_frame(1)
    with pytest.raises(ValueError, match="read-only"):
        f.image[0, 0, 0] = 1
    with pytest.raises(ValueError, match="BGRA"):
        Frame(np.zeros((3, 4, 3), np.uint8), 1, 0.0, datetime.now(), (4, 3))


def test_latest_frame_fast_producer_slow_consumer() -> None:
    buf = LatestFrame()
    n = 3000
    done = threading.Event()
    seen: list[int] = []

    def produce() -> None:
        for i in range(1, n + 1):
            buf.publish(make_frame(i))
        done.set()

    def consume() -> None:
        pace = threading.Event()
        last = 0
        while True:
            finished = done.is_set()
            f = buf.take_if_newer(last)
            if f is not None:
                seen.append(f.seq)
                last = f.seq
            if finished and f is None:
                return
            pace.wait(0.0005)  # a slow consumer (display timer), not synchronisation

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen, "consumer got nothing"
    assert seen == sorted(set(seen)), "frames went backwards or repeated"
    assert seen[-1] == n, "consumer must end with the newest frame"
    assert buf.published == n
    # every frame the consumer did not take was overwritten untaken
    assert buf.dropped == n - len(seen)
    assert buf.dropped > 0


def test_wait_newer_wakes_on_publish() -> None:
    buf = LatestFrame()
    t = threading.Timer(0.05, lambda: buf.publish(make_frame(5)))
    t.start()
    f = buf.wait_newer(0, timeout_s=5)
    assert f is not None
    assert f.seq == 5
    assert buf.wait_newer(5, timeout_s=0.01) is None
    t.join()


@pytest.mark.parametrize(
    ("src", "box", "expected"),
    [
        ((1280, 720), (320, 320), (320, 180)),
        ((1280, 720), (400, 100), (178, 100)),
        ((640, 360), (1920, 1080), (640, 360)),  # never enlarged
        ((640, 360), (640, 360), (640, 360)),
        ((100, 100), (0, 0), (1, 1)),
    ],
)
def test_fit_size(src: tuple[int, int], box: tuple[int, int], expected: tuple[int, int]) -> None:
    assert fit_size(*src, *box) == expected


def test_to_display_shrinks_then_converts_to_bgra() -> None:
    bgr = np.zeros((720, 1280, 3), np.uint8)
    bgr[:, :] = (10, 20, 30)
    out = to_display(bgr, (320, 320))
    assert out.shape == (180, 320, 4)
    assert out.dtype == np.uint8
    assert out.flags.c_contiguous
    assert tuple(out[90, 160]) == (10, 20, 30, 255)
    # no box / a big box: same size, still a new BGRA array
    same = to_display(bgr, None)
    assert same.shape == (720, 1280, 4)
    assert not np.shares_memory(same, bgr)
    assert to_display(bgr, (4000, 4000)).shape == (720, 1280, 4)
    grey = to_display(np.full((10, 20), 7, np.uint8), (10, 10))
    assert grey.shape == (5, 10, 4)
    assert tuple(grey[0, 0]) == (7, 7, 7, 255)
    bgra = np.zeros((10, 20, 4), np.uint8)
    assert not np.shares_memory(to_display(bgra, None), bgra)


# --------------------------------------------------------------------------- backoff


def test_backoff_capped_doubling_with_jitter() -> None:
    b = Backoff(1.0, 30.0, rng=random.Random(1))
    bases = [1, 2, 4, 8, 16, 30, 30, 30]
    delays = [b.next() for _ in bases]
    for base, d in zip(bases, delays, strict=True):
        assert 0.8 * base <= d <= 1.2 * base
    assert len({round(d / base, 6) for base, d in zip(bases, delays, strict=True)}) > 1, "jitter"
    b.reset()
    assert 0.8 <= b.next() <= 1.2
    for _ in range(100):
        assert 24.0 <= b.at_max() <= 36.0


def test_backoff_is_deterministic_with_injected_rng() -> None:
    a, b = Backoff(rng=random.Random(3)), Backoff(rng=random.Random(3))
    assert [a.next() for _ in range(6)] == [b.next() for _ in range(6)]


# --------------------------------------------------------------------------- worker


def fast_worker(
    factory: ScriptedFactory, recorder: StateRecorder | None = None, **kw: object
) -> CameraWorker:
    opts: dict[str, object] = {
        "stale_after_s": 0.5,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "rng": random.Random(0),
    }
    opts.update(kw)
    return CameraWorker("cam1", factory, on_state=recorder, **opts)  # type: ignore[arg-type]


def test_live_stale_reconnect_live(recorder: StateRecorder) -> None:
    first = FakeSource([picture(i) for i in range(5)] + [BLOCK, SourceUnavailable("reset")])
    second = FakeSource([picture(100 + i) for i in range(3)] + [BLOCK])
    factory = ScriptedFactory([first, second])
    w = fast_worker(factory, recorder)
    w.set_target_size(80, 80)
    assert w.state is S.IDLE
    w.start()
    try:
        assert recorder.wait_for(S.LIVE)
        assert first.blocking.wait(5)
        assert w.frames == 5
        f = w.latest.get()
        assert f is not None
        assert f.seq == 5
        assert f.size == (80, 60)
        assert f.source_size == (160, 120)
        # frozen server: read() blocks, the worker thread cannot speak -> derived STALE
        t0 = time.monotonic()
        assert wait_until(lambda: w.state is S.STALE, timeout_s=0.5 + 1.0)
        assert time.monotonic() - t0 <= 1.5
        age = w.frame_age()
        assert age is not None
        assert age > 0.5
        assert w.poll_stale()
        assert w.poll_stale()
        assert recorder.states.count(S.STALE) == 1
        # the server drops the connection: reconnect, live again
        first.unblock()
        assert recorder.wait_for(S.LIVE, count=2)
        assert second.blocking.wait(5)
        newest = w.latest.get()
        assert newest is not None
        assert newest.seq == 8
    finally:
        assert w.stop()
    assert recorder.states == [S.CONNECTING, S.LIVE, S.STALE, S.RECONNECTING, S.LIVE, S.IDLE]
    assert w.reconnects == 1
    assert "reset" in w.last_error
    assert first.closed.is_set()
    assert second.closed.is_set()


def test_target_size_applies_to_next_frame() -> None:
    src = FakeSource([picture(0, 320, 240), BLOCK, picture(1, 320, 240), BLOCK])
    w = fast_worker(ScriptedFactory([src]))
    w.start()
    try:
        first = w.latest.wait_newer(0, 5)
        assert first is not None
        assert first.size == (320, 240)
        w.set_target_size(160, 1000)
        src.unblock()  # let the next frame through
        f = w.latest.wait_newer(1, 5)
        assert f is not None
        assert f.size == (160, 120)
    finally:
        w.stop()


def test_failed_opens_back_off_and_go_offline(recorder: StateRecorder) -> None:
    sources = [FakeSource(open_error=SourceUnavailable(f"refused {i}")) for i in range(6)]
    factory = ScriptedFactory(sources)
    w = fast_worker(factory, recorder, backoff_initial_s=0.02, backoff_max_s=0.08)
    w.start()
    try:
        assert recorder.wait_for(S.OFFLINE)
        assert wait_until(lambda: len(factory.calls) >= 6)
    finally:
        w.stop()
    gaps = np.diff(factory.calls[:6])
    expected = [0.02, 0.04, 0.08, 0.08, 0.08]  # capped doubling
    for gap, base in zip(gaps, expected, strict=True):
        assert gap >= 0.8 * base - 0.002
    # OFFLINE after three failed opens in a row, and it stays so while retrying
    assert recorder.states[:3] == [S.CONNECTING, S.RECONNECTING, S.OFFLINE]
    assert recorder.states[3:] == [S.IDLE]
    assert S.LIVE not in recorder.states
    assert "refused" in w.last_error


def test_auth_failed_retries_at_backoff_max(recorder: StateRecorder) -> None:
    factory = ScriptedFactory(
        [FakeSource(open_error=AuthFailed("401 Unauthorized")) for _ in range(4)]
    )
    w = fast_worker(factory, recorder, backoff_initial_s=0.01, backoff_max_s=0.15)
    w.start()
    try:
        assert recorder.wait_for(S.AUTH_FAILED)
        assert wait_until(lambda: len(factory.calls) >= 3)
        assert w.state is S.AUTH_FAILED
    finally:
        w.stop()
    gaps = np.diff(factory.calls[:3])
    assert all(g >= 0.8 * 0.15 - 0.002 for g in gaps), gaps  # no retry storm
    assert "401" in w.last_error


def test_unsupported_stops_trying(recorder: StateRecorder) -> None:
    factory = ScriptedFactory([FakeSource(open_error=Unsupported("no such codec"))])
    w = fast_worker(factory, recorder)
    w.start()
    assert recorder.wait_for(S.UNSUPPORTED)
    assert wait_until(lambda: not w.running)
    assert len(factory.calls) == 1
    assert w.state is S.UNSUPPORTED
    assert w.stop()


def test_stop_abandons_a_thread_stuck_in_c() -> None:
    src = FakeSource([picture(0), STUCK])
    w = fast_worker(ScriptedFactory([src]))
    w.start()
    try:
        assert src.blocking.wait(5)
        t0 = time.monotonic()
        joined = w.stop(timeout_s=0.3)
        elapsed = time.monotonic() - t0
        assert not joined
        assert elapsed < 1.0
        assert src.closed.is_set(), "stop() closes the source from outside"
        assert w.running
        frames = w.frames
    finally:
        src.unblock()  # the call "returns from C" at last
    assert wait_until(lambda: not w.running)
    assert w.frames == frames, "an abandoned worker publishes nothing more"


def test_exception_in_source_does_not_escape_thread(recorder: StateRecorder) -> None:
    class Broken(FakeSource):
        def read(self, timeout_s: float) -> np.ndarray | None:
            raise RuntimeError("bug in a source")

    errors: list[BaseException | None] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        errors.append(args.exc_value)

    old = threading.excepthook
    threading.excepthook = hook
    try:
        w = fast_worker(ScriptedFactory([Broken()]), recorder)
        w.start()
        assert recorder.wait_for(S.OFFLINE)
        assert wait_until(lambda: not w.running)
    finally:
        threading.excepthook = old
    assert not errors
    assert "bug in a source" in w.last_error


# --------------------------------------------------------------------------- real files


def test_worker_loops_a_real_video_file(video_file: Path, recorder: StateRecorder) -> None:
    spec = parse_stream_url(str(video_file))
    w = CameraWorker(
        "file", lambda: OpenCVSource(spec, loop=True), stale_after_s=1.0, on_state=recorder
    )
    w.set_target_size(160, 160)
    t0 = time.monotonic()
    w.start()
    try:
        assert recorder.wait_for(S.LIVE)
        f = w.latest.wait_newer(64 + 8, timeout_s=10)  # past the end of the 64-frame file
        elapsed = time.monotonic() - t0
        assert f is not None
        assert f.size == (160, 120)
        assert f.source_size == (320, 240)
        assert w.state is S.LIVE
        assert w.reconnects == 0, "looping is not a reconnect"
        # paced at the file's 64 fps, not decoded as fast as possible
        assert elapsed >= (64 + 8) / 64.0 * 0.8
    finally:
        assert w.stop()


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_broken_file_never_goes_live(
    tmp_path: Path, video_file: Path, recorder: StateRecorder, kind: str
) -> None:
    bad = tmp_path / "bad.mp4"
    if kind == "garbage":
        bad.write_bytes(b"this is not a video\x00" * 200)
    else:
        bad.write_bytes(video_file.read_bytes()[: video_file.stat().st_size // 3])
    spec = parse_stream_url(str(bad))
    w = CameraWorker(
        "bad",
        lambda: OpenCVSource(spec, loop=True),
        on_state=recorder,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
    )
    w.start()
    try:
        assert recorder.wait_for(S.OFFLINE)
        assert w.running, "the worker keeps retrying"
        assert w.state is S.OFFLINE
    finally:
        assert w.stop()
    assert S.LIVE not in recorder.states
    assert w.frames == 0
    assert "bad.mp4" in w.last_error
