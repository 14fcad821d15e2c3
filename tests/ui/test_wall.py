"""The wall and its tiles, driven by fake workers (real Qt widgets, offscreen)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from rtcc_wall.core.cameras import CameraState
from rtcc_wall.ui.wall import WallWidget
from tests.ui.conftest import FakeManager


def _wall(qtbot: QtBot, demo_loaded, fake_manager: FakeManager, layout: str = "2x2") -> WallWidget:  # type: ignore[no-untyped-def]
    w = WallWidget(fake_manager, demo_loaded.cameras, layout=layout, display_fps=30)  # type: ignore[arg-type]
    qtbot.addWidget(w)
    w.resize(800, 450)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_layouts_show_n_by_n_tiles(qtbot: QtBot, demo_loaded, fake_manager: FakeManager) -> None:  # type: ignore[no-untyped-def]
    wall = _wall(qtbot, demo_loaded, fake_manager)
    wall.set_cameras(list(demo_loaded.cameras)[:16])
    for name, n in (("1x1", 1), ("2x2", 4), ("3x3", 9), ("4x4", 16)):
        wall.set_layout(name)
        assert len(wall.visible_tiles()) == n
        # only visible tiles hold a camera worker
        assert fake_manager.running_ids() == set(list(demo_loaded.cameras)[:n])


def test_double_click_maximizes_and_back(
    qtbot: QtBot, demo_loaded, fake_manager: FakeManager
) -> None:  # type: ignore[no-untyped-def]
    wall = _wall(qtbot, demo_loaded, fake_manager, "3x3")
    wall.set_cameras(list(demo_loaded.cameras)[:9])
    tile = wall.tiles()[4]
    small = tile.size()
    qtbot.mouseDClick(tile, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wall.visible_tiles() == [tile])
    qtbot.waitUntil(lambda: tile.width() > 2 * small.width())
    qtbot.mouseDClick(tile, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(wall.visible_tiles()) == 9)


def test_tile_shows_frame_state_and_age(
    qtbot: QtBot, demo_loaded, fake_manager: FakeManager
) -> None:  # type: ignore[no-untyped-def]
    wall = _wall(qtbot, demo_loaded, fake_manager, "1x1")
    cid = next(iter(demo_loaded.cameras))
    wall.set_cameras([cid])
    tile = wall.tiles()[0]
    worker = fake_manager.worker(cid)
    # the tile asked its worker for frames of its own size
    qtbot.waitUntil(lambda: worker.target == (tile.width(), tile.height()))
    worker.state = CameraState.LIVE
    worker.push((40, 200, 40))  # green picture
    qtbot.waitUntil(lambda: tile.has_live_picture)
    live = tile.snapshot().toImage()
    centre = live.pixelColor(tile.width() // 2, tile.height() // 2)
    assert centre.green() > 180
    assert centre.red() < 80
    # the overlay is drawn over the picture: the top bar is darkened
    assert live.pixelColor(tile.width() // 2, 3).green() < 120

    # frames stop: the worker says STALE; the same picture must no longer look live
    worker.state = CameraState.STALE
    worker.captured_at = worker.captured_at - 12  # type: ignore[operator]
    qtbot.waitUntil(lambda: tile.state == CameraState.STALE)
    stale = tile.snapshot().toImage()
    dimmed = stale.pixelColor(tile.width() // 4, tile.height() // 3)
    assert dimmed.green() < 140, "a stale picture must be visibly dimmed"
    assert tile.frames_shown == 1


def test_empty_tile_and_place_camera(qtbot: QtBot, demo_loaded, fake_manager: FakeManager) -> None:  # type: ignore[no-untyped-def]
    wall = _wall(qtbot, demo_loaded, fake_manager, "2x2")
    ids = list(demo_loaded.cameras)
    wall.set_cameras(ids[:2])
    assert wall.camera_ids() == [ids[0], ids[1], None, None]
    assert wall.place_camera(ids[5]) == 2  # first empty tile
    qtbot.mouseClick(wall.tiles()[0], Qt.MouseButton.LeftButton)
    assert wall.place_camera(ids[6]) == 0  # the selected tile
    assert wall.camera_ids() == [ids[6], ids[1], ids[5], None]
    assert wall.place_camera(ids[1]) == 1  # already shown: selected, not duplicated
    assert wall.camera_ids().count(ids[1]) == 1
    img = wall.tiles()[3].snapshot().toImage()
    assert img.pixelColor(5, 5) != QColor("white")


def test_small_tile_uses_sub_stream_and_maximize_switches_without_flash(
    qtbot: QtBot, demo_loaded
) -> None:  # type: ignore[no-untyped-def]
    ids = list(demo_loaded.cameras)[:16]
    manager = FakeManager(with_sub={ids[5]})
    wall = _wall(qtbot, demo_loaded, manager, "4x4")
    wall.resize(1200, 700)  # tiles about 300 px wide: below the 640 px threshold
    wall.set_cameras(ids)
    tile = wall.tiles()[5]
    qtbot.waitUntil(lambda: tile.variant == "sub")
    assert (ids[5], "sub") in manager.running_streams()
    assert (ids[5], "main") not in manager.running_streams()
    # cameras without a sub-stream stay on their main stream
    assert wall.tiles()[0].variant == "main"
    sub = manager.worker(ids[5], "sub")
    sub.state = CameraState.LIVE
    sub.push((200, 40, 40))  # blue picture from the sub-stream
    qtbot.waitUntil(lambda: tile.has_live_picture)

    wall.toggle_maximize(5)  # now about 1200 px wide: main stream wanted
    qtbot.waitUntil(lambda: (ids[5], "main") in manager.running_streams())
    # until the main stream delivers, the tile keeps the sub-stream's picture (no black flash)
    for _ in range(5):
        qtbot.wait(40)
        assert tile.variant == "sub"
        img = tile.snapshot().toImage()
        assert img.pixelColor(tile.width() // 2, tile.height() // 2).blue() > 150
    main = manager.worker(ids[5], "main")
    main.state = CameraState.LIVE
    main.push((40, 40, 200))  # red picture from the main stream
    qtbot.waitUntil(lambda: tile.variant == "main")
    def centre_red() -> int:
        return tile.snapshot().toImage().pixelColor(tile.width() // 2, tile.height() // 2).red()

    qtbot.waitUntil(lambda: centre_red() > 150)
    assert (ids[5], "sub") not in manager.running_streams()

    wall.toggle_maximize(5)  # back to the grid: back to the sub-stream
    qtbot.waitUntil(lambda: (ids[5], "sub") in manager.running_streams())
    sub.push((200, 40, 40))
    qtbot.waitUntil(lambda: tile.variant == "sub")
