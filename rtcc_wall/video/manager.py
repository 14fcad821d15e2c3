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

Replay (``video/replay.py``): every running stream worker fills a
``ReplayRing`` of its last ``replay_seconds`` (0: none). When a camera's last
stream stops, its rings are closed (emptied) at once, in ``release``, so a
private camera whose view ended keeps nothing. When one stream of a camera
stops while another keeps running (a tile switching between sub-stream and
main stream), the stopped stream's ring is kept, no longer fed, until it has
aged out of the replay window or the camera's last stream stops: the
operator who maximizes a small tile still has the minute before.
``replay(camera_id)`` returns whichever ring covers more of the last
``replay_seconds`` (the main stream's when they tie).
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
from rtcc_wall.video.replay import DEFAULT_MAX_BYTES, ReplayRing
from rtcc_wall.video.sources import FrameSource, Unsupported, make_source, use_rtsp_over_tcp
from rtcc_wall.video.worker import CameraWorker, StateCallback

if TYPE_CHECKING:
    from rtcc_wall.video.sim import SimWorld

log = logging.getLogger(__name__)

SourceBuilder = Callable[[Camera], FrameSource]

#: All replay rings together hold at most this much by default (``wall.replay_budget_mb``).
DEFAULT_BUDGET_BYTES = 1024 * 2**20

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
        replay_seconds: float = 60.0,
        replay_max_bytes: int = DEFAULT_MAX_BYTES,
        replay_budget_bytes: int = DEFAULT_BUDGET_BYTES,
    ) -> None:
        """``source_builder`` replaces ``make_source`` (tests, replay);
        ``worker_options`` are passed to every ``CameraWorker`` (timeouts, backoff);
        ``mask_provider_for(camera_id)`` gives each worker of that camera, main and
        sub-stream alike, its privacy-mask provider (``MaskController.provider``);
        ``replay_seconds`` (0: off) and ``replay_max_bytes`` bound each stream's
        replay ring; ``replay_budget_bytes`` bounds them all together: it is
        shared evenly among the rings of the running streams (each at most
        ``replay_max_bytes``), so 64 high-bitrate cameras cannot fill the
        workstation's memory."""
        if not 0.0 <= replay_seconds <= 3600.0:
            raise ValueError(f"replay_seconds must be 0-3600, got {replay_seconds}")
        self._cameras = dict(cameras)
        self._network_provider = network_provider
        self.stale_after_s = stale_after_s
        self._on_state = on_state
        self._source_builder = source_builder
        self._sim_size = sim_size
        self._worker_options = dict(worker_options or {})
        self._mask_provider_for = mask_provider_for
        self.replay_seconds = float(replay_seconds)
        self._replay_max_bytes = replay_max_bytes
        if replay_budget_bytes <= 0:
            raise ValueError(f"replay_budget_bytes must be positive, got {replay_budget_bytes}")
        self._replay_budget = int(replay_budget_bytes)
        self._lock = threading.RLock()
        self._workers: dict[StreamKey, CameraWorker] = {}
        self._rings: dict[StreamKey, ReplayRing] = {}  # of running workers
        self._retired: dict[str, ReplayRing] = {}  # of a stopped stream; another one runs
        # released workers that may still be ending: shutdown() must wait for them too,
        # or the process exits with a thread inside OpenCV (observed: abort at exit)
        self._stopping: list[CameraWorker] = []
        self._consumers: dict[StreamKey, dict[Hashable, tuple[int, int] | None]] = {}
        self._town = _SimTown(network_provider)
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
                ring = None
                if self.replay_seconds > 0:
                    ring = ReplayRing(camera_id, self.replay_seconds, self._replay_max_bytes)
                    self._rings[key] = ring
                    self._share_budget()
                worker = self._new_worker(camera, ring)
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
        with self._lock:
            self._retire_ring(key)

    def _share_budget(self) -> None:
        """Each ring's cap: an even share of the budget (rings trim on their next packet)."""
        rings = [*self._rings.values(), *self._retired.values()]
        if not rings:
            return
        cap = max(1, min(self._replay_max_bytes, self._replay_budget // len(rings)))
        for r in rings:
            r.max_bytes = cap

    def replay_cap_bytes(self) -> int | None:
        """What each ring may hold now (None: no rings)."""
        with self._lock:
            rings = [*self._rings.values(), *self._retired.values()]
            return rings[0].max_bytes if rings else None

    def _retire_ring(self, key: StreamKey) -> None:
        """After ``key``'s worker was told to stop: keep its ring while the camera streams."""
        ring = self._rings.pop(key, None)
        camera_id = key[0]
        if any(cid == camera_id for cid, _variant in self._workers):
            if ring is not None:
                old = self._retired.pop(camera_id, None)
                if old is not None:
                    old.close()
                self._retired[camera_id] = ring
            self._share_budget()
            return
        # the camera's last stream stopped: nothing of it is kept
        for r in (ring, self._retired.pop(camera_id, None)):
            if r is not None:
                r.close()
        self._share_budget()

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

    # ------------------------------------------------------------------ replay
    def replay(self, camera_id: str) -> ReplayRing | None:
        """The replay ring of the camera that covers most of the last ``replay_seconds``.

        The running main stream's ring, unless the camera plays its sub-stream
        only (then that one's) or switched streams recently (then the older
        ring, kept, may cover more; see the module docstring). None when the
        camera has no stream running or replay is off.
        """
        now = time.time()
        with self._lock:
            self._prune_retired(now)
            candidates = [
                r
                for r in (
                    self._rings.get((camera_id, "main")),
                    self._rings.get((camera_id, "sub")),
                    self._retired.get(camera_id),
                )
                if r is not None
            ]
        if not candidates:
            return None
        return max(candidates, key=lambda r: self._coverage(r, now))  # the first on a tie

    def _coverage(self, ring: ReplayRing, now: float) -> float:
        """Seconds of [now - replay_seconds, now] that ``ring`` holds pictures of."""
        span = ring.time_span()
        if span is None:
            return 0.0
        start, end = span
        return max(0.0, min(end, now) - max(start, now - self.replay_seconds))

    def _prune_retired(self, now: float) -> None:
        """Closes kept rings whose pictures all aged out of the replay window."""
        for camera_id, ring in list(self._retired.items()):
            if self._coverage(ring, now) <= 0.0:
                del self._retired[camera_id]
                ring.close()

    def replay_total_bytes(self) -> int:
        """Bytes held by every replay ring (running streams and kept ones)."""
        with self._lock:
            self._prune_retired(time.time())
            rings = [*self._rings.values(), *self._retired.values()]
        return sum(r.total_bytes for r in rings)

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
            rings = [*self._rings.values(), *self._retired.values()]
            self._rings.clear()
            self._retired.clear()
        self._watchdog_stop.set()
        for w in workers:
            w.request_stop()
        for r in rings:
            r.close()
        deadline = time.monotonic() + timeout_s
        joined = True
        for w in workers:
            joined = w.stop(max(0.0, deadline - time.monotonic())) and joined
        if self._watchdog is not None:
            self._watchdog.join(max(0.0, deadline - time.monotonic()))
        return joined

    # ------------------------------------------------------------------ internals
    def _new_worker(self, camera: Camera, ring: ReplayRing | None = None) -> CameraWorker:
        # The camera thread gets plain values, never ``self``: the manager holds its
        # consumers (the UI's tiles), and a thread must not hold the last reference
        # to a Qt object (it would destroy it there; see ui/gui_thread.py).
        builder, size = self._source_builder, self._sim_size
        town = self._town.get if self._network_provider else None

        def factory() -> FrameSource:
            if builder is not None:
                return builder(camera)
            try:
                spec = parse_stream_url(camera.stream)
            except StreamUrlError as e:
                raise Unsupported(str(e)) from None
            return make_source(camera, spec, sim_world_provider=town, width=size[0], height=size[1])

        opts = self._worker_options
        masks = self._mask_provider_for(camera.id) if self._mask_provider_for else None
        return CameraWorker(
            camera.id,
            factory,
            stale_after_s=self.stale_after_s,
            on_state=self._on_state,
            mask_provider=masks,
            replay=ring,
            **opts,
        )

    def sim_world(self) -> SimWorld:
        """The shared simulated town (built now if no sim camera has started yet)."""
        return self._town.get()

    def _ensure_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=_watch,
                args=(self._watchdog_stop, self._lock, self._workers),  # not ``self``: see above
                name="camera-watchdog",
                daemon=True,
            )
            self._watchdog.start()


def _watch(
    stop: threading.Event, lock: threading.RLock, workers: dict[StreamKey, CameraWorker]
) -> None:
    """The watchdog thread: turns "no frame for a while" into STALE."""
    while not stop.wait(WATCHDOG_PERIOD_S):
        with lock:
            running = list(workers.values())
        for w in running:
            w.poll_stale()


class _SimTown:
    """The one simulated town of a manager, built on first use (on a worker thread)."""

    def __init__(self, network_provider: Callable[[], RoadNetwork] | None) -> None:
        self._network_provider = network_provider
        self._world: SimWorld | None = None
        self._lock = threading.Lock()

    def get(self) -> SimWorld:
        with self._lock:
            if self._world is None:
                from rtcc_wall.video.sim import SimWorld

                if self._network_provider is None:
                    raise Unsupported("sim:// cameras need a road network")
                self._world = SimWorld(self._network_provider(), vehicles=SIM_VEHICLES)
            return self._world
