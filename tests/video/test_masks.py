"""Privacy masks in the pixels: painted on the decoder thread, before a frame is published.

The pictures are checked pixel by pixel against ``to_display`` of the same
source picture: inside a mask every pixel has the mask's colours, outside it
(beyond the one-pixel growth) every pixel is exactly what it would have been.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from rtcc_wall.core.access import Operator
from rtcc_wall.core.audit import MASK_LIFT, MASK_RESTORE, AuditLog, read_events
from rtcc_wall.core.cameras import MaskPolygons
from rtcc_wall.core.masks import MaskController, MaskPolygon, MaskProvider
from rtcc_wall.video.frames import BGRImage, Frame, to_display
from rtcc_wall.video.manager import StreamManager, Variant
from rtcc_wall.video.masks import (
    HATCH_BGRA,
    HATCH_PERIOD,
    HATCH_WIDTH,
    MASK_BGRA,
    MaskPainter,
    apply_masks,
    is_mask_colour,
    make_plan,
)
from rtcc_wall.video.sources import FrameSource
from rtcc_wall.video.worker import CameraWorker
from tests.video.conftest import wait_until
from tests.video.test_sources import camera

SRC_W, SRC_H = 1280, 720
#: A rectangle off the pixel grid (so rounding matters) and a triangle.
RECT = ((0.2037, 0.1234), (0.4519, 0.1234), (0.4519, 0.5678), (0.2037, 0.5678))
TRIANGLE = ((0.6, 0.2), (0.95, 0.4), (0.7, 0.9))
MASKS: MaskPolygons = (RECT, TRIANGLE)
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05}
VARIANTS: tuple[Variant, ...] = ("main", "sub")


def noise(w: int = SRC_W, h: int = SRC_H, seed: int = 7) -> BGRImage:
    """A picture in which no two neighbours are alike: any change shows."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


class LoopSource:
    """A fake camera that delivers the same picture (a fresh array) at about 200 fps."""

    def __init__(self, img: BGRImage) -> None:
        self.img = img
        self.closed = threading.Event()

    @property
    def nominal_fps(self) -> float | None:
        return 200.0

    def open(self, timeout_s: float) -> None:
        pass

    def read(self, timeout_s: float) -> BGRImage | None:
        if self.closed.wait(0.005):
            return None
        return self.img.copy()

    def close(self) -> None:
        self.closed.set()

    def describe(self) -> str:
        return "loop"


class SizedViewSource(LoopSource):
    """A display-sized source that hands over a *view* into a buffer it keeps (a frame pool)."""

    def __init__(self, img: BGRImage) -> None:
        super().__init__(img)
        self.display_box: tuple[int, int] | None = None
        h, w = img.shape[:2]
        self.pool = np.zeros((h + 8, w, 4), np.uint8)
        self.pool[4 : 4 + h, :, :3] = img
        self.pool[4 : 4 + h, :, 3] = 255
        self.pool.flags.writeable = False  # what a decoder's buffer may well be
        self.handed: list[BGRImage] = []

    @property
    def source_size(self) -> tuple[int, int] | None:
        return int(self.img.shape[1]), int(self.img.shape[0])

    def read(self, timeout_s: float) -> BGRImage | None:
        if self.closed.wait(0.005):
            return None
        view = self.pool[4 : 4 + self.img.shape[0]]
        self.handed.append(view)
        return view


class SizedOwnSource(LoopSource):
    """A display-sized source that gives away a fresh BGRA array (like PyAVSource),
    three times, then waits to be closed."""

    def __init__(self, img: BGRImage) -> None:
        super().__init__(img)
        self.display_box: tuple[int, int] | None = None
        self.handed: list[BGRImage] = []

    @property
    def source_size(self) -> tuple[int, int] | None:
        return int(self.img.shape[1]), int(self.img.shape[0])

    def read(self, timeout_s: float) -> BGRImage | None:
        if len(self.handed) >= 3 or self.closed.wait(0.005):
            self.closed.wait()
            return None
        out = to_display(self.img, None)
        self.handed.append(out)
        return out


class Clock:
    """A settable aware clock for the mask controller."""

    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t


