"""Fakes for UI tests: a stream manager whose workers the test feeds by hand."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from rtcc_wall.core.cameras import CameraState
from rtcc_wall.video.frames import Frame, LatestFrame


@dataclass
class FakeWorker:
    camera_id: str
    latest: LatestFrame = field(default_factory=LatestFrame)
    state: CameraState = CameraState.CONNECTING
    target: tuple[int, int] = (0, 0)
    seq: int = 0
    captured_at: float | None = None
    last_error: str = ""
    awaiting_picture: bool = False

    def frame_age(self, now: float | None = None) -> float | None:
        if self.captured_at is None:
            return None
        return (time.monotonic() if now is None else now) - self.captured_at

    def push(self, bgr: tuple[int, int, int], *, age_s: float = 0.0) -> Frame:
        w, h = self.target if self.target[0] > 0 else (320, 180)
        img = np.empty((h, w, 4), dtype=np.uint8)
        img[:, :, 0], img[:, :, 1], img[:, :, 2], img[:, :, 3] = (*bgr, 255)
        self.seq += 1
        self.captured_at = time.monotonic() - age_s
        f = Frame(
            image=img,
            seq=self.seq,
            captured_at=self.captured_at,
            wall_time=dt.datetime.now(dt.UTC),
            source_size=(w, h),
        )
        self.latest.publish(f)
        return f


class FakeManager:
    """Same interface as StreamManager; one FakeWorker per (camera, variant)."""

    #: no replay buffers (the status bar says "Replay off")
    replay_seconds = 0.0

    def __init__(self, with_sub: set[str] | None = None) -> None:
        self.with_sub = with_sub or set()
        self.workers: dict[tuple[str, str], FakeWorker] = {}
        self.holders: dict[tuple[str, str], set[int]] = {}

    def has_sub_stream(self, camera_id: str) -> bool:
        return camera_id in self.with_sub

    def _key(self, camera_id: str, variant: str) -> tuple[str, str]:
        return (camera_id, variant if camera_id in self.with_sub else "main")

    def acquire(self, camera_id: str, consumer: object, variant: str = "main") -> FakeWorker:
        key = self._key(camera_id, variant)
        self.holders.setdefault(key, set()).add(id(consumer))
        return self.workers.setdefault(key, FakeWorker(camera_id))

    def release(self, camera_id: str, consumer: object, variant: str = "main") -> None:
        self.holders.get(self._key(camera_id, variant), set()).discard(id(consumer))

    def set_target_size(
        self, camera_id: str, consumer: object, w: int, h: int, variant: str = "main"
    ) -> None:
        self.workers[self._key(camera_id, variant)].target = (w, h)

    def worker(self, camera_id: str, variant: str = "main") -> FakeWorker:
        return self.workers[self._key(camera_id, variant)]

    def running_ids(self) -> set[str]:
        return {k[0] for k, v in self.holders.items() if v}

    def running_streams(self) -> set[tuple[str, str]]:
        return {k for k, v in self.holders.items() if v}

    def shutdown(self) -> None:
        self.holders.clear()


@pytest.fixture
def fake_manager() -> FakeManager:
    return FakeManager()
