"""Keyboard control of a wall, and the F1 sheet that lists every shortcut.

Wall keys (digits, arrows, Enter, Space, Page Up/Down, Delete, T) are bound to
the wall widget with ``WidgetWithChildrenShortcut``: they act while the wall
has the keyboard focus (click a tile), so typing a reason or a case number in
the console never switches layouts. F1, F11 and Esc act anywhere in the window.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rtcc_wall.core.layouts import FOCUS, GRIDS
from rtcc_wall.ui.wall import WallWidget

#: seconds per page when a tour is started from the keyboard
DEFAULT_TOUR_S = 10.0

#: (keys, what they do), in the order the F1 sheet shows them
SHORTCUTS: list[tuple[str, str]] = [
    ("1 … 8", "Uniform grid 1×1 … 8×8"),
    ("9", "Next focus layout: 1 large + 5, 1 + 7, 2 + 8, 1 + 12"),
    ("← ↑ → ↓", "Move the selection to the neighbouring tile"),
    ("Enter", "Maximize the selected tile / back to the layout"),
    ("Esc", "Back from a maximized tile; then leave full screen"),
    ("Page Down / Page Up", "Next / previous page of the view's cameras"),
    ("T", f"Start a camera tour (pages turn every {DEFAULT_TOUR_S:g} s) / stop it"),
    ("Space", "Pause / resume the tour"),
    ("Delete", "Take the camera off the selected tile"),
    ("Drag a camera", "From the camera list or the map onto a tile; tile onto tile swaps"),
    ("Double-click a tile", "Maximize it / back"),
    ("F11", "Full screen on / off"),
    ("F1", "This list"),
]


def _action(
    host: QWidget, keys: str | QKeySequence.StandardKey | Qt.Key, slot: Callable[[], object],
    *, context: Qt.ShortcutContext,
) -> QAction:  # fmt: skip
    act = QAction(host)
    act.setShortcut(QKeySequence(keys))
    act.setShortcutContext(context)
    act.triggered.connect(lambda _checked=False: slot())
    host.addAction(act)
    return act


def _cycle_focus(wall: WallWidget) -> None:
    names = [lay.name for lay in FOCUS]
    cur = wall.layout_name
    wall.set_layout(names[(names.index(cur) + 1) % len(names)] if cur in names else names[0])


def _toggle_tour(wall: WallWidget) -> None:
    wall.set_tour(None if wall.tour_seconds is not None else DEFAULT_TOUR_S)


def _enter(wall: WallWidget) -> None:
    tile = wall.selected_tile
    if tile is None:
        wall.select_index(0)
        tile = wall.selected_tile
    if tile is not None:
        wall.toggle_maximize(tile.index)


def _delete(wall: WallWidget) -> None:
    tile = wall.selected_tile
    if tile is not None:
        wall.clear_tile(tile.index)


def install_wall_keys(wall: WallWidget) -> list[QAction]:
    """Binds the wall keys to ``wall`` (active while the focus is in the wall)."""
    ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
    def layout_setter(name: str) -> Callable[[], None]:
        return lambda: wall.set_layout(name)

    acts = [_action(wall, str(lay.rows), layout_setter(lay.name), context=ctx) for lay in GRIDS]
    acts += [
        _action(wall, "9", lambda: _cycle_focus(wall), context=ctx),
        _action(wall, Qt.Key.Key_Left, lambda: wall.move_selection(-1, 0), context=ctx),
        _action(wall, Qt.Key.Key_Right, lambda: wall.move_selection(1, 0), context=ctx),
        _action(wall, Qt.Key.Key_Up, lambda: wall.move_selection(0, -1), context=ctx),
        _action(wall, Qt.Key.Key_Down, lambda: wall.move_selection(0, 1), context=ctx),
        _action(wall, Qt.Key.Key_Return, lambda: _enter(wall), context=ctx),
        _action(wall, Qt.Key.Key_Enter, lambda: _enter(wall), context=ctx),
        _action(wall, Qt.Key.Key_PageDown, wall.next_page, context=ctx),
        _action(wall, Qt.Key.Key_PageUp, wall.previous_page, context=ctx),
        _action(wall, Qt.Key.Key_Space, wall.toggle_tour_pause, context=ctx),
        _action(wall, "T", lambda: _toggle_tour(wall), context=ctx),
        _action(wall, Qt.Key.Key_Delete, lambda: _delete(wall), context=ctx),
    ]
    return acts


def install_window_keys(
    window: QWidget,
    wall_of: Callable[[], WallWidget | None],
    *,
    toggle_full_screen: Callable[[], object],
) -> list[QAction]:
    """F1 (the sheet), F11 (full screen) and Esc (restore, then leave full screen)."""
    ctx = Qt.ShortcutContext.WindowShortcut

    def escape() -> None:
        wall = wall_of()
        if wall is not None and wall.restore():
            return
        if window.isFullScreen():
            toggle_full_screen()

    return [
        _action(window, Qt.Key.Key_F1, lambda: ShortcutSheet(window).exec(), context=ctx),
        _action(window, Qt.Key.Key_F11, toggle_full_screen, context=ctx),
        _action(window, Qt.Key.Key_Escape, escape, context=ctx),
    ]


class ShortcutSheet(QDialog):
    """Every shortcut, in one table (F1)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("rtcc-wall — keyboard shortcuts")
        table = QTableWidget(len(SHORTCUTS), 2, self)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for row, (keys, what) in enumerate(SHORTCUTS):
            k = QTableWidgetItem(keys)
            f = k.font()
            f.setBold(True)
            k.setFont(f)
            table.setItem(row, 0, k)
            table.setItem(row, 1, QTableWidgetItem(what))
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        # rows follow their text once the columns have their widths (not before)
        table.setWordWrap(True)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addWidget(table)
        box.addWidget(buttons)
        self.resize(720, 520)
