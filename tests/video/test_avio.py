"""Read deadlines kept from outside PyAV, and ffmpeg's log lines only while opening.

Why: PyAV's own read timeout and its log callback each take the GIL from
inside ffmpeg, dozens of times per frame; with 64 cameras that starved the
GUI thread (``video/avio.py`` has the measurements). These tests check that
what replaced them still keeps every promise of a read timeout -- against a
real RTSP server behind a proxy that freezes -- and that a blocked read now
also ends at once when the source is closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import pytest

from rtcc_wall.core.streams import parse_stream_url
from rtcc_wall.video.avio import ReadDeadline, libav_log_capture, log_capture_active
from rtcc_wall.video.sources import PyAVSource, SourceUnavailable
from tests.servers.faults import StallProxy
from tests.servers.fixtures import ClipSet, requires_gst_rtsp
from tests.servers.rtsp import RtspServer

needs_gst = requires_gst_rtsp()


def test_deadline_finds_pyav_timeout_record_and_aborts_a_read(test_clips: ClipSet) -> None:
    with av.open(str(test_clips.clip_360p), timeout=(5.0, None)) as c:
        dl = ReadDeadline(c)
        assert dl.usable
        packets = c.demux(c.streams.video[0])
        assert next(packets).size > 0  # reads normally while not armed
        dl.abort()
        with pytest.raises(av.error.ExitError):
            _drain(packets)


def _drain(packets: Iterator[av.Packet]) -> None:
    for _ in range(1000):  # a local file polls the interrupt check on each read
        next(packets)


def test_deadline_is_not_used_where_pyav_keeps_its_own_timeout(test_clips: ClipSet) -> None:
    with av.open(str(test_clips.clip_360p), timeout=(5.0, 5.0)) as c:
        assert not ReadDeadline(c).usable  # PyAV's read timeout is in charge
    with av.open(str(test_clips.clip_360p)) as c:
        assert not ReadDeadline(c).usable  # no timeouts at all
    assert not ReadDeadline(object()).usable
    ReadDeadline(object()).abort()  # does nothing, writes nothing


def _source_through(proxy: StallProxy, server: RtspServer, read_timeout_s: float) -> PyAVSource:
    spec = parse_stream_url(proxy.url_for(server.url("/cam")))
    src = PyAVSource(spec, transport="tcp", read_timeout_s=read_timeout_s)
    src.open(5.0)
    for _ in range(3):
        assert src.read(read_timeout_s) is not None
    return src


@needs_gst
def test_frozen_stream_read_gives_up_after_the_read_timeout(
    rtsp_server_shared: RtspServer, stall_proxy_factory: Callable[[str, int], StallProxy]
) -> None:
    proxy = stall_proxy_factory(rtsp_server_shared.host, rtsp_server_shared.port)
    src = _source_through(proxy, rtsp_server_shared, read_timeout_s=1.5)
    try:
        proxy.stall()
        t0 = time.monotonic()
        with pytest.raises(SourceUnavailable, match="read timeout"):
            _read_until_failure(src, 1.5)
        took = time.monotonic() - t0
        assert 1.4 <= took < 3.0, took
    finally:
        src.close()


def _read_until_failure(src: PyAVSource, timeout_s: float) -> None:
    for _ in range(100):  # frames already on their way may still come out
        src.read(timeout_s)


@needs_gst
def test_close_ends_a_blocked_read_at_once(
    rtsp_server_shared: RtspServer, stall_proxy_factory: Callable[[str, int], StallProxy]
) -> None:
    """A camera taken off the wall stops now, not after its read timeout (here 20 s)."""
    proxy = stall_proxy_factory(rtsp_server_shared.host, rtsp_server_shared.port)
    src = _source_through(proxy, rtsp_server_shared, read_timeout_s=20.0)
    proxy.stall()
    done = threading.Event()
    result: list[object] = []

    def reader() -> None:
        try:
            while True:
                img = src.read(20.0)
                if img is None:
                    break
        except SourceUnavailable as e:
            result.append(e)
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(1.0)  # now blocked inside ffmpeg, waiting for data that will not come
    assert not done.is_set()
    t0 = time.monotonic()
    src.close()
    assert done.wait(2.0), "close() did not end the blocked read"
    assert time.monotonic() - t0 < 1.0
    t.join(2.0)


def test_log_capture_is_counted_across_threads() -> None:
    """Two cameras opening at once: lines flow until the last of them is done."""
    assert not log_capture_active()
    inside = threading.Barrier(2)
    first_left = threading.Event()
    seen: list[bool] = []

    def opener(leave_first: bool) -> None:
        with libav_log_capture():
            inside.wait(5)
            if leave_first:
                return
            first_left.wait(5)
            seen.append(log_capture_active())  # the other open ended, this one has not

    def first() -> None:
        opener(True)
        first_left.set()

    threads = [threading.Thread(target=first), threading.Thread(target=opener, args=(False,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [True]
    assert not log_capture_active()


def test_failed_open_still_names_ffmpegs_reason(tmp_path: Path) -> None:
    """Log lines are on while opening: the reason reaches the message, redacted."""
    bad = tmp_path / "not-a-video.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\xff" * 4000)
    src = PyAVSource(parse_stream_url(str(bad)))
    with pytest.raises(Exception, match="cannot read") as info:
        src.open(3.0)
    assert "not-a-video" in str(info.value)
    assert not log_capture_active()


def test_unrecognised_pyav_layout_falls_back_to_pyavs_read_timeout(
    test_clips: ClipSet, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A PyAV whose objects are laid out differently still gets a read timeout: its own."""
    import rtcc_wall.video.avio as avio

    monkeypatch.setattr(avio, "_deadlines_ok", True)  # restored after the test
    monkeypatch.setattr(avio, "_find_timeout_info", lambda container: None)
    spec = parse_stream_url(str(test_clips.clip_360p))
    src = PyAVSource(spec, loop=True)
    try:
        src.open(5.0)
        assert caplog.text.count("cannot keep read deadlines") == 1
        container = src._container
        assert container is not None
        assert container.read_timeout is not None
        assert src.read(3.0) is not None  # and it plays
    finally:
        src.close()
    # decided once for the process: the next camera opens once, without the detour
    assert not avio.deadlines_supported()
    again = PyAVSource(spec, loop=True)
    try:
        again.open(5.0)
        assert caplog.text.count("cannot keep read deadlines") == 1
        assert again.read(3.0) is not None
    finally:
        again.close()


def test_time_outside_ffmpeg_is_not_a_read_timeout(test_clips: ClipSet) -> None:
    """The deadline covers each packet read inside ffmpeg, as PyAV's timeout did.

    A slow moment between packets (here the packet hook that fills the replay
    ring stalls 1.6 s, longer than the 1 s read timeout) is not a dead stream:
    the next reads must go on, not fail with "read timeout".
    """
    calls = 0

    def slow_hook(packet: av.Packet) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            time.sleep(1.6)

    src = PyAVSource(parse_stream_url(str(test_clips.clip_360p)), read_timeout_s=1.0)
    src.on_packet = slow_hook
    try:
        src.open(5.0)
        for _ in range(6):
            assert src.read(1.0) is not None
    finally:
        src.close()
    assert calls >= 6
