"""Fakes and helpers for the video tests: a scripted frame source, a state recorder,
small real video files, and waiting on conditions (never ``time.sleep``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtcc_wall.core.cameras import CameraState
from rtcc_wall.video.frames import BGRImage
from rtcc_wall.video.sources import SourceError

#: A script step: a picture to return, None (end of stream), an exception to raise,
#: BLOCK (block until closed or ``unblock`` is set), or STUCK (block ignoring close,
#: like a decoder stuck in C, until ``unblock`` is set).
BLOCK = "block"
STUCK = "stuck"
Step = BGRImage | None | BaseException | str


def picture(value: int = 0, w: int = 160, h: int = 120) -> BGRImage:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :] = (value % 256, 50, 200)
    return img


def wait_until(pred: Callable[[], bool], timeout_s: float = 5.0, poll_s: float = 0.005) -> bool:
    """Polls ``pred`` on an Event with a deadline; True when it became true."""
    deadline = time.monotonic() + timeout_s
    ev = threading.Event()
    while not pred():
        if time.monotonic() >= deadline:
            return pred()
        ev.wait(poll_s)
    return True


class FakeSource:
    """A FrameSource that plays a script; see ``Step``."""

    def __init__(
        self,
        steps: Iterable[Step] = (),
        *,
        open_error: SourceError | None = None,
        fps: float | None = None,
        name: str = "fake",
    ) -> None:
        self._steps: Iterator[Step] = iter(list(steps))
        self.open_error = open_error
        self.closed = threading.Event()
        self._wake = threading.Event()  # close() or unblock()
        self._released = threading.Event()  # unblock() only
        self.blocking = threading.Event()  # set once a read blocks
        self.opened = False
        self._fps = fps
        self.name = name

    @property
    def nominal_fps(self) -> float | None:
        return self._fps

    def open(self, timeout_s: float) -> None:
        if self.open_error is not None:
            raise self.open_error
        self.opened = True

    def read(self, timeout_s: float) -> BGRImage | None:
        if self.closed.is_set():
            return None
        step = next(self._steps, None)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, str) and step == BLOCK:
            self.blocking.set()
            self._wake.wait()
            if not self.closed.is_set():
                self._wake.clear()  # the next BLOCK blocks again
            return self.read(timeout_s)
        if isinstance(step, str) and step == STUCK:
            self.blocking.set()
            self._released.wait()  # ignores close(), like a call stuck in C
            return picture(1)
        if isinstance(step, np.ndarray):
            return step
        return None

    def unblock(self) -> None:
        """The frozen server moves on: a blocked read continues with the next step."""
        self._released.set()
        self._wake.set()

    def close(self) -> None:
        self.closed.set()
        self._wake.set()

    def describe(self) -> str:
        return self.name


class ScriptedFactory:
    """Hands out the given sources in turn (then fresh failing ones); records open times."""

    def __init__(self, sources: Iterable[FakeSource], clock: Callable[[], float] = time.monotonic):
        self._sources = list(sources)
        self._clock = clock
        self.calls: list[float] = []
        self.made: list[FakeSource] = []

    def __call__(self) -> FakeSource:
        self.calls.append(self._clock())
        src = self._sources.pop(0) if self._sources else FakeSource(name="exhausted")
        self.made.append(src)
        return src


class StateRecorder:
    """Records on_state calls; lets a test wait for a state."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.events: list[tuple[str, CameraState, str]] = []

    def __call__(self, camera_id: str, state: CameraState, detail: str) -> None:
        with self._cond:
            self.events.append((camera_id, state, detail))
            self._cond.notify_all()

    @property
    def states(self) -> list[CameraState]:
        with self._cond:
            return [s for _, s, _ in self.events]

    def wait_for(self, state: CameraState, timeout_s: float = 5.0, *, count: int = 1) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: sum(1 for _, s, _ in self.events if s is state) >= count, timeout_s
            )


def write_video(
    path: Path, frames: int = 64, size: tuple[int, int] = (320, 240), fps: float = 64.0
) -> Path:
    """A small mp4v video with the frame number drawn on every frame."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for i in range(frames):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, :, 1] = (i * 4) % 256
        cv2.putText(img, str(i), (20, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 3)
        writer.write(img)
    writer.release()
    return path


@pytest.fixture(scope="session")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4")


@pytest.fixture(autouse=True)
def no_leaked_workers() -> Iterator[None]:
    """Every test stops the camera threads it started."""
    yield

    def leaked() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("camera-")]

    assert wait_until(lambda: not leaked(), timeout_s=3.0), f"leaked threads: {leaked()}"


@pytest.fixture
def recorder() -> StateRecorder:
    return StateRecorder()
