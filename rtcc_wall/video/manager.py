"""Which cameras are decoded right now: one worker per watched camera, none for the rest.

Why reference counting: a city has hundreds of cameras and a wall shows a few
dozen. Decoding costs CPU and every open connection counts against a camera's
client limit, so a worker exists only while at least one consumer (a tile, a
recorder) holds the camera; the same camera on two walls shares one worker,
decoded at the largest size any of them asked for.

The simulated town behind ``sim://`` cameras is expensive to build (a road
network, hundreds of vehicles) and all sim cameras must look into the *same*
world, so it is created lazily, once, on the first sim camera's worker thread.

A watchdog thread turns "no frame for a while" into an ``on_state`` STALE
event (see ``worker.py``: a worker blocked in ``read()`` cannot say it).

Releasing never blocks the caller (usually the GUI thread): the worker is told
to stop and ends on its own; ``shutdown()`` waits for all of them, in parallel,
with one deadline.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Literal

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.masks import MaskProvider
from rtcc_wall.core.roads import RoadNetwork
from rtcc_wall.core.streams import StreamUrlError, parse_stream_url
from rtcc_wall.video.sources import FrameSource, Unsupported, make_source, use_rtsp_over_tcp
from rtcc_wall.video.worker import CameraWorker, StateCallback

if TYPE_CHECKING:
    from rtcc_wall.video.sim import SimWorld

log = logging.getLogger(__name__)

SourceBuilder = Callable[[Camera], FrameSource]

#: Python's GIL switch interval while camera threads run (default is 5 ms).
GIL_SWITCH_S = 0.002

#: How often the watchdog looks for cameras that went stale.
WATCHDOG_PERIOD_S = 0.25


#: Vehicles in the demo town: with 1,200, city cameras have a vehicle in view
#: about 85 % of the time (500 gave 69 %); the world costs ~1.8 ms per simulated second.
SIM_VEHICLES = 1200

#: Which of a camera's streams: its main stream or its low-resolution sub-stream.
Variant = Literal["main", "sub"]
StreamKey = tuple[str, Variant]


class StreamManager:
    """Starts and stops camera workers as consumers come and go."""

    def __init__(
        self,
        cameras: dict[str, Camera],
        *,
        network_provider: Callable[[], RoadNetwork] | None,
        stale_after_s: float = 3.0,
        on_state: StateCallback | None = None,
        source_builder: SourceBuilder | None = None,
        sim_size: tuple[int, int] = (640, 360),
        worker_options: dict[str, Any] | None = None,
        mask_provider_for: Callable[[str], MaskProvider] | None = None,
    ) -> None:
        """``source_builder`` replaces ``make_source`` (tests, replay);
        ``worker_options`` are passed to every ``CameraWorker`` (timeouts, backoff);
        ``mask_provider_for(camera_id)`` gives each worker of that camera, main and
        sub-stream alike, its privacy-mask provider (``MaskController.provider``)."""
        self._cameras = dict(cameras)
        self._network_provider = network_provider
        self.stale_after_s = stale_after_s
        self._on_state = on_state
        self._source_builder = source_builder
        self._sim_size = sim_size
        self._worker_options = dict(worker_options or {})
        self._mask_provider_for = mask_provider_for
        self._lock = threading.RLock()
        self._workers: dict[StreamKey, CameraWorker] = {}
        # released workers that may still be ending: shutdown() must wait for them too,
        # or the process exits with a thread inside OpenCV (observed: abort at exit)
        self._stopping: list[CameraWorker] = []
        self._consumers: dict[StreamKey, dict[Hashable, tuple[int, int] | None]] = {}
        self._world: SimWorld | None = None
        self._world_lock = threading.Lock()
        self._closed = False
        self._watchdog_stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        # Process-global, so set here on the main thread before any worker opens a stream.
        use_rtsp_over_tcp()
        # Dozens of camera threads wake together when a network hiccups (timeouts,
        # reconnects); with Python's default 5 ms GIL switch interval the GUI thread
        # can wait behind all of them. 2 ms keeps the wall responsive (process-wide).
        if sys.getswitchinterval() > GIL_SWITCH_S:
            sys.setswitchinterval(GIL_SWITCH_S)

    # ------------------------------------------------------------------ consumers
    def has_sub_stream(self, camera_id: str) -> bool:
        cam = self._cameras.get(camera_id)
        return cam is not None and bool(cam.sub_stream)

    def acquire(
        self, camera_id: str, consumer: Hashable, variant: Variant = "main"
    ) -> CameraWorker:
        """The worker of one of the camera's streams, started if needed; ``consumer`` holds it.

        ``variant="sub"`` falls back to the main stream when the camera has no sub-stream.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("stream manager is shut down")
            camera = self._cameras.get(camera_id)
            if camera is None:
                raise KeyError(f"unknown camera {camera_id!r}")
            key = self._key(camera_id, variant)
            holders = self._consumers.setdefault(key, {})
            holders.setdefault(consumer, None)
            worker = self._workers.get(key)
            if worker is None:
                if key[1] == "sub":
                    camera = dataclasses.replace(camera, stream=camera.sub_stream or "")
                worker = self._new_worker(camera)
                self._workers[key] = worker
                self._apply_size(key)
                worker.start()
                self._ensure_watchdog()
            return worker

    def release(self, camera_id: str, consumer: Hashable, variant: Variant = "main") -> None:
        """``consumer`` no longer looks; the worker stops when nobody does (no waiting)."""
        with self._lock:
            key = self._key(camera_id, variant)
            holders = self._consumers.get(key)
            if holders is None or consumer not in holders:
                return
            del holders[consumer]
            if holders:
                self._apply_size(key)
                return
            del self._consumers[key]
            worker = self._workers.pop(key, None)
            self._stopping = [w for w in self._stopping if w.running]
            if worker is not None:
                self._stopping.append(worker)
        if worker is not None:
            worker.request_stop()

    def set_target_size(
        self, camera_id: str, consumer: Hashable, w: int, h: int, variant: Variant = "main"
    ) -> None:
        """The consumer's display box; the worker decodes for the largest box of all."""
        with self._lock:
            key = self._key(camera_id, variant)
            holders = self._consumers.get(key)
            if holders is None or consumer not in holders:
                return
            holders[consumer] = (max(1, int(w)), max(1, int(h)))
            self._apply_size(key)

    def _key(self, camera_id: str, variant: Variant) -> StreamKey:
        if variant == "sub" and self.has_sub_stream(camera_id):
            return (camera_id, "sub")
        return (camera_id, "main")

    def _apply_size(self, key: StreamKey) -> None:
        worker = self._workers.get(key)
        sizes = [s for s in self._consumers.get(key, {}).values() if s is not None]
        if worker is not None and sizes:
            worker.set_target_size(max(s[0] for s in sizes), max(s[1] for s in sizes))

    def worker(self, camera_id: str, variant: Variant = "main") -> CameraWorker | None:
        with self._lock:
            return self._workers.get(self._key(camera_id, variant))

    def running_ids(self) -> list[str]:
        """Cameras with at least one running stream worker, sorted."""
        with self._lock:
            return sorted({cid for cid, _variant in self._workers})

    def running_streams(self) -> list[StreamKey]:
        """(camera id, variant) of every running worker, sorted."""
        with self._lock:
            return sorted(self._workers)

    def consumers(self, camera_id: str, variant: Variant = "main") -> int:
        with self._lock:
            return len(self._consumers.get(self._key(camera_id, variant), {}))

    # ------------------------------------------------------------------ lifecycle
    def shutdown(self, timeout_s: float = 2.0) -> bool:
        """Stops every worker, waiting for all of them together; True if all ended."""
        with self._lock:
            self._closed = True
            workers = list(self._workers.values()) + self._stopping
            self._workers.clear()
            self._consumers.clear()
            self._stopping = []
        self._watchdog_stop.set()
        for w in workers:
            w.request_stop()
        deadline = time.monotonic() + timeout_s
        joined = True
        for w in workers:
            joined = w.stop(max(0.0, deadline - time.monotonic())) and joined
        if self._watchdog is not None:
            self._watchdog.join(max(0.0, deadline - time.monotonic()))
        return joined

    # ------------------------------------------------------------------ internals
    def _new_worker(self, camera: Camera) -> CameraWorker:
        def factory() -> FrameSource:
            if self._source_builder is not None:
                return self._source_builder(camera)
            try:
                spec = parse_stream_url(camera.stream)
            except StreamUrlError as e:
                raise Unsupported(str(e)) from None
            return make_source(
                camera,
                spec,
                sim_world_provider=self._sim_world if self._network_provider else None,
                width=self._sim_size[0],
                height=self._sim_size[1],
            )

        opts = self._worker_options
        masks = self._mask_provider_for(camera.id) if self._mask_provider_for else None
        return CameraWorker(
            camera.id,
            factory,
            stale_after_s=self.stale_after_s,
            on_state=self._on_state,
            mask_provider=masks,
            **opts,
        )

    def sim_world(self) -> SimWorld:
        """The shared simulated town (built now if no sim camera has started yet)."""
        return self._sim_world()

    def _sim_world(self) -> SimWorld:
        """The one simulated town, built on first use (on a worker thread)."""
        with self._world_lock:
            if self._world is None:
                from rtcc_wall.video.sim import SimWorld

                if self._network_provider is None:
                    raise Unsupported("sim:// cameras need a road network")
                self._world = SimWorld(self._network_provider(), vehicles=SIM_VEHICLES)
            return self._world

    def _ensure_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=self._watch, name="camera-watchdog", daemon=True
            )
            self._watchdog.start()

    def _watch(self) -> None:
        while not self._watchdog_stop.wait(WATCHDOG_PERIOD_S):
            with self._lock:
                workers = list(self._workers.values())
            for w in workers:
                w.poll_stale()
