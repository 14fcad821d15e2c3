"""One tile of the wall: the newest frame of one camera, and the truth about it.

The tile never receives frames by signal. The wall's display timer calls
``refresh()``, which pulls the newest frame from the camera worker's one-slot
buffer (latest frame wins). The overlay always shows the camera's state and
the age of the picture; a stale picture is dimmed, hatched and labelled so it
can never be mistaken for live video.

The tile has no paintEvent: the wall paints all its tiles in one paintEvent
(``WallWidget.paintEvent`` calls ``paint_on``), because each paintEvent that
Qt hands to Python must first win the GIL from the camera threads.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QContextMenuEvent,
    QDrag,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QMoveEvent,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from rtcc_wall.core.access import Decision
from rtcc_wall.core.cameras import Camera, CameraState
from rtcc_wall.core.redact import redact
from rtcc_wall.ui import theme
from rtcc_wall.ui.dnd import CameraDrag, camera_mime, read_camera_mime
from rtcc_wall.ui.images import FrameImage

if TYPE_CHECKING:
    from rtcc_wall.video.manager import StreamManager, Variant
    from rtcc_wall.video.worker import CameraWorker


#: State pills by (text, colour, font, pixel ratio), shared by every tile (see _paint_state_pill).
_PILLS: dict[tuple[str, int, str, float], tuple[QPixmap, float, float]] = {}

_TILE_BG = QColor("#07090c")
_DIM = QColor(0, 0, 0, 150)
_HATCH = QBrush(QColor(255, 140, 26, 60), Qt.BrushStyle.BDiagPattern)
_WHITE = QColor("white")

#: (target, source) rectangles of a cached overlay picture worth drawing
_Parts = tuple[tuple[QRectF, QRectF], ...]


def _overlay_parts(w: int, h: int, top: int, bottom: int, edge: int, dpr: float) -> _Parts:
    """The strips of a w x h overlay that hold something: rows [0, top) and [bottom, h),
    and ``edge`` columns on each side between them (the border).

    Sources are whole device pixels (rounded outwards) and targets exactly
    their size in logical pixels, so a strip is copied 1:1, never resampled,
    whatever the device pixel ratio.
    """
    top = max(0, min(h, max(top, edge)))
    bottom = max(top, min(h, bottom, h - edge))
    strips = [(0, 0, w, top), (0, bottom, w, h - bottom)]
    if edge > 0 and bottom > top:
        side = min(edge, w)
        strips += [(0, top, side, bottom - top), (w - side, top, side, bottom - top)]
    wd, hd = round(w * dpr), round(h * dpr)  # the overlay pixmap's size
    parts = []
    for x, y, sw, sh in strips:
        if sw <= 0 or sh <= 0:
            continue
        x0, y0 = math.floor(x * dpr), math.floor(y * dpr)
        x1, y1 = min(wd, math.ceil((x + sw) * dpr)), min(hd, math.ceil((y + sh) * dpr))
        source = QRectF(x0, y0, x1 - x0, y1 - y0)
        parts.append((QRectF(x0 / dpr, y0 / dpr, (x1 - x0) / dpr, (y1 - y0) / dpr), source))
    return tuple(parts)


#: Without a new picture, a tile repaints this often (its frame age keeps counting).
AGE_REPAINT_S = 0.25

_STATE_TEXT: dict[CameraState, str] = {
    CameraState.IDLE: "Starting …",
    CameraState.CONNECTING: "Connecting …",
    CameraState.RECONNECTING: "Connection lost — reconnecting …",
    CameraState.OFFLINE: "Camera offline — retrying",
    CameraState.AUTH_FAILED: "Authentication failed — check the camera's user name and password",
    CameraState.UNSUPPORTED: "Stream not supported",
    CameraState.DENIED: "Access denied",
}
#: a camera that answered but has not sent a whole picture yet: a stream joined
#: mid-GOP waits for its next key frame, seconds on cameras with long GOPs
_AWAITING_TEXT = "Connected — waiting for a full picture (key frame) …"
_AWAITING_STATES = frozenset(
    {CameraState.CONNECTING, CameraState.RECONNECTING, CameraState.OFFLINE}
)


class ViewGate(Protocol):
    """Who decides whether a tile may show a camera (``core.session.AccessSession``)."""

    def request_view(self, camera_id: str, holder: Hashable) -> Decision: ...
    def end_view(self, camera_id: str, holder: Hashable) -> None: ...


def format_age(age: float | None) -> str:
    if age is None:
        return "no picture"
    if age < 10:
        return f"{age:.1f} s"
    if age < 120:
        return f"{age:.0f} s"
    return f"{age / 60:.0f} min"


class CameraTile(QWidget):
    """Shows one camera (or an empty slot) and reports clicks."""

    double_clicked = Signal(object)  # self
    menu_requested = Signal(object, object)  # self, global QPoint
    clicked = Signal(object)  # self
    #: a camera was dropped here: (self, CameraDrag)
    camera_dropped = Signal(object, object)

    def __init__(
        self,
        index: int,
        manager: StreamManager,
        parent: QWidget | None = None,
        *,
        substream_below_px: int = 640,
        gate: ViewGate | None = None,
    ) -> None:
        super().__init__(parent)
        self.index = index
        self._manager = manager
        self._gate = gate
        self._deny_message = ""
        #: camera id -> a warning to show (e.g. "UNMASKED until 14:05"), or None
        self.mask_note: Callable[[str], str | None] | None = None
        #: called when the tile moved or changed size (the wall keeps its gaps)
        self.on_geometry: Callable[[], None] | None = None
        self.substream_below_px = substream_below_px
        self._camera: Camera | None = None
        self._worker: CameraWorker | None = None
        self._variant: Variant = "main"
        # a stream being switched to (sub <-> main): shown once it has a picture
        self._pending: tuple[CameraWorker, Variant] | None = None
        self._image: FrameImage | None = None
        self._state = CameraState.IDLE
        self._awaiting = False  # the worker's source opened, no picture yet
        self._age: float | None = None
        self._selected = False
        self._highlight = False
        self._frames_shown = 0
        self._painted_at = 0.0
        self._window: tuple[dt.datetime, dt.datetime] | None = None
        #: the owning wall's key, carried by drags that start here (set by the wall)
        self.wall_key: str | None = None
        self._press_pos: QPoint | None = None
        self._drop_hover = False
        self._overlay_cache: tuple[tuple[object, ...], QPixmap, _Parts] | None = None
        #: (picture w, h, tile w, h) -> where the picture goes, and the bars around it
        self._picture_rect_cache: (
            tuple[tuple[int, int, int, int], QRect, tuple[QRect, ...]] | None
        ) = None
        # asked of Qt on show and resize, not on every paint
        self._font_cache: tuple[int, QFont, str] | None = None
        self._dpr = 1.0
        # kept on move and resize for the wall's paintEvent (asking Qt costs a GIL round trip):
        #: the tile's top left in the wall, and its rectangle there
        self.origin_in_wall = (0.0, 0.0)
        self.rect_in_wall = QRect()
        self._rect = QRect()  # (0, 0, width, height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(64, 40))
        # the wall paints the tile (paint_on); the tile itself draws nothing
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setAcceptDrops(True)

    # --- model -------------------------------------------------------------
    @property
    def camera(self) -> Camera | None:
        return self._camera

    @property
    def state(self) -> CameraState:
        return self._state

    @property
    def has_live_picture(self) -> bool:
        return self._image is not None and self._state == CameraState.LIVE

    @property
    def variant(self) -> Variant:
        """Which of the camera's streams the tile shows: "main" or "sub"."""
        return self._variant

    def current_frame_source_size(self) -> tuple[int, int] | None:
        """Decoded size (w, h) of the picture on show, before it was fitted to the tile."""
        return self._image.frame.source_size if self._image is not None else None

    @property
    def frames_shown(self) -> int:
        """New pictures taken from the camera since it was put on this tile."""
        return self._frames_shown

    def set_camera(self, camera: Camera | None) -> None:
        if camera is self._camera or (camera and self._camera and camera.id == self._camera.id):
            return
        self._detach()
        self._camera = camera
        self._image = None
        self._frames_shown = 0
        self._window = None
        self._highlight = False
        self._state = CameraState.IDLE
        self._awaiting = False
        self._age = None
        if camera is not None and self.isVisible():
            self._attach()
        self.update()

    def set_selected(self, on: bool) -> None:
        if on != self._selected:
            self._selected = on
            self.update()

    def set_window(self, window: tuple[dt.datetime, dt.datetime] | None) -> None:
        """The time window in which a fleeing vehicle could pass this camera (or None)."""
        self._window = window
        self._highlight = self.window_open()
        self.update()

    @property
    def arrival_window(self) -> tuple[dt.datetime, dt.datetime] | None:
        """(earliest, latest) time a fleeing vehicle could pass this camera, if set."""
        return self._window

    def window_open(self, now: dt.datetime | None = None) -> bool:
        if self._window is None:
            return False
        t = now or dt.datetime.now(dt.UTC)
        return self._window[0] <= t <= self._window[1]

    @property
    def highlighted(self) -> bool:
        return self._highlight

    def set_highlight(self, on: bool) -> None:
        if on != self._highlight:
            self._highlight = on
            self.update()

    def wanted_variant(self) -> Variant:
        """Small tiles use the sub-stream when the camera has one."""
        if (
            self._camera is not None
            and self._manager.has_sub_stream(self._camera.id)
            and self.width() < self.substream_below_px
        ):
            return "sub"
        return "main"

    def _attach(self) -> None:
        if self._camera is None or self._worker is not None:
            return
        if self._gate is not None:
            decision = self._gate.request_view(self._camera.id, self)
            if not decision.allowed:
                # nothing is decoded for a view the policy refuses; the tile says why
                self._state = CameraState.DENIED
                self._deny_message = decision.message
                self._image = None
                self.update()
                return
            self._deny_message = ""
            self._state = CameraState.CONNECTING
        self._variant = self.wanted_variant()
        self._worker = self._manager.acquire(self._camera.id, self, self._variant)
        self._send_size(self._variant)

    def _detach(self) -> None:
        if self._camera is not None:
            if self._worker is not None:
                self._manager.release(self._camera.id, self, self._variant)
                if self._gate is not None:
                    self._gate.end_view(self._camera.id, self)
            if self._pending is not None:
                self._manager.release(self._camera.id, self, self._pending[1])
        self._worker = None
        self._pending = None

    def revoke(self, message: str) -> None:
        """The session ended this view (incident closed, waiver revoked, time up)."""
        self._detach()
        self._image = None  # a picture the operator may no longer see is not kept on screen
        self._state = CameraState.DENIED
        self._deny_message = message
        self.update()

    def recheck_access(self) -> None:
        """Asks again for a refused view (e.g. after an incident was opened)."""
        if self._camera is not None and self._worker is None and self.isVisible():
            self._attach()

    def _send_size(self, variant: Variant) -> None:
        if self._camera is not None:
            self._manager.set_target_size(
                self._camera.id, self, self.width(), self.height(), variant
            )

    def _consider_switch(self) -> None:
        """Starts bringing up the other stream when the tile's size calls for it."""
        if self._camera is None or self._worker is None:
            return
        want = self.wanted_variant()
        if self._pending is not None:
            if self._pending[1] == want:
                return
            # changed our mind before the pending stream delivered
            self._manager.release(self._camera.id, self, self._pending[1])
            self._pending = None
        if want == self._variant:
            return
        worker = self._manager.acquire(self._camera.id, self, want)
        self._pending = (worker, want)
        self._send_size(want)

    def _finish_switch(self) -> None:
        """Swaps to the pending stream once it has a picture (no black flash)."""
        if self._pending is None or self._camera is None:
            return
        new, variant = self._pending
        old_live = self._worker is not None and self._worker.state == CameraState.LIVE
        failed = new.state in (
            CameraState.OFFLINE,
            CameraState.AUTH_FAILED,
            CameraState.UNSUPPORTED,
        )
        if new.latest.get() is None and not (failed and not old_live):
            return
        if self._worker is not None:
            self._manager.release(self._camera.id, self, self._variant)
        self._worker, self._variant, self._pending = new, variant, None

    # --- display timer -----------------------------------------------------
    def refresh(self) -> None:
        """Pulls the newest frame and state; repaints only what changed.

        Called by the wall's display timer, which runs faster than any camera
        so that a new picture waits at most one short tick. A tile repaints
        when a new picture or a new state arrives, and otherwise only a few
        times a second so that the frame age it shows keeps counting.
        """
        self._finish_switch()
        w = self._worker
        if w is None:
            return
        dirty = False
        frame = w.latest.get()
        if frame is not None and (self._image is None or frame is not self._image.frame):
            self._image = FrameImage(frame)
            self._frames_shown += 1
            dirty = True
        if self._window is not None:
            open_now = self.window_open()
            if open_now != self._highlight:
                self._highlight = open_now
                dirty = True
        state = w.state
        if state != self._state:
            self._state = state
            dirty = True
        awaiting = w.awaiting_picture
        if awaiting != self._awaiting:
            self._awaiting = awaiting
            dirty = True
        self._age = w.frame_age()
        now = time.monotonic()
        if dirty or now - self._painted_at >= AGE_REPAINT_S:
            self._painted_at = now
            self.update()

    # --- Qt events ---------------------------------------------------------
    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt naming
        self._dpr = self.devicePixelRatioF()
        self._attach()

    def hideEvent(self, event: object) -> None:  # noqa: N802
        # Only what is visible is decoded.
        self._detach()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self._dpr = self.devicePixelRatioF()
        self._note_geometry()
        if self._camera is not None and self._worker is not None:
            self._send_size(self._variant)
            if self._pending is not None:
                self._send_size(self._pending[1])
            self._consider_switch()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        self.menu_requested.emit(self, event.globalPos())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.double_clicked.emit(self)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_pos = event.position().toPoint()
            self.clicked.emit(self)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._press_pos = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Dragging a tile's camera: onto another tile of the wall swaps them."""
        start = self._press_pos
        if start is None or self._camera is None:
            return
        if not event.buttons() & Qt.MouseButton.LeftButton:
            return
        from PySide6.QtWidgets import QApplication

        if (event.position().toPoint() - start).manhattanLength() < (
            QApplication.startDragDistance()
        ):
            return
        self._press_pos = None
        drag = QDrag(self)
        drag.setMimeData(camera_mime(CameraDrag(self._camera.id, self.wall_key, self.index)))
        drag.exec(Qt.DropAction.MoveAction | Qt.DropAction.CopyAction)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if read_camera_mime(event.mimeData()) is not None:
            self._drop_hover = True
            self.update()
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: object) -> None:  # noqa: N802
        self._drop_hover = False
        self.update()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._drop_hover = False
        self.update()
        drag = read_camera_mime(event.mimeData())
        if drag is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.camera_dropped.emit(self, drag)

    def closeEvent(self, event: object) -> None:  # noqa: N802
        self._detach()

    def moveEvent(self, event: QMoveEvent) -> None:  # noqa: N802
        self._note_geometry()

    def _note_geometry(self) -> None:
        g = self.geometry()
        self.origin_in_wall = (float(g.x()), float(g.y()))
        self.rect_in_wall = QRect(g)  # our own copy
        self._rect = QRect(0, 0, g.width(), g.height())
        if self.on_geometry is not None:
            self.on_geometry()

    @property
    def local_rect(self) -> QRect:
        """(0, 0, width, height), kept on resize (the wall clips the tile's painting to it)."""
        return self._rect

    def snapshot(self) -> QPixmap:
        """The tile as it is on screen (the wall paints it; see ``paint_on``)."""
        parent = self.parentWidget()
        if parent is None:
            return self.grab()
        return parent.grab(self.geometry())

    def paint_on(self, p: QPainter) -> None:
        """Paints the tile at (0, 0) of ``p``: the wall's painter, moved to this tile.

        Tiles have no paintEvent of their own: every paintEvent a Qt widget
        delivers to Python has to win the GIL from the camera threads first,
        and with 64 tiles that was up to ~1000 waits a second; the wall paints
        all the tiles that changed in one paintEvent per display tick.

        Every pixel is painted once where possible (the wall does not fill
        under a tile): the picture, the background only around it, and the
        overlay only where it has something (measured on a 16 x 720p wall:
        filling and blending whole tiles cost ~0.1 ms of CPU per frame shown).
        """
        r = self._rect
        if self._camera is None:
            p.fillRect(r, _TILE_BG)
            self._paint_empty(p, r)
            self._paint_border(p, r)
        else:
            self._paint_picture(p, r)
            pm, parts = self._overlay_layer(r)
            for target, source in parts:
                p.drawPixmap(target, pm, source)
            self._paint_state_pill(p, r)

    def _overlay_layer(self, r: QRect) -> tuple[QPixmap, _Parts]:
        """The name bar, pills and border as one cached transparent picture, and its parts.

        The parts are the strips that have something in them (the top bar, the
        bottom strip with the ETA pill, the left and right border): each a
        (target, source) pair for ``drawPixmap``, so the transparent middle of
        the tile is never blended.

        A live tile repaints for every new frame while its overlay rarely
        changes; the frame age, which does change, is a separate small pill
        (``_paint_state_pill``) -- keying this layer on the age made a busy
        GUI thread re-render it ever more often as ages grew, and the wall
        fell further behind (measured: 64 RTSP tiles collapsed to ~9 %). Every Qt call from
        Python releases and retakes the GIL, and with dozens of camera threads
        each retake can wait: one cached pixmap instead of some twenty calls
        keeps the GUI thread's share of the GIL (and the wall's pace) up.
        """
        cam = self._camera
        assert cam is not None
        key = (
            r.width(), r.height(), self._dpr, cam.id, cam.name, cam.ownership,
            self._window, self._highlight, self._selected, self._drop_hover,
            self.mask_note(cam.id) if self.mask_note is not None else None,
            self._state, self._variant, self._overlay_font(r)[1],
        )  # fmt: skip
        cached = self._overlay_cache
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        dpr = self._dpr
        pm = QPixmap(round(r.width() * dpr), round(r.height() * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        q = QPainter(pm)
        q.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        top, bottom = self._paint_overlay(q, r)
        edge = self._paint_border(q, r)
        q.end()
        parts = _overlay_parts(r.width(), r.height(), top, bottom, edge, dpr)
        self._overlay_cache = (key, pm, parts)
        return pm, parts

    def _paint_border(self, p: QPainter, r: QRect) -> int:
        """The tile's frame; returns how far in from the edge it reaches, in pixels."""
        pen_color = QColor(theme.ACCENT) if self._selected else QColor(theme.BORDER)
        if self._highlight:
            pen_color = theme.INCIDENT
        width = 2 if (self._selected or self._highlight) else 1
        if self._drop_hover:
            pen_color, width = QColor(theme.ACCENT), 4
        p.setPen(QPen(pen_color, width))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(r.adjusted(0, 0, -1, -1))
        return width // 2 + 2  # a pen straddles its line (more than a pixel at DPR > 1)

    # --- painting ----------------------------------------------------------
    def _paint_empty(self, p: QPainter, r: QRect) -> None:
        p.setPen(QColor(theme.TEXT_DIM))
        f = QFont(self.font())
        f.setPointSizeF(max(8.0, min(11.0, r.height() / 18)))
        p.setFont(f)
        lines = [f"Tile {self.index + 1}", "No camera"]
        hint = "drag one here from the map or the list"
        if p.fontMetrics().horizontalAdvance(hint) <= r.width() - 8:
            lines.append(hint)  # small tiles of big layouts keep it short
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, "\n".join(lines))

    def status_text(self) -> str:
        """What the tile says about a camera that is not live (empty when it is)."""
        st = self._state
        if st == CameraState.LIVE:
            return ""
        if st == CameraState.STALE:
            return f"STALE — last frame {format_age(self._age)} ago"
        if st == CameraState.DENIED and self._deny_message:
            return self._deny_message
        if self._awaiting and st in _AWAITING_STATES:
            return _AWAITING_TEXT
        return _STATE_TEXT.get(st, st.label)

    def _paint_picture(self, p: QPainter, r: QRect) -> None:
        """The picture, and the background around it (not under it: painted once)."""
        if self._image is None:
            p.fillRect(r, _TILE_BG)
            self._paint_status(p, r, self.status_text() or "Waiting for a picture …")
            return
        img = self._image.image
        target, bars = self._picture_rect(self._image.frame.image.shape, r)
        for bar in bars:
            p.fillRect(bar, _TILE_BG)
        p.drawImage(target, img)
        if self._state != CameraState.LIVE:
            # Never show an old picture as if it were live.
            p.fillRect(target, _DIM)
            p.fillRect(target, _HATCH)
            self._paint_status(p, target, self.status_text())

    def _picture_rect(self, shape: tuple[int, ...], r: QRect) -> tuple[QRect, tuple[QRect, ...]]:
        """Where a picture of ``shape`` goes (centred, 1:1 when it nearly fills the tile),
        and the bars of the tile it leaves uncovered.

        Worked out in Python and cached per (picture, tile) size: each Qt call
        made from Python retakes the GIL, which camera threads keep busy.
        """
        ih, iw = int(shape[0]), int(shape[1])
        rw, rh = r.width(), r.height()
        key = (iw, ih, rw, rh)
        cached = self._picture_rect_cache
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        if iw <= rw and ih <= rh and (rw - iw < 8 or rh - ih < 8):
            w, h = iw, ih  # the worker already scaled the frame to this tile
        else:
            scale = min(rw / max(iw, 1), rh / max(ih, 1))
            w, h = max(1, round(iw * scale)), max(1, round(ih * scale))
        x, y = (rw - w) // 2, (rh - h) // 2
        target = QRect(x, y, w, h)
        bars = tuple(
            QRect(*b)
            for b in (
                (0, 0, rw, y),  # above
                (0, y + h, rw, rh - y - h),  # below
                (0, y, x, h),  # left
                (x + w, y, rw - x - w, h),  # right
            )
            if b[2] > 0 and b[3] > 0
        )
        self._picture_rect_cache = (key, target, bars)
        return target, bars

    def _paint_status(self, p: QPainter, r: QRect, text: str) -> None:
        """The state in words, centred, with the camera's last error underneath."""
        big = QFont(self.font())
        big.setBold(True)
        big.setPointSizeF(max(9.0, min(15.0, r.height() / 14)))
        p.setFont(big)
        p.setPen(theme.STATE_COLORS.get(self._state.value, QColor("white")))
        fm = p.fontMetrics()
        box = r.adjusted(8, 0, -8, 0)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
        error = self.last_error
        if error and self._state != CameraState.LIVE:
            small = QFont(self.font())
            small.setPointSizeF(max(7.0, min(9.0, r.height() / 26)))
            p.setFont(small)
            p.setPen(QColor(theme.TEXT_DIM))
            below = QRect(
                box.left(),
                r.center().y() + fm.height(),
                box.width(),
                r.bottom() - r.center().y() - fm.height(),
            )
            p.drawText(
                below,
                Qt.AlignmentFlag.AlignHCenter
                | Qt.AlignmentFlag.AlignTop
                | Qt.TextFlag.TextWordWrap,
                p.fontMetrics().elidedText(error, Qt.TextElideMode.ElideMiddle, box.width() * 2),
            )

    @property
    def last_error(self) -> str:
        """The camera's last error, already redacted by the worker."""
        w = self._worker
        return redact(getattr(w, "last_error", "") or "") if w is not None else ""

    def _paint_overlay(self, p: QPainter, r: QRect) -> tuple[int, int]:
        """Paints the name bar and pills; returns (end of the top part, start of the bottom)."""
        cam = self._camera
        assert cam is not None
        p.setFont(self._overlay_font(r)[0])
        fm = p.fontMetrics()
        bar_h = fm.height() + 6
        # top bar: ownership badge + name
        p.fillRect(QRect(0, 0, r.width(), bar_h), QColor(0, 0, 0, 165))
        badge = "CITY" if cam.ownership == "city" else "PRIVATE"
        bw = fm.horizontalAdvance(badge) + 10
        badge_rect = QRectF(4, 3, bw, bar_h - 6)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.CITY if cam.ownership == "city" else theme.PRIVATE)
        p.drawRoundedRect(badge_rect, 3, 3)
        p.setPen(QColor("white") if cam.ownership == "city" else QColor("#111"))
        p.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge)
        p.setPen(QColor("white"))
        name_rect = QRect(int(bw + 10), 0, r.width() - int(bw) - 14, bar_h)
        p.drawText(
            name_rect,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            fm.elidedText(cam.name, Qt.TextElideMode.ElideRight, name_rect.width()),
        )
        # the state pill (bottom right) is drawn per paint by _paint_state_pill; the ETA
        # pill avoids its widest form, so this layer does not depend on the frame age
        tw = fm.horizontalAdvance(self._pill_text("88.8 s")) + 12
        top, bottom = bar_h, r.height()
        if self._window is not None:
            w0, w1 = (t.astimezone() for t in self._window)
            eta = f"ETA {w0:%H:%M:%S}–{w1:%H:%M:%S}"
            ew = fm.horizontalAdvance(eta) + 12
            y = r.height() - bar_h - 3
            if 4 + ew > r.width() - tw - 8:  # a narrow tile: one line higher
                y -= bar_h + 3
            eta_rect = QRectF(4, y, ew, bar_h)
            bottom = y
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.INCIDENT if self._highlight else QColor(0, 0, 0, 175))
            p.drawRoundedRect(eta_rect, 4, 4)
            p.setPen(QColor("white"))
            p.drawText(eta_rect, Qt.AlignmentFlag.AlignCenter, eta)
        note = self.mask_note(cam.id) if self.mask_note is not None else None
        if note:
            nw = fm.horizontalAdvance(note) + 12
            note_rect = QRectF(r.width() - nw - 4, bar_h + 4, nw, bar_h)
            top = 2 * bar_h + 5
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.INCIDENT)
            p.drawRoundedRect(note_rect, 4, 4)
            p.setPen(QColor("white"))
            p.drawText(note_rect, Qt.AlignmentFlag.AlignCenter, note)
        return top, bottom

    def _pill_text(self, age: str) -> str:
        text = f"● {self._state.label}  {age}"
        return text + "  · SD" if self._variant == "sub" else text

    def _overlay_font(self, r: QRect) -> tuple[QFont, str]:
        """The overlay's font for this tile height and its key, made once per height."""
        cached = self._font_cache
        if cached is not None and cached[0] == r.height():
            return cached[1], cached[2]
        small = QFont(self.font())
        small.setPointSizeF(max(7.5, min(10.0, r.height() / 22)))
        self._font_cache = (r.height(), small, small.key())
        return small, self._font_cache[2]

    def _paint_state_pill(self, p: QPainter, r: QRect) -> None:
        """State and frame age, bottom right: one cached picture per text, shared by all tiles."""
        text = self._pill_text(format_age(self._age))
        color = theme.STATE_COLORS.get(self._state.value, _WHITE)
        dpr = self._dpr
        font, font_key = self._overlay_font(r)
        key = (text, color.rgba(), font_key, dpr)
        pill = _PILLS.get(key)
        if pill is None:
            fm = QFontMetrics(font)
            w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
            pm = QPixmap(round(w * dpr), round(h * dpr))
            pm.setDevicePixelRatio(dpr)
            pm.fill(Qt.GlobalColor.transparent)
            q = QPainter(pm)
            q.setFont(font)
            q.setRenderHint(QPainter.RenderHint.Antialiasing)
            q.setPen(Qt.PenStyle.NoPen)
            q.setBrush(QColor(0, 0, 0, 175))
            q.drawRoundedRect(QRectF(0, 0, w, h), 4, 4)
            q.setPen(color)
            q.drawText(QRectF(0, 0, w, h), Qt.AlignmentFlag.AlignCenter, text)
            q.end()
            if len(_PILLS) > 512:
                _PILLS.clear()
            size = pm.deviceIndependentSize()
            pill = (pm, size.width(), size.height())
            _PILLS[key] = pill
        pm, pw, ph = pill
        p.drawPixmap(round(r.width() - pw - 4), round(r.height() - ph - 3), pm)
