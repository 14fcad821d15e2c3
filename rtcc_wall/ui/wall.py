"""The wall: a grid of camera tiles, one display timer, maximize and back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from rtcc_wall.core.cameras import Camera
from rtcc_wall.ui.tile import CameraTile, ViewGate
from rtcc_wall.video.manager import StreamManager

GRID_SIZES = {"1x1": 1, "2x2": 2, "3x3": 3, "4x4": 4}
MAX_TILES = 16


class WallWidget(QWidget):
    """Tiles in an N x N grid. Holds up to 16 camera slots; the layout shows the first N*N."""

    layout_changed = Signal(str)
    tile_menu_requested = Signal(object, object)  # tile, global position
    cameras_changed = Signal()

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
    ) -> None:
        super().__init__(parent)
        self._cameras = cameras
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self._tiles = [
            CameraTile(i, manager, self, substream_below_px=substream_below_px, gate=gate)
            for i in range(MAX_TILES)
        ]
        for t in self._tiles:
            t.hide()
            t.double_clicked.connect(self._toggle_maximize)
            t.clicked.connect(self._select)
            t.menu_requested.connect(self.tile_menu_requested)
        self._slots: list[str | None] = [None] * MAX_TILES
        self._layout = layout
        self._maximized: CameraTile | None = None
        self._selected: CameraTile | None = None
        # Polls the tiles' newest frames; faster than the cameras so that a new
        # picture waits at most one short tick (tiles repaint only on change).
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(1000 / display_fps)))
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._relayout()

    # --- queries -------------------------------------------------------------
    @property
    def layout_name(self) -> str:
        return self._layout

    @property
    def tile_count(self) -> int:
        return GRID_SIZES[self._layout] ** 2

    def visible_tiles(self) -> list[CameraTile]:
        return [t for t in self._tiles if t.isVisible()]

    def tiles(self) -> list[CameraTile]:
        return self._tiles[: self.tile_count]

    def camera_ids(self) -> list[str | None]:
        """Camera ids of the tiles of the current layout, in order."""
        return list(self._slots[: self.tile_count])

    @property
    def maximized_tile(self) -> CameraTile | None:
        return self._maximized

    @property
    def selected_tile(self) -> CameraTile | None:
        return self._selected

    # --- commands ------------------------------------------------------------
    def set_layout(self, name: str) -> None:
        if name not in GRID_SIZES:
            raise ValueError(f"unknown layout {name!r}")
        if name == self._layout and self._maximized is None:
            return
        self._layout = name
        self._maximized = None
        self._relayout()
        self.layout_changed.emit(name)

    def set_cameras(self, ids: Sequence[str]) -> None:
        """Fills the slots in order (unknown ids are skipped); remaining slots become empty."""
        known = [i for i in ids if i in self._cameras][:MAX_TILES]
        self._slots = known + [None] * (MAX_TILES - len(known))
        for tile, cid in zip(self._tiles, self._slots, strict=True):
            tile.set_camera(self._cameras[cid] if cid else None)
        self.cameras_changed.emit()

    def set_mask_note(self, note: Callable[[str], str | None]) -> None:
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
        for tile in self._tiles:
            cam = tile.camera
            tile.set_window(windows.get(cam.id) if cam is not None else None)

    def place_camera(self, camera_id: str) -> int:
        """Puts a camera on the wall: the selected tile, else the first empty one, else the last.

        If it is already shown, that tile is selected instead. Returns the tile index.
        """
        n = self.tile_count
        if camera_id in self._slots[:n]:
            idx = self._slots.index(camera_id)
        elif self._selected is not None and self._selected.index < n:
            idx = self._selected.index
        elif None in self._slots[:n]:
            idx = self._slots.index(None)
        else:
            idx = n - 1
        self._slots[idx] = camera_id
        self._tiles[idx].set_camera(self._cameras[camera_id])
        self._select(self._tiles[idx])
        self.cameras_changed.emit()
        return idx

    def toggle_maximize(self, index: int) -> None:
        self._toggle_maximize(self._tiles[index])

    def shutdown(self) -> None:
        self._timer.stop()
        for t in self._tiles:
            t.set_camera(None)

    # --- internals -----------------------------------------------------------
    def _select(self, tile: CameraTile) -> None:
        if self._selected is not None:
            self._selected.set_selected(False)
        self._selected = tile
        tile.set_selected(True)

    def _toggle_maximize(self, tile: CameraTile) -> None:
        self._maximized = None if self._maximized is tile else tile
        self._relayout()

    def _relayout(self) -> None:
        n = GRID_SIZES[self._layout]
        for t in self._tiles:
            self._grid.removeWidget(t)
        # Hide first (stops their workers), then show what the layout needs.
        shown: list[CameraTile]
        if self._maximized is not None:
            shown = [self._maximized]
            self._grid.addWidget(self._maximized, 0, 0)
        else:
            shown = self._tiles[: n * n]
            for i, t in enumerate(shown):
                self._grid.addWidget(t, i // n, i % n)
        for t in self._tiles:
            if t not in shown:
                t.hide()
        for r in range(4):
            self._grid.setRowStretch(r, 1 if (self._maximized is None and r < n) else 0)
            self._grid.setColumnStretch(r, 1 if (self._maximized is None and r < n) else 0)
        if self._maximized is not None:
            self._grid.setRowStretch(0, 1)
            self._grid.setColumnStretch(0, 1)
        for t in shown:
            t.show()

    def _tick(self) -> None:
        for t in self._tiles:
            if t.isVisible():
                t.refresh()
