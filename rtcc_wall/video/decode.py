"""From a decoded PyAV frame to a tile's BGRA picture, by the cheapest path measured here.

Why not ``frame.to_ndarray("bgr24")`` + ``to_display``: converting the whole
picture to BGR first costs about 0.5 ms at 640x360 (more than decoding it),
and swscale's ``reformat()`` to a small BGRA picture 0.9 ms. Most cameras
send 4:2:0 YUV, so instead the three planes are shrunk with ``cv2.resize``
(INTER_LINEAR) and only the small picture is converted with
``cv2.cvtColor(..., COLOR_YUV2BGRA_I420)``: about 0.1 ms on top of the
decode ("shrink, then convert", ARCHITECTURE "Live video, measured here").

The planes are read in place (a view of the decoder's buffer, respecting the
row padding in ``line_size``), so the only copies are the small planes and
the output, which is a fresh array owned by the caller (``Frame`` marks it
read-only; HOUSE_STYLE 6).

Colour: OpenCV's I420 conversion assumes BT.601 limited range (16-235), as
do swscale's defaults for ``yuv420p``. ``yuvj420p`` (MJPEG, full range
0-255) is squeezed into limited range on the small planes first, so JPEG
cameras do not come out too contrasty. Every other pixel format takes the
general path through swscale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from rtcc_wall.video.frames import BGRImage, fit_size, to_display

if TYPE_CHECKING:
    import av

#: Pixel formats taken by the planar fast path.
I420_FORMATS = frozenset({"yuv420p", "yuvj420p"})
_FULL_RANGE = frozenset({"yuvj420p"})


def _plane(frame: av.VideoFrame, index: int) -> BGRImage:
    """Plane ``index`` as a (height, width) uint8 view of the decoder's buffer (no copy)."""
    p = frame.planes[index]
    buf = np.frombuffer(memoryview(p), dtype=np.uint8)
    return buf.reshape(p.height, p.line_size)[:, : p.width]


def display_size(src_w: int, src_h: int, box: tuple[int, int] | None) -> tuple[int, int]:
    """The size the I420 path produces: fitted into ``box``, never enlarged, rounded to even.

    I420 needs even sizes (one chroma sample per 2x2 pixels); rounding down
    keeps the picture inside the box.
    """
    w, h = (src_w, src_h) if box is None else fit_size(src_w, src_h, box[0], box[1])
    return max(2, w - (w % 2)), max(2, h - (h % 2))


def frame_to_display(frame: av.VideoFrame, box: tuple[int, int] | None) -> BGRImage:
    """A new BGRA uint8 (h, w, 4) C-contiguous picture of ``frame`` fitted into ``box`` (w, h).

    ``box`` None keeps the source size. Never enlarges. 4:2:0 frames take the
    planar fast path (even output sizes); other formats, and odd sizes that
    must be kept exactly (``box`` None), go through ``to_ndarray("bgr24")``.
    """
    src_w, src_h = int(frame.width), int(frame.height)
    fmt = frame.format.name
    if fmt not in I420_FORMATS or src_w < 2 or src_h < 2:
        return _general(frame, box)
    tw, th = display_size(src_w, src_h, box)
    if box is None and (tw, th) != (src_w, src_h):
        return _general(frame, box)  # odd size, kept exactly: no rounding allowed
    y, u, v = _plane(frame, 0), _plane(frame, 1), _plane(frame, 2)
    i420 = np.empty((th * 3 // 2, tw), dtype=np.uint8)
    y_out = i420[:th]
    chroma = i420[th:].reshape(2, th // 2, tw // 2)  # U then V, each (th/2, tw/2) contiguous
    if (tw, th) == (src_w, src_h):
        y_out[:] = y
        chroma[0][:] = u
        chroma[1][:] = v
    else:
        cv2.resize(y, (tw, th), dst=y_out, interpolation=cv2.INTER_LINEAR)
        cv2.resize(u, (tw // 2, th // 2), dst=chroma[0], interpolation=cv2.INTER_LINEAR)
        cv2.resize(v, (tw // 2, th // 2), dst=chroma[1], interpolation=cv2.INTER_LINEAR)
    if fmt in _FULL_RANGE:
        # full range -> limited range: Y' = 16 + Y*219/255, C' = 128 + (C-128)*224/255
        cv2.convertScaleAbs(y_out, dst=y_out, alpha=219.0 / 255.0, beta=16.0)
        c = i420[th:]
        cv2.convertScaleAbs(c, dst=c, alpha=224.0 / 255.0, beta=128.0 * (1.0 - 224.0 / 255.0))
    # into our own array: an output OpenCV allocates itself is a numpy array made
    # (and later freed) with the GIL taken from inside the call
    out = np.empty((th, tw, 4), dtype=np.uint8)
    cv2.cvtColor(i420, cv2.COLOR_YUV2BGRA_I420, dst=out)
    return out


def _general(frame: av.VideoFrame, box: tuple[int, int] | None) -> BGRImage:
    """Any pixel format: swscale to BGR, then the common shrink-and-convert."""
    bgr = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
    return to_display(bgr, box)


def ffmpeg_build() -> tuple[str, str]:
    """(version, licence) of the FFmpeg libraries PyAV was built with, for the About dialog."""
    import av._core

    version = str(av._core.ffmpeg_version_info)
    meta: dict[str, object] = dict(av._core.library_meta.get("libavcodec", {}))
    return version, str(meta.get("license", "unknown"))
