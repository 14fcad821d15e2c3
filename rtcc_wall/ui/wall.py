"""The wall: camera tiles in a layout, pages, tours, one display timer, maximize and back.

The wall shows a *view* (``core.views``): a layout (uniform grid 1x1..8x8 or a
focus layout such as 1+5) and an ordered camera list. A list longer than the
layout has tiles makes pages; a tour turns the pages every N seconds. Only
the tiles on show decode: a tile that is hidden, or shows another page,
releases its camera (the stream worker stops when nobody watches it).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import cast

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QRegion, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QWidget

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.layouts import MAX_TILES, Layout, get_layout, page_count, page_slice
from rtcc_wall.core.views import TOUR_MAX_S, TOUR_MIN_S, WallSlate
from rtcc_wall.ui import theme
from rtcc_wall.ui.dnd import CameraDrag
from rtcc_wall.ui.tile import CameraTile, ViewGate
from rtcc_wall.video.manager import StreamManager

__all__ = ["MAX_TILES", "WallWidget"]

_keys = itertools.count(1)
_GAP = QColor(theme.BG)


class WallWidget(QWidget):
    """Tiles of one layout showing one page of the wall's camera list."""

    layout_changed = Signal(str)
    tile_menu_requested = Signal(object, object)  # tile, global position
    cameras_changed = Signal()
    #: page index, page count
    page_changed = Signal(int, int)
    #: the tour started, stopped, paused or resumed
    tour_changed = Signal()

    def __init__(
        self,
        manager: StreamManager,
        cameras: dict[str, Camera],
        *,
        layout: str = "3x3",
        display_fps: int = 60,
        substream_below_px: int = 640,
        gate: ViewGate | None = None,
        parent: QWidget | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(parent)
        #: identifies this wall in drags (a drop from the same wall swaps tiles)
        self.key = key or f"wall-{next(_keys)}"
        self._manager = manager
        self._cameras = cameras
        self._gate = gate
        self._substream_below_px = substream_below_px
        self._mask_note: Callable[[str], str | None] | None = None
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        # paints every pixel: the gaps and, for the tiles, their pictures (paintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._tiles: list[CameraTile] = []
        self._layout: Layout = get_layout(layout)
        #: the view's cameras in order; None keeps a slot empty
        self._list: list[str | None] = []
        self._page = 0
        self._view_name: str | None = None
        self._maximized: CameraTile | None = None
        self._selected: CameraTile | None = None
        self._tour_seconds: float | None = None
        self._tour_paused = False
        self._windows: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        self._shown: list[CameraTile] = []
        #: the wall's area not covered by a shown tile; None: work it out at the next paint
        self._gaps: QRegion | None = None
        self._visible = False
        self._tour_timer = QTimer(self)
        self._tour_timer.timeout.connect(self._tour_step)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Polls the tiles' newest frames; faster than the cameras so that a new
        # picture waits at most one short tick (tiles repaint only on change).
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(1000 / display_fps)))
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._ensure_tiles(self._layout.tiles)
        self._relayout()

    # --- queries -------------------------------------------------------------
    @property
    def layout_name(self) -> str:
        return self._layout.name

    @property
    def wall_layout(self) -> Layout:
        return self._layout

    @property
    def tile_count(self) -> int:
        return self._layout.tiles

    def visible_tiles(self) -> list[CameraTile]:
        return [t for t in self._tiles if t.isVisible()]

    def tiles(self) -> list[CameraTile]:
        return self._tiles[: self.tile_count]

    def camera_ids(self) -> list[str | None]:
        """Camera ids of the tiles of the current page, in tile order."""
        return page_slice(self._list, self.tile_count, self._page)

    def all_camera_ids(self) -> list[str]:
        """Every camera of the wall's list, all pages, in order."""
        return [c for c in self._list if c is not None]

    @property
    def page(self) -> int:
        return self._page

    @property
    def page_count(self) -> int:
        return page_count(len(self._trimmed()), self.tile_count)

    @property
    def view_name(self) -> str | None:
        return self._view_name

    @property
    def tour_seconds(self) -> float | None:
        return self._tour_seconds

    @property
    def tour_running(self) -> bool:
        return self._tour_timer.isActive()

    @property
    def tour_paused(self) -> bool:
        return self._tour_paused

    @property
    def maximized_tile(self) -> CameraTile | None:
        return self._maximized

    @property
    def selected_tile(self) -> CameraTile | None:
        return self._selected

    def slate(self) -> WallSlate:
        """What the wall shows, to save and bring back."""
        return WallSlate(
            self._layout.name,
            tuple(c for c in self._trimmed() if c is not None),
            self._page,
            self._tour_seconds,
            self._tour_paused,
            self._view_name,
        )

    # --- commands ------------------------------------------------------------
    def set_layout(self, name: str) -> None:
        new = get_layout(name)  # ValueError for an unknown name
        if new is self._layout and self._maximized is None:
            return
        first_shown = self._page * self._layout.tiles
        self._layout = new
        self._page = first_shown // new.tiles
        self._maximized = None
        self._ensure_tiles(new.tiles)
        self._show_page()
        self._relayout()
        self.layout_changed.emit(new.name)

    def set_cameras(self, ids: Sequence[str | None], *, view_name: str | None = None) -> None:
        """The wall's camera list (unknown ids are skipped), from page one."""
        self._list = [i for i in ids if i is None or i in self._cameras][: 8 * MAX_TILES]
        self._view_name = view_name
        self._page = 0
        self._show_page()
        self._update_tour()

    def apply_slate(self, slate: WallSlate) -> None:
        """Shows a saved view or the last session's wall: layout, cameras, page, tour."""
        self._maximized = None
        self._layout = get_layout(slate.layout)
        self._ensure_tiles(self._layout.tiles)
        self._list = [c for c in slate.cameras if c in self._cameras]
        self._view_name = slate.view_name
        self._page = slate.page % max(1, self.page_count)
        self._tour_seconds = slate.tour_seconds
        self._tour_paused = slate.tour_paused
        self._show_page()
        self._relayout()
        self._update_tour()
        self.layout_changed.emit(self._layout.name)

    def set_page(self, page: int) -> None:
        pages = self.page_count
        page %= pages
        if page == self._page:
            return
        self._page = page
        self._maximized = None
        self._show_page()
        self._relayout()

    def next_page(self) -> None:
        self.set_page(self._page + 1)

    def previous_page(self) -> None:
        self.set_page(self._page - 1)

    def set_tour(self, seconds: float | None) -> None:
        """Turns the pages every ``seconds`` (a camera tour); None stops the tour."""
        if seconds is not None and not (TOUR_MIN_S <= seconds <= TOUR_MAX_S):
            raise ValueError(f"a tour step must be {TOUR_MIN_S:g}-{TOUR_MAX_S:g} s")
        self._tour_seconds = seconds
        self._tour_paused = False
        self._update_tour()

    def toggle_tour_pause(self) -> bool:
        """Pauses or resumes the tour; returns True when it is now paused."""
        if self._tour_seconds is None:
            return False
        self._tour_paused = not self._tour_paused
        self._update_tour()
        return self._tour_paused

    def set_mask_note(self, note: Callable[[str], str | None]) -> None:
        self._mask_note = note
        for t in self._tiles:
            t.mask_note = note

    def recheck_access(self) -> None:
        """Refused tiles ask again (an incident was opened, or its reason changed)."""
        for t in self._tiles:
            t.recheck_access()

    def revoke(self, holder: object, message: str) -> None:
        """Ends one tile's view (the session's decision), saying why on the tile."""
        for t in self._tiles:
            if t is holder:
                t.revoke(message)

    def set_windows(self, windows: dict[str, tuple[dt.datetime, dt.datetime]]) -> None:
        """Arrival windows per camera id, shown on the tiles and highlighted while open."""
        self._windows = windows
        for tile in self._tiles:
            cam = tile.camera
            tile.set_window(windows.get(cam.id) if cam is not None else None)

    def place_camera(self, camera_id: str, index: int | None = None) -> int:
        """Puts a camera on the wall and returns its tile index on the current page.

        Without ``index``: if it is already on this page, that tile is selected;
        else the selected tile, else the first empty one, else the last.
        """
        n = self.tile_count
        slots = self.camera_ids()
        if index is None:
            if camera_id in slots:
                index = slots.index(camera_id)
            elif self._selected is not None and self._selected.index < n:
                index = self._selected.index
            elif None in slots:
                index = slots.index(None)
            else:
                index = n - 1
        if not 0 <= index < n:
            raise IndexError(f"tile {index} is not on the {self._layout.name} layout")
        pos = self._page * n + index
        if len(self._list) <= pos:
            self._list += [None] * (pos + 1 - len(self._list))
        self._list[pos] = camera_id
        self._tiles[index].set_camera(self._cameras[camera_id])
        self._apply_window(self._tiles[index])
        self._select(self._tiles[index])
        self.cameras_changed.emit()
        return index

    def swap(self, a: int, b: int) -> None:
        """Swaps the cameras of two tiles of the current page."""
        n = self.tile_count
        if a == b or not (0 <= a < n and 0 <= b < n):
            return
        base = self._page * n
        need = base + max(a, b) + 1
        if len(self._list) < need:
            self._list += [None] * (need - len(self._list))
        la, lb = base + a, base + b
        self._list[la], self._list[lb] = self._list[lb], self._list[la]
        self._show_page()
        self._select(self._tiles[b])

    def clear_tile(self, index: int) -> None:
        pos = self._page * self.tile_count + index
        if 0 <= index < self.tile_count and pos < len(self._list):
            self._list[pos] = None
            self._show_page()

    def toggle_maximize(self, index: int) -> None:
        self._toggle_maximize(self._tiles[index])

    def restore(self) -> bool:
        """Back from a maximized tile; True if there was one."""
        if self._maximized is None:
            return False
        self._maximized = None
        self._relayout()
        return True

    def move_selection(self, dx: int, dy: int) -> None:
        """Moves the selection to the neighbouring tile in a direction (arrow keys)."""
        cells = self._layout.cells
        if self._selected is None or self._selected.index >= len(cells):
            self._select(self._tiles[0])
            return
        cur = cells[self._selected.index]
        cx, cy = cur.col + cur.colspan / 2, cur.row + cur.rowspan / 2
        best: tuple[float, int] | None = None
        for i, c in enumerate(cells):
            if i == self._selected.index:
                continue
            x, y = c.col + c.colspan / 2, c.row + c.rowspan / 2
            ahead = (x - cx) * dx + (y - cy) * dy
            if ahead <= 0:
                continue
            side = abs((x - cx) * dy) + abs((y - cy) * dx)
            score = ahead + 2 * side
            if best is None or score < best[0]:
                best = (score, i)
        if best is not None:
            self._select(self._tiles[best[1]])
            if self._maximized is not None:
                self._maximized = self._tiles[best[1]]
                self._relayout()

    def select_index(self, index: int) -> None:
        if 0 <= index < self.tile_count:
            self._select(self._tiles[index])

    def shutdown(self) -> None:
        self._timer.stop()
        self._tour_timer.stop()
        for t in self._tiles:
            t.set_camera(None)

    # --- internals -----------------------------------------------------------
    def _trimmed(self) -> list[str | None]:
        lst = list(self._list)
        while lst and lst[-1] is None:
            lst.pop()
        return lst

    def _ensure_tiles(self, count: int) -> None:
        while len(self._tiles) < count:
            t = CameraTile(
                len(self._tiles),
                self._manager,
                self,
                substream_below_px=self._substream_below_px,
                gate=self._gate,
            )
            t.hide()
            t.wall_key = self.key
            t.mask_note = self._mask_note
            t.on_geometry = self._forget_gaps
            t.double_clicked.connect(self._toggle_maximize)
            t.clicked.connect(self._select)
            t.menu_requested.connect(self.tile_menu_requested)
            t.camera_dropped.connect(self._dropped)
            self._tiles.append(t)

    def _apply_window(self, tile: CameraTile) -> None:
        cam = tile.camera
        tile.set_window(self._windows.get(cam.id) if cam is not None else None)

    def _show_page(self) -> None:
        slots = self.camera_ids()
        for i, tile in enumerate(self._tiles):
            cid = slots[i] if i < len(slots) else None
            tile.set_camera(self._cameras[cid] if cid else None)
            self._apply_window(tile)
        self.cameras_changed.emit()
        self.page_changed.emit(self._page, self.page_count)

    def _update_tour(self) -> None:
        run = (
            self._tour_seconds is not None and not self._tour_paused and self.page_count > 1
        )
        if run and self._tour_seconds is not None:
            self._tour_timer.start(round(self._tour_seconds * 1000))
        else:
            self._tour_timer.stop()
        self.tour_changed.emit()

    def _tour_step(self) -> None:
        if self._maximized is None:  # an operator looking closely at one tile holds the tour
            self.next_page()
        if self.page_count <= 1:
            self._update_tour()

    def _dropped(self, tile: CameraTile, drag: CameraDrag) -> None:
        if drag.wall == self.key and 0 <= drag.tile < self.tile_count:
            self.swap(drag.tile, tile.index)
        elif drag.camera in self._cameras:
            self.place_camera(drag.camera, tile.index)

    def _select(self, tile: CameraTile) -> None:
        if self._selected is not None:
            self._selected.set_selected(False)
        self._selected = tile
        tile.set_selected(True)
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def _toggle_maximize(self, tile: CameraTile) -> None:
        self._maximized = None if self._maximized is tile else tile
        self._relayout()

    def _relayout(self) -> None:
        lay = self._layout
        for t in self._tiles:
            self._grid.removeWidget(t)
        shown: list[CameraTile]
        if self._maximized is not None:
            shown = [self._maximized]
            self._grid.addWidget(self._maximized, 0, 0)
        else:
            shown = self._tiles[: lay.tiles]
            for t, c in zip(shown, lay.cells, strict=True):
                self._grid.addWidget(t, c.row, c.col, c.rowspan, c.colspan)
        # Hide first (stops their workers), then show what the layout needs.
        for t in self._tiles:
            if t not in shown:
                t.hide()
        maxed = self._maximized is not None
        for r in range(max(self._grid.rowCount(), 8)):
            self._grid.setRowStretch(r, 1 if (r == 0 if maxed else r < lay.rows) else 0)
        for col in range(max(self._grid.columnCount(), 8)):
            self._grid.setColumnStretch(col, 1 if (col == 0 if maxed else col < lay.cols) else 0)
        for t in shown:
            t.show()
        self._shown = shown
        self._gaps = None

    def _forget_gaps(self) -> None:
        self._gaps = None

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt naming
        self._gaps = None
        super().resizeEvent(event)

    def _tick(self) -> None:
        # a Python list, not isVisible(): every Qt call retakes the GIL (see tile.py)
        if not self._visible:
            return
        for t in self._shown:
            t.refresh()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt naming
        """Paints the gaps and every shown tile that the dirty area touches.

        One paintEvent for the whole wall, however many tiles changed: each
        paintEvent Qt delivers to Python must first win the GIL from the camera
        threads (measured: with 64 RTSP cameras each such wait could take
        milliseconds, and per-tile paintEvents made the wall fall behind for
        good). Tiles tell Qt what changed with ``update()`` as usual.
        """
        p = QPainter(self)
        region = event.region()  # the tiles that changed, not their bounding box
        gaps = self._gaps
        if gaps is None:
            gaps = QRegion(self.rect())
            for t in self._shown:
                gaps -= QRegion(t.rect_in_wall)
            self._gaps = gaps
        # only the gaps: a tile paints all of its own pixels (filling under it cost CPU)
        for r in cast("Iterable[QRect]", region.intersected(gaps)):  # QRegion iterates its rects
            p.fillRect(r, _GAP)
        try:
            for t in self._shown:
                if not region.intersects(t.rect_in_wall):
                    continue
                p.save()
                try:
                    # each tile paints at its own origin, clipped to itself as a widget was
                    p.translate(*t.origin_in_wall)
                    p.setClipRect(t.local_rect)
                    t.paint_on(p)
                finally:
                    p.restore()
        finally:
            p.end()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt naming
        self._visible = True

    def hideEvent(self, event: object) -> None:  # noqa: N802
        self._visible = False
