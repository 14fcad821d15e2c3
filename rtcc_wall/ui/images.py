"""numpy frames -> QImage, in one place (HOUSE_STYLE 6: own your pixels).

A QImage built on a numpy buffer borrows it. ``FrameImage`` keeps the
``Frame`` (whose array is never written after it is published) alive for as
long as the QImage is used, so nothing is copied on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtGui import QImage

from rtcc_wall.video.frames import Frame


class FrameImage:
    """A QImage view of a BGRA frame that owns a reference to the frame's pixels."""

    __slots__ = ("frame", "image")

    def __init__(self, frame: Frame) -> None:
        arr = frame.image
        h, w = arr.shape[:2]
        self.frame = frame
        # BGRA bytes in memory == QImage.Format_RGB32 on little-endian machines:
        # drawn without any conversion.
        self.image = QImage(arr.data, w, h, int(arr.strides[0]), QImage.Format.Format_RGB32)
