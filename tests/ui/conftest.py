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
    def __init__(self) -> None:
        self.workers: dict[str, FakeWorker] = {}
        self.holders: dict[str, set[int]] = {}

    def acquire(self, camera_id: str, consumer: object) -> FakeWorker:
        self.holders.setdefault(camera_id, set()).add(id(consumer))
        return self.workers.setdefault(camera_id, FakeWorker(camera_id))

    def release(self, camera_id: str, consumer: object) -> None:
        self.holders.get(camera_id, set()).discard(id(consumer))

    def set_target_size(self, camera_id: str, consumer: object, w: int, h: int) -> None:
        self.workers[camera_id].target = (w, h)

    def running_ids(self) -> set[str]:
        return {k for k, v in self.holders.items() if v}

    def shutdown(self) -> None:
        self.holders.clear()


@pytest.fixture
def fake_manager() -> FakeManager:
    return FakeManager()
