"""frame_to_display: the planar fast path agrees with swscale's BGR, at every size and format."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from rtcc_wall.video.decode import display_size, frame_to_display
from rtcc_wall.video.frames import Frame, to_display


def scene(w: int, h: int) -> np.ndarray:
    """A smooth colourful BGR picture (gradients and soft blobs): resampling differences stay
    small, so any real error (swapped planes, wrong strides, wrong range) stands out."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[..., 0] = 255 * xx / max(1, w - 1)
    img[..., 1] = 255 * yy / max(1, h - 1)
    img[..., 2] = 128 + 100 * np.sin(xx / 23.0) * np.cos(yy / 17.0)
    return np.clip(img, 0, 255).astype(np.uint8)


def yuv_frame(w: int, h: int, fmt: str = "yuv420p") -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(scene(w, h), format="bgr24").reformat(format=fmt)


def reference(frame: av.VideoFrame, out: np.ndarray) -> np.ndarray:
    """swscale's BGR of the frame, shrunk by the general path to the size under test."""
    bgr = frame.to_ndarray(format="bgr24")
    h, w = out.shape[:2]
    if (w, h) != (frame.width, frame.height):
        bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    return to_display(bgr, None)


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a[..., :3].astype(np.int16) - b[..., :3].astype(np.int16)).mean())


@pytest.mark.parametrize(
    ("size", "box", "want"),
    [
        ((1280, 720), None, (1280, 720)),
        ((1280, 720), (640, 360), (640, 360)),
        ((1280, 720), (300, 300), (300, 168)),  # 300x169 rounded down to even
        ((640, 360), (1920, 1080), (640, 360)),  # never enlarged
        ((640, 480), (1000, 240), (320, 240)),  # height-bound
        ((320, 240), (1, 1), (2, 2)),  # degenerate box: smallest I420 picture
    ],
)
def test_sizes_and_pixels(
    size: tuple[int, int], box: tuple[int, int] | None, want: tuple[int, int]
) -> None:
    frame = yuv_frame(*size)
    out = frame_to_display(frame, box)
    assert out.dtype == np.uint8
    assert out.shape == (want[1], want[0], 4)
    assert out.flags.c_contiguous
    assert display_size(*size, box) == want
    if min(want) >= 16:
        # INTER_LINEAR aliases at a 4x shrink, differently for 4:2:0 chroma than for BGR;
        # a wrong plane, stride or range would be off by tens
        assert mean_abs_diff(out, reference(frame, out)) < 4.0


def test_aspect_ratio_is_kept() -> None:
    out = frame_to_display(yuv_frame(1920, 1080), (500, 500))
    h, w = out.shape[:2]
    assert w <= 500
    assert h <= 500
    assert w / h == pytest.approx(1920 / 1080, rel=0.02)


@pytest.mark.parametrize("size", [(321, 241), (323, 181), (3, 3)])
def test_odd_sizes(size: tuple[int, int]) -> None:
    frame = yuv_frame(*size)
    full = frame_to_display(frame, None)  # kept exactly: general path
    assert full.shape == (size[1], size[0], 4)
    assert mean_abs_diff(full, reference(frame, full)) < 1.0
    shrunk = frame_to_display(frame, (200, 200))
    h, w = shrunk.shape[:2]
    assert w <= 200
    assert h <= 200
    if size[0] > 16:
        assert w % 2 == 0
        assert h % 2 == 0
        assert mean_abs_diff(shrunk, reference(frame, shrunk)) < 3.0


@pytest.mark.parametrize("fmt", ["rgb24", "bgr24", "yuv444p", "nv12", "yuv422p", "gray", "rgba"])
def test_other_pixel_formats_take_the_general_path(fmt: str) -> None:
    frame = yuv_frame(320, 240, fmt)
    out = frame_to_display(frame, (160, 160))
    assert out.shape == (120, 160, 4)
    want = to_display(frame.to_ndarray(format="bgr24"), (160, 160))
    assert mean_abs_diff(out, want) < 1.0


def test_full_range_jpeg_yuv_is_not_too_contrasty() -> None:
    frame = yuv_frame(640, 360, "yuvj420p")
    out = frame_to_display(frame, (320, 180))
    assert mean_abs_diff(out, reference(frame, out)) < 3.0


def test_output_is_owned_and_makes_a_frame() -> None:
    frame = yuv_frame(640, 360)
    out = frame_to_display(frame, None)  # same size: planes copied, not viewed
    assert out.flags.writeable
    plane = np.frombuffer(memoryview(frame.planes[0]), np.uint8)
    assert not np.shares_memory(out, plane)
    f = Frame(image=out, seq=1, captured_at=0.0, wall_time=None, source_size=(640, 360))  # type: ignore[arg-type]
    assert f.size == (640, 360)


@pytest.fixture(scope="module")
def decoded_frames(tmp_path_factory: pytest.TempPathFactory) -> list[av.VideoFrame]:
    """Real H.264 output: the decoder pads its rows (line_size > width)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg CLI not installed")
    path = Path(tmp_path_factory.mktemp("decode")) / "odd.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=426x240:rate=10", "-t", "1", "-c:v", "libx264",
         "-pix_fmt", "yuv420p", str(path)],
        check=True,
        timeout=60,
    )  # fmt: skip
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def test_decoded_frames_with_padded_rows(decoded_frames: list[av.VideoFrame]) -> None:
    frame = decoded_frames[3]
    assert frame.format.name == "yuv420p"
    assert frame.planes[0].line_size >= frame.width
    full = frame_to_display(frame, None)
    assert full.shape == (240, 426, 4)
    assert mean_abs_diff(full, reference(frame, full)) < 1.5
    small = frame_to_display(frame, (213, 120))
    assert small.shape == (120, 212, 4)
    # testsrc2 has sharp edges: compare against a blur-tolerant reference
    ref = reference(frame, small)
    blur = cv2.GaussianBlur
    assert mean_abs_diff(blur(small, (5, 5), 0), blur(ref, (5, 5), 0)) < 4.0