T0 = dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC)
SUPERVISOR = Operator("S. Lee", "supervisor")


# --------------------------------------------------------------------------- geometry


def _centres(w: int, h: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    return xx + 0.5, yy + 0.5  # pixel centres in continuous picture coordinates


def _edge_distances(
    poly: MaskPolygon, w: int, h: int, *, square: bool = False
) -> npt.NDArray[np.float64]:
    """(n_edges, h, w) signed distance (px) of every pixel centre to each edge's line,
    positive inside; for a convex polygon the minimum is the inside margin.

    ``square=True`` adds the half-extent of a pixel's square along the edge's normal,
    so a value > 0 on every edge means the square reaches into that edge's half-plane.
    """
    cx, cy = _centres(w, h)
    pts = [(x * w, y * h) for x, y in poly]
    area2 = sum(
        pts[i][0] * pts[(i + 1) % len(pts)][1] - pts[(i + 1) % len(pts)][0] * pts[i][1]
        for i in range(len(pts))
    )
    sign = 1.0 if area2 > 0 else -1.0
    out = []
    for i in range(len(pts)):
        (x0, y0), (x1, y1) = pts[i], pts[(i + 1) % len(pts)]
        ex, ey = x1 - x0, y1 - y0
        length = float(np.hypot(ex, ey))
        d = sign * (ex * (cy - y0) - ey * (cx - x0)) / length
        if square:
            d = d + (abs(ex) + abs(ey)) / length / 2.0
        out.append(d)
    return np.stack(out)


def must_be_masked(masks: Sequence[MaskPolygon], w: int, h: int) -> npt.NDArray[np.bool_]:
    """Every pixel whose square overlaps a (convex) mask, by the separating-axis test."""
    cx, cy = _centres(w, h)
    out = np.zeros((h, w), np.bool_)
    for poly in masks:
        xs, ys = [x * w for x, _ in poly], [y * h for _, y in poly]
        boxes = (cx + 0.5 > min(xs)) & (cx - 0.5 < max(xs))
        boxes &= (cy + 0.5 > min(ys)) & (cy - 0.5 < max(ys))
        out |= boxes & (_edge_distances(poly, w, h, square=True).min(axis=0) > 1e-9)
    return out


def may_be_masked(masks: Sequence[MaskPolygon], w: int, h: int) -> npt.NDArray[np.bool_]:
    """Pixels within the growth margin (centre at most 2.5 px outside any mask)."""
    out = np.zeros((h, w), np.bool_)
    for poly in masks:
        out |= _edge_distances(poly, w, h).min(axis=0) >= -2.5
    return out


def assert_masked_exactly(
    image: BGRImage, unmasked: BGRImage, masks: Sequence[MaskPolygon]
) -> None:
    h, w = image.shape[:2]
    inside = must_be_masked(masks, w, h)
    assert inside.sum() > 0
    is_mask = is_mask_colour(image)
    assert is_mask[inside].all(), f"{int((~is_mask[inside]).sum())} masked pixels show through"
    assert (image[inside][:, 3] == 255).all(), "the mask is opaque"
    outside = ~may_be_masked(masks, w, h)
    changed = np.any(image != unmasked, axis=-1)
    assert not changed[outside].any(), f"{int(changed[outside].sum())} pixels outside changed"


# --------------------------------------------------------------------------- painting


def test_apply_masks_paints_in_place_without_antialiasing() -> None:
    base = to_display(noise(640, 360), None)
    img = base.copy()
    out = apply_masks(img, MASKS)
    assert out is img, "painted in place, no copy"
    assert_masked_exactly(img, base, MASKS)
    painted = np.any(img != base, axis=-1)
    # only the two mask colours were written: no blended edge pixel
    assert is_mask_colour(img)[painted].all()
    colours = {tuple(int(c) for c in px) for px in img[is_mask_colour(img)]}
    assert colours == {MASK_BGRA, HATCH_BGRA}, "dark grey with a hatch"
    # the hatch is anchored to the picture: diagonal lines where (x + y) % period < width
    yy, xx = np.nonzero(painted)
    hatch = np.all(img[yy, xx] == HATCH_BGRA, axis=-1)
    assert np.array_equal(hatch, (xx + yy) % HATCH_PERIOD < HATCH_WIDTH)


def test_empty_masks_paint_nothing_and_bad_input_is_refused() -> None:
    base = to_display(noise(64, 36), None)
    img = base.copy()
    assert apply_masks(img, ()) is img
    assert np.array_equal(img, base)
    with pytest.raises(ValueError, match="BGRA"):
        apply_masks(noise(64, 36), MASKS)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        apply_masks(img, [[(0.0, 0.0), (1.5, 0.0), (1.0, 1.0)]])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        apply_masks(img, [[(0.0, 0.0), (float("nan"), 0.0), (1.0, 1.0)]])


def test_plans_are_cached_per_size_and_masks() -> None:
    painter = MaskPainter()
    p1 = painter.plan(MASKS, 320, 180)
    assert painter.plan(MASKS, 320, 180) is p1
    assert painter.plan([list(p) for p in MASKS], 320, 180) is p1, "lists compare by value"
    p2 = painter.plan(MASKS, 1280, 720)
    assert p2 is not p1
    assert p2.size == (1280, 720)
    # the scaled integer polygons follow the size
    assert p1.polygons[0].tolist()[0] == [65, 22]  # 0.2037*320-0.5, 0.1234*180-0.5
    assert p2.polygons[0].tolist()[0] == [260, 88]


def test_zero_area_polygon_still_masks_its_outline() -> None:
    plan = make_plan((((0.5, 0.1), (0.5, 0.9), (0.5, 0.5)),), 100, 100)
    stencil = plan.full_stencil()
    assert stencil[10:90, 49:51].all()


# --------------------------------------------------------------------------- the worker


@pytest.fixture
def run_worker() -> Iterator[Callable[..., CameraWorker]]:
    workers: list[CameraWorker] = []

    def start(source: FrameSource, *, mask_provider: MaskProvider | None) -> CameraWorker:
        w = CameraWorker(
            "cam",
            lambda: source,
            backoff_initial_s=0.01,
            backoff_max_s=0.05,
            mask_provider=mask_provider,
        )
        workers.append(w)
        return w

    yield start
    for w in workers:
        assert w.stop(2.0)


def latest_seq(worker: CameraWorker) -> int:
    f = worker.latest.get()
    assert f is not None
    return f.seq


def frame_of_size(worker: CameraWorker, size: tuple[int, int], after: int = 0) -> Frame:
    """The first frame newer than ``after`` with the given (w, h)."""
    deadline = time.monotonic() + 5.0
    seq = after
    while time.monotonic() < deadline:
        f = worker.latest.wait_newer(seq, 1.0)
        if f is None:
            continue
        if f.size == size:
            return f
        seq = f.seq
    raise AssertionError(f"no {size} frame from the worker")


def test_worker_masks_every_published_frame_at_every_display_size(
    run_worker: Callable[..., CameraWorker],
) -> None:
    src_img = noise()
    w = run_worker(LoopSource(src_img), mask_provider=lambda: MASKS)
    for size in ((320, 180), (1280, 720), (320, 180)):
        w.set_target_size(*size)
        if not w.running:
            w.start()
        frame = frame_of_size(w, size)
        # the frame consumers receive is itself masked (not a masked copy somewhere else)
        assert w.latest.get() is frame
        assert not frame.image.flags.writeable
        assert_masked_exactly(frame.image, to_display(src_img, size), MASKS)


def test_worker_without_provider_or_with_empty_masks_leaves_pixels_alone(
    run_worker: Callable[..., CameraWorker],
) -> None:
    src_img = noise()
    for provider in (None, lambda: ()):
        w = run_worker(LoopSource(src_img), mask_provider=provider)
        w.set_target_size(320, 180)
        w.start()
        frame = frame_of_size(w, (320, 180))
        assert np.array_equal(frame.image, to_display(src_img, (320, 180)))
        assert w.stop(2.0)


def test_display_sized_view_into_a_decoder_buffer_is_copied_before_masking(
    run_worker: Callable[..., CameraWorker],
) -> None:
    src_img = noise(320, 180)
    src = SizedViewSource(src_img)
    pool_before = src.pool.copy()
    w = run_worker(src, mask_provider=lambda: MASKS)
    w.start()
    frame = frame_of_size(w, (320, 180))
    assert np.array_equal(src.pool, pool_before), "the decoder's buffer was not written"
    assert not np.shares_memory(frame.image, src.pool)
    assert_masked_exactly(frame.image, to_display(src_img, None), MASKS)


def test_display_sized_picture_of_its_own_is_masked_in_place(
    run_worker: Callable[..., CameraWorker],
) -> None:
    src_img = noise(320, 180)
    src = SizedOwnSource(src_img)
    w = run_worker(src, mask_provider=lambda: MASKS)
    w.start()
    frame = frame_of_size(w, (320, 180))
    assert_masked_exactly(frame.image, to_display(src_img, None), MASKS)
    assert any(frame.image is h for h in src.handed), "no copy of a picture given away"


def test_failing_provider_masks_the_whole_picture(
    run_worker: Callable[..., CameraWorker],
) -> None:
    def broken() -> MaskPolygons:
        raise RuntimeError("controller bug")

    w = run_worker(LoopSource(noise()), mask_provider=broken)
    w.set_target_size(320, 180)
    w.start()
    frame = frame_of_size(w, (320, 180))
    assert is_mask_colour(frame.image).all(), "fail closed: nothing of the picture shows"


def test_lift_unmasks_the_next_frames_and_expiry_masks_again(
    run_worker: Callable[..., CameraWorker], tmp_path: Path
) -> None:
    cam = dataclasses.replace(camera(cam_id="cam"), masks=MASKS)
    clock = Clock(T0)
    db = tmp_path / "audit.sqlite3"
    with AuditLog(db) as audit:
        masks = MaskController({"cam": cam}, audit, lift_minutes=5)
        src_img = noise()
        w = run_worker(LoopSource(src_img), mask_provider=masks.provider("cam", clock))
        w.set_target_size(320, 180)
        w.start()
        plain = to_display(src_img, (320, 180))
        masked = frame_of_size(w, (320, 180))
        assert_masked_exactly(masked.image, plain, MASKS)

        masks.lift("cam", SUPERVISOR, "suspect entered the yard", clock())
        # a frame already past its mask check may still come masked; the one after cannot
        seq = latest_seq(w)
        unmasked = frame_of_size(w, (320, 180), after=seq + 1)
        assert np.array_equal(unmasked.image, plain), "lifted: the next frames are unmasked"

        clock.t = T0 + dt.timedelta(minutes=5)  # the lift has run out
        seq = latest_seq(w)
        again = frame_of_size(w, (320, 180), after=seq + 1)
        assert_masked_exactly(again.image, plain, MASKS)
        assert [lift.camera_id for lift in masks.expire(clock())] == ["cam"]
        assert masks.expire(clock()) == []
    kinds = [e.kind for e in read_events(db)]
    assert kinds == [MASK_LIFT, MASK_RESTORE]


def test_manager_gives_main_and_sub_stream_workers_the_camera_provider() -> None:
    cam = dataclasses.replace(
        camera(cam_id="cam"), sub_stream="sim://?width=320&height=180", masks=MASKS
    )
    asked: list[str] = []

    def provider_for(camera_id: str) -> Callable[[], MaskPolygons]:
        asked.append(camera_id)
        return lambda: MASKS

    src_img = noise()
    m = StreamManager(
        {"cam": cam},
        network_provider=None,
        source_builder=lambda c: LoopSource(src_img),
        worker_options=FAST,
        mask_provider_for=provider_for,
    )
    try:
        for variant in VARIANTS:
            w = m.acquire("cam", object(), variant)
            w.set_target_size(320, 180)
            frame = frame_of_size(w, (320, 180))
            assert_masked_exactly(frame.image, to_display(src_img, (320, 180)), MASKS)
        assert asked == ["cam", "cam"]
    finally:
        assert m.shutdown()
    assert wait_until(lambda: not m.running_ids())
