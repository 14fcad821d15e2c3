"""Operating the wall: layouts, pages, tours, keyboard, drag and drop, views, the last session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from rtcc_wall.core.layouts import LAYOUTS, get_layout
from rtcc_wall.core.views import PersonalViews, View, ViewLibrary, WallState
from rtcc_wall.ui.dnd import CameraDrag, camera_mime
from rtcc_wall.ui.main_window import MainWindow
from rtcc_wall.ui.shortcuts import SHORTCUTS, ShortcutSheet, install_wall_keys
from rtcc_wall.ui.wall import WallWidget
from tests.ui.conftest import FakeManager


@pytest.fixture
def wall(qtbot: QtBot, demo_loaded, fake_manager: FakeManager) -> Iterator[WallWidget]:  # type: ignore[no-untyped-def]
    w = WallWidget(fake_manager, demo_loaded.cameras, layout="2x2", display_fps=30)  # type: ignore[arg-type]
    install_wall_keys(w)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w.setFocus()
    yield w
    w.shutdown()


def _ids(demo_loaded, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    return list(demo_loaded.cameras)[:n]


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_layout_places_its_tiles(
    wall: WallWidget, demo_loaded, fake_manager: FakeManager, name: str  # type: ignore[no-untyped-def]
) -> None:
    lay = get_layout(name)
    wall.set_cameras(_ids(demo_loaded, 28))
    wall.set_layout(name)
    QApplication.processEvents()
    tiles = wall.visible_tiles()
    assert len(tiles) == lay.tiles
    # only what is visible holds a camera: the rest of the list waits on other pages
    assert fake_manager.running_ids() == set(_ids(demo_loaded, min(lay.tiles, 28)))
    unit_w = wall.width() / lay.cols
    unit_h = wall.height() / lay.rows
    for tile, cell in zip(wall.tiles(), lay.cells, strict=True):
        g = tile.geometry()
        assert abs(g.width() - cell.colspan * unit_w) < 6, (name, cell, g)
        assert abs(g.height() - cell.rowspan * unit_h) < 6, (name, cell, g)
        assert abs(g.x() - cell.col * unit_w) < 6
        assert abs(g.y() - cell.row * unit_h) < 6


def test_pages_show_the_rest_and_only_visible_cameras_run(
    qtbot: QtBot, wall: WallWidget, demo_loaded, fake_manager: FakeManager  # type: ignore[no-untyped-def]
) -> None:
    ids = _ids(demo_loaded, 10)
    wall.set_cameras(ids)
    assert wall.page_count == 3
    assert fake_manager.running_ids() == set(ids[:4])
    qtbot.keyClick(wall, Qt.Key.Key_PageDown)
    assert wall.page == 1
    assert wall.camera_ids() == ids[4:8]
    assert fake_manager.running_ids() == set(ids[4:8])
    wall.next_page()
    assert wall.camera_ids() == [*ids[8:10], None, None]
    assert fake_manager.running_ids() == set(ids[8:10])
    qtbot.keyClick(wall, Qt.Key.Key_PageDown)  # wraps to the first page
    assert wall.page == 0
    qtbot.keyClick(wall, Qt.Key.Key_PageUp)
    assert wall.page == 2
    wall.hide()  # a hidden wall decodes nothing
    assert fake_manager.running_ids() == set()


def test_tour_turns_pages_and_space_pauses(
    qtbot: QtBot, wall: WallWidget, demo_loaded  # type: ignore[no-untyped-def]
) -> None:
    wall.set_cameras(_ids(demo_loaded, 8))
    wall.set_tour(2.0)
    assert wall.tour_running
    qtbot.waitUntil(lambda: wall.page == 1, timeout=3500)
    qtbot.keyClick(wall, Qt.Key.Key_Space)
    assert wall.tour_paused
    assert not wall.tour_running
    qtbot.wait(2300)
    assert wall.page == 1  # paused: no turn
    qtbot.keyClick(wall, Qt.Key.Key_Space)
    assert wall.tour_running
    qtbot.waitUntil(lambda: wall.page == 0, timeout=3500)
    qtbot.keyClick(wall, Qt.Key.Key_T)  # T stops the tour
    assert wall.tour_seconds is None
    assert not wall.tour_running
    with pytest.raises(ValueError, match="tour step"):
        wall.set_tour(0.5)


def test_digit_keys_switch_layouts(qtbot: QtBot, wall: WallWidget, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    wall.set_cameras(_ids(demo_loaded, 20))
    for key, name in ((Qt.Key.Key_1, "1x1"), (Qt.Key.Key_3, "3x3"), (Qt.Key.Key_8, "8x8")):
        qtbot.keyClick(wall, key)
        assert wall.layout_name == name
    seen = []
    for _ in range(5):
        qtbot.keyClick(wall, Qt.Key.Key_9)
        seen.append(wall.layout_name)
    assert seen == ["1+5", "1+7", "2+8", "1+12", "1+5"]


def test_arrows_enter_escape(qtbot: QtBot, wall: WallWidget, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    wall.set_cameras(_ids(demo_loaded, 9))
    wall.set_layout("3x3")
    wall.select_index(4)  # the middle
    qtbot.keyClick(wall, Qt.Key.Key_Right)
    assert wall.selected_tile is not None
    assert wall.selected_tile.index == 5
    qtbot.keyClick(wall, Qt.Key.Key_Down)
    assert wall.selected_tile.index == 8
    qtbot.keyClick(wall, Qt.Key.Key_Left)
    qtbot.keyClick(wall, Qt.Key.Key_Up)
    assert wall.selected_tile.index == 4
    qtbot.keyClick(wall, Qt.Key.Key_Return)
    assert wall.maximized_tile is wall.tiles()[4]
    assert wall.visible_tiles() == [wall.tiles()[4]]
    qtbot.keyClick(wall, Qt.Key.Key_Return)
    assert wall.maximized_tile is None
    assert len(wall.visible_tiles()) == 9
    # in the focus layout the arrows follow the geometry: right of the big tile is tile 1
    wall.set_layout("1+5")
    wall.select_index(0)
    qtbot.keyClick(wall, Qt.Key.Key_Right)
    assert wall.selected_tile.index == 1
    qtbot.keyClick(wall, Qt.Key.Key_Delete)
    assert wall.camera_ids()[1] is None


def _drop(tile, drag: CameraDrag) -> None:  # type: ignore[no-untyped-def]
    data: QMimeData = camera_mime(drag)
    center = QPointF(tile.rect().center())
    ev = QDropEvent(
        center, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    tile.dropEvent(ev)


def test_drop_a_camera_and_swap_tiles(
    wall: WallWidget, demo_loaded, fake_manager: FakeManager  # type: ignore[no-untyped-def]
) -> None:
    ids = _ids(demo_loaded, 3)
    extra = list(demo_loaded.cameras)[10]
    wall.set_cameras(ids)
    t = wall.tiles()
    _drop(t[3], CameraDrag(extra))  # from the list or the map
    assert wall.camera_ids() == [*ids, extra]
    assert extra in fake_manager.running_ids()
    _drop(t[0], CameraDrag(ids[2], wall.key, 2))  # tile 2 onto tile 0: swap
    assert wall.camera_ids() == [ids[2], ids[1], ids[0], extra]
    _drop(t[1], CameraDrag(ids[0], "another-wall", 2))  # from another window: placed
    assert wall.camera_ids()[1] == ids[0]
    _drop(t[2], CameraDrag("no-such-camera"))  # ignored
    assert wall.camera_ids()[2] == ids[0]


def test_drag_starts_from_a_tile(qtbot: QtBot, wall: WallWidget, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    """A press and a move on a tile starts a drag carrying the camera and the tile."""
    from rtcc_wall.ui import tile as tile_mod

    wall.set_cameras(_ids(demo_loaded, 4))
    seen: list[CameraDrag | None] = []

    class _Drag:
        def __init__(self, source: object) -> None:
            self.data: QMimeData | None = None

        def setMimeData(self, data: QMimeData) -> None:  # noqa: N802
            self.data = data

        def exec(self, *_a: object) -> None:
            from rtcc_wall.ui.dnd import read_camera_mime

            seen.append(read_camera_mime(self.data))

    orig = tile_mod.QDrag
    tile_mod.QDrag = _Drag  # type: ignore[misc,assignment]  # QDrag.exec would block offscreen
    try:
        tile = wall.tiles()[1]
        qtbot.mousePress(tile, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
        qtbot.mouseMove(tile, QPoint(60, 60))
        from PySide6.QtGui import QMouseEvent

        move = QMouseEvent(
            QMouseEvent.Type.MouseMove, QPointF(70, 70), QPointF(70, 70),
            Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
        )  # fmt: skip
        tile.mouseMoveEvent(move)
    finally:
        tile_mod.QDrag = orig  # type: ignore[misc]
    assert seen == [CameraDrag(_ids(demo_loaded, 4)[1], wall.key, 1)]


def test_f1_sheet_lists_every_shortcut(qtbot: QtBot) -> None:
    sheet = ShortcutSheet()
    qtbot.addWidget(sheet)
    assert sheet.table.rowCount() == len(SHORTCUTS)
    keys = [sheet.table.item(r, 0).text() for r in range(sheet.table.rowCount())]
    for needed in ("1 … 8", "Enter", "Esc", "Space", "F11", "F1", "← ↑ → ↓"):
        assert needed in keys


# ------------------------------------------------------------------ main window


def _window(qtbot: QtBot, demo_loaded, fake_manager, tmp_path: Path, shared=()) -> MainWindow:  # type: ignore[no-untyped-def]
    views = ViewLibrary(list(shared), PersonalViews.load(tmp_path / "views.yaml"))
    state = WallState.load(tmp_path / "state.json", demo_loaded.cameras)
    w = MainWindow(demo_loaded, fake_manager, demo=False, views=views, wall_state=state)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_last_session_comes_back(
    qtbot: QtBot, demo_loaded, fake_manager, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    w = _window(qtbot, demo_loaded, fake_manager, tmp_path)
    ids = list(demo_loaded.cameras)[5:15]
    w.wall.set_layout("1+5")
    w.wall.set_cameras(ids)
    w.wall.next_page()
    w.wall.set_tour(15)
    w.close()
    again = _window(qtbot, demo_loaded, FakeManager(), tmp_path)
    assert again.wall.layout_name == "1+5"
    assert again.wall.all_camera_ids() == ids
    assert again.wall.page == 1
    assert again.wall.tour_seconds == 15
    assert again.wall_controls.page_label.text().strip() == "Page 2/2"
    again.close()


def test_save_and_open_named_views(
    qtbot: QtBot, demo_loaded, fake_manager, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    shared = [View("Downtown", "3x3", tuple(list(demo_loaded.cameras)[:9]), shared=True)]
    w = _window(qtbot, demo_loaded, fake_manager, tmp_path, shared)
    mine = list(demo_loaded.cameras)[20:26]
    w.wall.set_layout("1+5")
    w.wall.set_cameras(mine)
    assert w.wall_controls.save_view("Bridge watch")
    stored = PersonalViews.load(tmp_path / "views.yaml").views
    assert stored == [View("Bridge watch", "1+5", tuple(mine))]
    # a shared name is refused with a message box: answer it from a timer
    def close_boxes() -> None:
        for d in QApplication.topLevelWidgets():
            if isinstance(d, QDialog) and d.isVisible():
                d.close()

    QTimer.singleShot(200, close_boxes)
    assert not w.wall_controls.save_view("Downtown")
    w.wall_controls.open_view(shared[0])
    assert w.wall.layout_name == "3x3"
    assert w.wall.camera_ids() == list(shared[0].cameras)
    assert w.wall.view_name == "Downtown"
    w.wall_controls._fill_views_menu()  # the menu lists both kinds
    texts = [a.text().strip() for a in w.wall_controls.views_menu.actions()]
    assert "Downtown" in texts
    assert "Bridge watch" in texts
    w.close()


def test_layout_menu_and_camera_list(
    qtbot: QtBot, demo_loaded, fake_manager, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    w = _window(qtbot, demo_loaded, fake_manager, tmp_path)
    w.layout_actions["2+8"].trigger()
    assert w.wall.layout_name == "2+8"
    assert "2 large + 8" in w.wall_controls.layout_button.text()
    # wall keys act once the operator clicked into the wall (typing elsewhere is safe)
    with qtbot.waitActive(w):
        w.activateWindow()
    qtbot.mouseClick(w.wall.tiles()[0], Qt.MouseButton.LeftButton)
    qtbot.keyClick(w.wall, Qt.Key.Key_2)
    assert w.layout_actions["2x2"].isChecked()
    lst = w.camera_list
    assert len(lst.listed_ids()) == len(demo_loaded.cameras)
    lst.filter.setText("priv-0")
    assert lst.listed_ids()
    assert all(i.startswith("priv-0") for i in lst.listed_ids())
    shown = [i for i in range(lst.list.count()) if not lst.list.item(i).isHidden()]
    item = lst.list.item(shown[0])
    lst.list.itemActivated.emit(item)
    assert lst.listed_ids()[0] in w.wall.camera_ids()
    # the list's drags carry our camera payload
    mime = lst.list.mimeData([item])
    from rtcc_wall.ui.dnd import read_camera_mime

    assert read_camera_mime(mime) == CameraDrag(lst.listed_ids()[0])
    w.close()


def test_drag_a_camera_from_the_map(
    qtbot: QtBot, demo_loaded, fake_manager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """Press on a camera dot and move: a camera drag starts (elsewhere the map pans)."""
    from rtcc_wall.ui import map_view as mv
    from rtcc_wall.ui.dnd import read_camera_mime

    w = _window(qtbot, demo_loaded, fake_manager, tmp_path)
    started: list[CameraDrag | None] = []

    class _Drag:
        def __init__(self, _src: object) -> None:
            self.data: QMimeData | None = None

        def setMimeData(self, data: QMimeData) -> None:  # noqa: N802
            self.data = data

        def exec(self, *_a: object) -> None:
            started.append(read_camera_mime(self.data))

    monkeypatch.setattr(mv, "QDrag", _Drag)
    cam = demo_loaded.cameras["priv-09"]
    w.map.center_on_xy(cam.x, cam.y, width_m=500)
    pos = w.map.xy_to_viewport(cam.x, cam.y).toPoint()
    vp = w.map.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=pos)
    from PySide6.QtGui import QMouseEvent

    to = QPointF(pos + QPoint(40, 30))
    move = QMouseEvent(
        QMouseEvent.Type.MouseMove, to, vp.mapToGlobal(to), Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(vp, move)
    assert started == [CameraDrag("priv-09")]
    # the drop on a tile puts it there
    _drop(w.wall.tiles()[0], started[0])  # type: ignore[arg-type]
    assert w.wall.camera_ids()[0] == "priv-09"
    w.close()


def test_the_wall_gets_most_of_the_console(qtbot: QtBot, demo_loaded, fake_manager) -> None:  # type: ignore[no-untyped-def]
    """The map's scene is thousands of pixels wide: it must not starve the wall."""
    w = MainWindow(demo_loaded, fake_manager, demo=False)
    qtbot.addWidget(w)
    w.resize(1920, 1080)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(20)
    assert w.wall.width() > 0.5 * w.width()
    assert w.map.width() > 0.3 * w.width()
    w.close()


