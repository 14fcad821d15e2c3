"""``rtcc-wall probe``: connect to one camera exactly as a tile would, and say what happened.

Why a real ``CameraWorker`` with the real source instead of a bare ``av.open``:
the question an installer asks is "will this camera work on the wall?", so
the probe must go through the same open options, timeouts, reconnects,
display-size conversion and error classification as a tile. It watches for
a few seconds and reports every state change with its time since the start,
then a summary (time to first frame, resolution, codec, measured fps,
frames, reconnects, last error). Everything it returns is redacted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from rtcc_wall.core.cameras import Camera, CameraState
from rtcc_wall.core.redact import redact
from rtcc_wall.core.streams import StreamUrlError, parse_stream_url
from rtcc_wall.video.sources import FrameSource, Unsupported, make_source
from rtcc_wall.video.worker import CameraWorker

if TYPE_CHECKING:
    from rtcc_wall.video.sim import SimWorld

#: The tile size a probe decodes for: a typical 3x3 wall tile.
PROBE_BOX = (640, 360)


@dataclass(frozen=True)
class StateChange:
    t: float  # seconds since the probe started
    state: str
    detail: str  # redacted

    def line(self) -> str:
        detail = f"  {self.detail}" if self.detail and self.detail != self.state else ""
        return f"+{self.t:.2f}s {self.state}{detail}"


@dataclass
class ProbeResult:
    """What a probe saw; every string is redacted."""

    target: str
    camera_id: str | None
    seconds: float
    ok: bool = False
    #: the stream answered (opened); a long wait from here to the first frame is the
    #: camera's GOP: a picture can only start at a key frame
    time_to_connect_s: float | None = None
    time_to_first_frame_s: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    fps: float | None = None
    frames: int = 0
    reconnects: int = 0
    last_error: str = ""
    final_state: str = ""
    states: list[StateChange] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_lines(self) -> list[str]:
        def opt(v: object, fmt: str = "{}") -> str:
            return "-" if v is None else fmt.format(v)

        res = f"{self.width}x{self.height}" if self.width and self.height else "-"
        return [
            f"connected     {opt(self.time_to_connect_s, '{:.2f} s')}",
            f"first frame   {opt(self.time_to_first_frame_s, '{:.2f} s')}",
            f"resolution    {res}",
            f"codec         {opt(self.codec)}",
            f"fps           {opt(self.fps, '{:.1f}')}",
            f"frames        {self.frames}",
            f"reconnects    {self.reconnects}",
            f"state         {self.final_state}",
            f"last error    {self.last_error or '-'}",
        ]


def probe_camera(
    camera: Camera,
    *,
    seconds: float = 5.0,
    sim_world_provider: Callable[[], SimWorld] | None = None,
    on_change: Callable[[StateChange], None] | None = None,
    box: tuple[int, int] = PROBE_BOX,
    clock: Callable[[], float] = time.monotonic,
    worker_options: dict[str, Any] | None = None,
) -> ProbeResult:
    """Runs a real worker on ``camera`` for ``seconds`` and reports what it saw.

    ``on_change`` is called (on the worker's thread, or this one for STALE)
    with each state change as it happens, for live printing.
    """
    t0 = clock()
    lock = threading.Lock()
    changes: list[StateChange] = []
    made: list[FrameSource] = []
    live_at: list[float] = []

    def record(_cid: str, state: CameraState, detail: str) -> None:
        t = clock() - t0
        change = StateChange(round(t, 3), state.value, redact(detail))
        with lock:
            changes.append(change)
            if state is CameraState.LIVE and not live_at:
                live_at.append(t)
        if on_change is not None:
            on_change(change)

    def factory() -> FrameSource:
        try:
            spec = parse_stream_url(camera.stream)
        except StreamUrlError as e:
            raise Unsupported(str(e)) from None
        src = make_source(
            camera, spec, sim_world_provider=sim_world_provider, width=box[0], height=box[1]
        )
        with lock:
            made.append(src)
        return src

    options: dict[str, Any] = {"clock": clock, **(worker_options or {})}
    worker = CameraWorker(camera.id, factory, on_state=record, **options)
    worker.set_target_size(*box)
    worker.start()
    deadline = t0 + max(0.0, seconds)
    wake = threading.Event()
    first_seq = 0
    first_captured: float | None = None
    try:
        while (remaining := deadline - clock()) > 0:
            wake.wait(min(0.25, remaining))
            worker.poll_stale()
            if first_captured is None:
                f = worker.latest.get()
                if f is not None:
                    first_seq, first_captured = f.seq, f.captured_at
    finally:
        last = worker.latest.get()
        frames = worker.frames
        age = worker.frame_age()
        end = clock()
        final_state = worker.state
        opened_at = worker.first_opened_at
        worker.stop(2.0)
    result = ProbeResult(
        target=redact(camera.stream),
        camera_id=camera.id,
        seconds=seconds,
        frames=frames,
        reconnects=worker.reconnects,
        last_error=redact(worker.last_error),
        final_state=final_state.value,
    )
    with lock:
        result.states = list(changes)
        sources = list(made)
        if live_at:
            result.time_to_first_frame_s = round(live_at[0], 3)
    if opened_at is not None:
        result.time_to_connect_s = round(max(0.0, opened_at - t0), 3)
    result.ok = frames > 0
    if last is not None:
        result.width, result.height = last.source_size
        # frames between the first one seen and the newest, over the time between them
        if first_captured is not None and age is not None:
            span = (end - age) - first_captured
            if span > 0 and last.seq > first_seq:
                result.fps = round((last.seq - first_seq) / span, 2)
    for src in reversed(sources):
        codec = getattr(src, "codec_name", None)
        if isinstance(codec, str) and codec:
            result.codec = codec
            break
    return result
