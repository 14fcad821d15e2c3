"""Pytest fixtures that start real local video servers (loaded from ``tests/conftest.py``).

Why real servers: the camera code is mostly about how real peers fail
(timeouts, 401s, frozen connections, junk bytes); fakes only show what we
already expected. Everything here is started by the test suite itself and
cleaned up by fixture finalizers:

* ``test_clips``       -- H.264 MP4 clips made once per session with ffmpeg;
* ``rtsp_server``      -- a fresh gst-rtsp-server child per test (may be killed);
* ``rtsp_server_shared`` -- one per module, for tests that only read from it;
* ``rtsp_auth_server`` -- the same mounts behind Basic auth ``viewer:s3cret-pw``;
* ``mjpeg_server``     -- an MJPEG-over-HTTP camera with switchable faults;
* ``stall_proxy_factory``, ``garbage_server``, ``silent_server`` -- see faults.py.

RTSP fixtures skip only when the system Python lacks GstRtspServer (see
``gst_rtsp_available``); the README's test command installs it.
"""

from __future__ import annotations

import functools
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.faults import GarbageServer, SilentServer, StallProxy
from tests.servers.mjpeg import MjpegServer
from tests.servers.rtsp import RtspServer, gst_rtsp_available

RTSP_USER = "viewer"
RTSP_PASSWORD = "s3cret-pw"
LIVE_SPEC = "640x360@15"


@functools.cache
def gst_rtsp_status() -> tuple[bool, str]:
    """Cached ``gst_rtsp_available()``: one subprocess per test session."""
    return gst_rtsp_available()


def requires_gst_rtsp() -> pytest.MarkDecorator:
    """A skipif marker for tests that need the RTSP server child process."""
    ok, why = gst_rtsp_status()
    return pytest.mark.skipif(not ok, reason=why or "GstRtspServer available")


def skip_without_gst_rtsp() -> None:
    ok, why = gst_rtsp_status()
    if not ok:
        pytest.skip(why)


# --------------------------------------------------------------------------- clips


@dataclass(frozen=True)
class ClipSet:
    """Paths of the generated test media (all in one session tmp dir)."""

    clip_360p: Path  # 640x360 @ 15 fps, 10 s, keyframe every 1 s
    clip_720p: Path  # 1280x720 @ 25 fps, 10 s
    clip_sub: Path  # 320x180 @ 15 fps, 10 s: a camera's sub-stream
    clip_long_gop: Path  # 640x360 @ 15 fps, 12 s, a key frame every 4 s (at 0, 4, 8 s)
    truncated_mp4: Path  # clip_360p cut at half its bytes (moov at the front: half plays)
    garbage_file: Path  # random bytes named .mp4


def _ffmpeg_clip(
    path: Path, width: int, height: int, fps: int, seconds: int, gop: int | None = None
) -> list[str]:
    """An H.264 clip that a live camera could have sent: no B-frames, a key frame every
    ``gop`` frames (default: every second)."""
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}",
        "-t", str(seconds), "-an",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-profile:v", "baseline" if width * height <= 640 * 360 else "main",
        "-pix_fmt", "yuv420p", "-g", str(gop or fps), "-keyint_min", str(gop or fps),
        "-sc_threshold", "0",
        "-bf", "0", "-crf", "28", "-movflags", "+faststart",
        str(path),
    ]  # fmt: skip


def make_clips(directory: Path) -> ClipSet:
    """Encodes the clips in parallel (about 1 s on two cores) and derives the broken ones."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is needed to make the test clips (apt-get install ffmpeg)")
    clips = ClipSet(
        clip_360p=directory / "clip_360p.mp4",
        clip_720p=directory / "clip_720p.mp4",
        clip_sub=directory / "clip_sub.mp4",
        clip_long_gop=directory / "clip_long_gop.mp4",
        truncated_mp4=directory / "truncated.mp4",
        garbage_file=directory / "garbage.mp4",
    )
    jobs = [
        subprocess.Popen(_ffmpeg_clip(clips.clip_360p, 640, 360, 15, 10), stderr=subprocess.PIPE),
        subprocess.Popen(_ffmpeg_clip(clips.clip_720p, 1280, 720, 25, 10), stderr=subprocess.PIPE),
        subprocess.Popen(_ffmpeg_clip(clips.clip_sub, 320, 180, 15, 10), stderr=subprocess.PIPE),
        subprocess.Popen(
            _ffmpeg_clip(clips.clip_long_gop, 640, 360, 15, 12, gop=60), stderr=subprocess.PIPE
        ),
    ]
    errors = []
    for job in jobs:
        _, err = job.communicate(timeout=60)
        if job.returncode != 0:
            errors.append(err.decode(errors="replace"))
    if errors:
        raise RuntimeError("ffmpeg failed to make the test clips:\n" + "\n".join(errors))
    data = clips.clip_360p.read_bytes()
    clips.truncated_mp4.write_bytes(data[: len(data) // 2])
    clips.garbage_file.write_bytes(random.Random(20240601).randbytes(256 * 1024))
    return clips


@pytest.fixture(scope="session")
def test_clips(tmp_path_factory: pytest.TempPathFactory) -> ClipSet:
    return make_clips(tmp_path_factory.mktemp("clips"))


# --------------------------------------------------------------------------- RTSP


def standard_rtsp_server(clips: ClipSet, *, auth: tuple[str, str] | None = None) -> RtspServer:
    """``/cam`` 360p, ``/hd`` 720p, ``/sub`` 180p (looped files), ``/live`` x264 live."""
    return RtspServer(
        {"/cam": clips.clip_360p, "/hd": clips.clip_720p, "/sub": clips.clip_sub},
        {"/live": LIVE_SPEC},
        auth=auth,
    )


@pytest.fixture
def rtsp_server(test_clips: ClipSet) -> Iterator[RtspServer]:
    """A fresh server for this test only: kill, restart or stall it freely."""
    skip_without_gst_rtsp()
    server = standard_rtsp_server(test_clips)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def _rtsp_module_server(test_clips: ClipSet) -> Iterator[RtspServer]:
    skip_without_gst_rtsp()
    server = standard_rtsp_server(test_clips)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def rtsp_server_shared(_rtsp_module_server: RtspServer) -> RtspServer:
    """One server per test module (saves ~0.3 s a test); restarted if a test stopped it."""
    return _rtsp_module_server.start()


@pytest.fixture(scope="module")
def rtsp_auth_server(test_clips: ClipSet) -> Iterator[RtspServer]:
    """The standard mounts behind Basic auth ``viewer:s3cret-pw`` (one per module)."""
    skip_without_gst_rtsp()
    server = standard_rtsp_server(test_clips, auth=(RTSP_USER, RTSP_PASSWORD))
    try:
        yield server.start()
    finally:
        server.stop()


# --------------------------------------------------------------------------- HTTP / faults


@pytest.fixture
def mjpeg_server() -> Iterator[MjpegServer]:
    """An MJPEG camera at 15 fps, 320x180; set ``.mode`` to make it misbehave."""
    server = MjpegServer(user=RTSP_USER, password=RTSP_PASSWORD).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stall_proxy_factory() -> Iterator[Callable[[str, int], StallProxy]]:
    """Makes ``StallProxy(host, port)`` instances, all closed after the test."""
    made: list[StallProxy] = []

    def make(host: str, port: int) -> StallProxy:
        proxy = StallProxy(host, port)
        made.append(proxy)
        return proxy

    try:
        yield make
    finally:
        for proxy in made:
            proxy.close()


@pytest.fixture
def garbage_server() -> Iterator[GarbageServer]:
    server = GarbageServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()