def test_f1_sheet_shows_every_row(qtbot: QtBot) -> None:
    sheet = ShortcutSheet()
    qtbot.addWidget(sheet)
    sheet.show()
    qtbot.waitExposed(sheet)
    table = sheet.table
    last = table.visualItemRect(table.item(len(SHORTCUTS) - 1, 0))
    assert table.viewport().rect().contains(last), "the last shortcut is off the sheet"


def test_eta_pill_never_covers_the_state_pill(
    qtbot: QtBot, wall: WallWidget, demo_loaded, fake_manager: FakeManager  # type: ignore[no-untyped-def]
) -> None:
    """On narrow tiles the arrival window moves up a line instead of overlapping LIVE."""
    import datetime as dt

    import numpy as np
    from PySide6.QtGui import QColor

    from rtcc_wall.core.cameras import CameraState

    ids = _ids(demo_loaded, 9)
    wall.set_cameras(ids)
    wall.set_layout("3x3")
    wall.resize(560, 320)  # tiles about 186 px wide
    now = dt.datetime.now(dt.UTC)
    wall.set_windows({ids[0]: (now + dt.timedelta(minutes=5), now + dt.timedelta(minutes=7))})
    tile = wall.tiles()[0]
    w = fake_manager.worker(ids[0])
    w.state = CameraState.LIVE
    w.push((0, 0, 0))
    tile.refresh()
    qtbot.wait(50)
    img = tile.snapshot().toImage()
    h = img.height()
    # the bottom line's left half must not hold the ETA's white text over the LIVE pill's row:
    # find the ETA text rows (white pixels in the left 40 %) and the LIVE rows (green, right)
    def rows_with(pred, x0: int, x1: int) -> set[int]:  # type: ignore[no-untyped-def]
        out = set()
        for y in range(h - 60, h):
            for x in range(x0, x1, 2):
                if pred(QColor(img.pixel(x, y))):
                    out.add(y)
                    break
        return out

    wd = img.width()
    white = rows_with(lambda c: min(c.red(), c.green(), c.blue()) > 200, 4, int(wd * 0.4))
    green = rows_with(lambda c: c.green() > 150 and c.red() < 120, int(wd * 0.5), wd - 2)
    assert white
    assert green
    assert not (white & green), "ETA and LIVE text share rows on a narrow tile"
    assert np.mean(sorted(white)) < np.mean(sorted(green))


def test_config_reload_runs_off_the_gui_thread(
    qtbot: QtBot,
    demo_config_path: Path,
    fake_manager,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A changed config file is loaded on a worker thread: the wall keeps its pace meanwhile."""
    import time

    import rtcc_wall.config.loader as loader

    roads = (demo_config_path.parent / "resources/demo/roads.geojson").resolve()
    text = demo_config_path.read_text().replace(
        "road_network: resources/demo/roads.geojson", f"road_network: {roads}"
    )
    cfg = tmp_path / "site.yaml"
    cfg.write_text(text)
    loaded = loader.load_config(cfg)
    w = MainWindow(loaded, fake_manager, demo=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    real = loader.load_config

    def slow(path):  # type: ignore[no-untyped-def]
        time.sleep(1.5)  # a city-sized road network
        return real(path)

    monkeypatch.setattr(loader, "load_config", slow)
    at = text.index("revoked: false", text.index("- id: priv-01"))
    cfg.write_text(text[:at] + "revoked: true" + text[at + len("revoked: false") :])
    gaps: list[float] = []
    last = [time.monotonic()]

    def beat() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(beat)
    timer.start(10)
    w._access_tick()  # the once-a-second check sees the new file
    def revoked() -> bool:
        return any(c.waiver is not None and c.waiver.revoked for c in w.loaded.cameras.values())

    qtbot.waitUntil(revoked, timeout=6000)
    timer.stop()
    w.close()
    assert max(gaps) < 0.5, f"the GUI thread stalled {max(gaps):.2f} s while the config loaded"
