"""The wall and its tiles, driven by fake workers (real Qt widgets, offscreen)."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from rtcc_wall.core.cameras import CameraState
from rtcc_wall.ui import theme
from rtcc_wall.ui.tile import CameraTile
from rtcc_wall.ui.wall import WallWidget
from rtcc_wall.video.frames import Frame
from tests.ui.conftest import FakeManager, FakeWorker


def _wall(qtbot: QtBot, demo_loaded, fake_manager: FakeManager, layout: str = "2x2") -> WallWidget:  # type: ignore[no-untyped-def]
    w = WallWidget(fake_manager, demo_loaded.cameras, layout=layout, display_fps=30)  # type: ignore[arg-type]
    qtbot.addWidget(w)
    w.resize(800, 450)
    w.show()
    qtbot.waitExposed(w)
    return w


def _one_camera(  # type: ignore[no-untyped-def]
    qtbot: QtBot, demo_loaded, fake_manager: FakeManager, layout: str
) -> tuple[WallWidget, CameraTile, FakeWorker]:
    """A wall with the first demo camera on its first tile, which asked for frames of its size."""
    wall = _wall(qtbot, demo_loaded, fake_manager, layout)
    cid = next(iter(demo_loaded.cameras))
    wall.set_cameras([cid])
    tile = wall.tiles()[0]
    worker = fake_manager.worker(cid)
    qtbot.waitUntil(lambda: worker.target == (tile.width(), tile.height()))
    return wall, tile, worker


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
    _wall_, tile, worker = _one_camera(qtbot, demo_loaded, fake_manager, "1x1")
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


def _picture(worker: FakeWorker, w: int, h: int, bgr: tuple[int, int, int]) -> None:
    img = np.empty((h, w, 4), dtype=np.uint8)
    img[:, :] = (*bgr, 255)
    worker.seq += 1
    worker.captured_at = time.monotonic()
    worker.latest.publish(
        Frame(img, worker.seq, worker.captured_at, dt.datetime.now(dt.UTC), (w, h))
    )


def test_every_pixel_painted_bars_and_gaps(
    qtbot: QtBot, demo_loaded, fake_manager: FakeManager
) -> None:  # type: ignore[no-untyped-def]
    """The wall fills only its gaps and each tile only the bars around its picture:
    nothing may be left unpainted (the wall is opaque: old pixels would stay)."""
    wall, tile, worker = _one_camera(qtbot, demo_loaded, fake_manager, "2x2")
    worker.state = CameraState.LIVE
    # shown 1:1 (nearly the tile's height), centred: bars on all four sides
    pw, ph = tile.width() - 100, tile.height() - 4
    _picture(worker, pw, ph, (40, 200, 40))
    qtbot.waitUntil(lambda: tile.has_live_picture)
    for layout in ("2x2", "3x3", "2x2"):  # the gaps move with the layout
        wall.set_layout(layout)
        cols = int(layout[0])
        qtbot.waitUntil(lambda c=cols: abs(tile.width() - (800 - 2 * (c - 1)) / c) < 2)
        assert tile.rect_in_wall == tile.geometry()
        img = wall.grab().toImage()
        g = tile.geometry()
        mid_y = g.y() + g.height() // 2
        bg, gap = QColor("#07090c"), QColor(theme.BG)
        assert img.pixelColor(g.x() + 6, mid_y) == bg, "left bar"
        assert img.pixelColor(g.right() - 6, mid_y) == bg, "right bar"
        # (3x3: the picture is shrunk to fit, no bar below; its bottom row is the border)
        if layout == "2x2":
            assert img.pixelColor(g.x() + g.width() // 2, g.bottom() - 1) == bg, "bar below"
        assert img.pixelColor(g.x() + g.width() // 2, mid_y).green() > 180, "picture"
        right_gap = g.right() + 1  # the grid's 2 px spacing
        assert img.pixelColor(right_gap, mid_y) == gap
        assert img.pixelColor(g.x() + g.width() // 2, g.bottom() + 1) == gap
        # an empty tile is all painted too
        other = wall.tiles()[1].geometry()
        assert img.pixelColor(other.x() + 6, other.y() + other.height() // 2) == bg


def test_overlay_drawn_only_where_it_has_something(
    qtbot: QtBot, demo_loaded, fake_manager: FakeManager
) -> None:  # type: ignore[no-untyped-def]
    """Every visible pixel of the cached overlay lies in the parts drawn; the parts are small."""
    _wall_, tile, _worker = _one_camera(qtbot, demo_loaded, fake_manager, "2x2")
    now = dt.datetime.now(dt.UTC)
    cases = [
        {},
        {"window": (now - dt.timedelta(seconds=5), now + dt.timedelta(seconds=60))},
        {"note": "MASK LIFTED", "selected": True},
        {"window": (now, now + dt.timedelta(seconds=30)), "note": "MASK LIFTED"},
    ]
    for dpr, case in ((d, c) for d in (1.0, 1.5, 2.0) for c in cases):
        tile._dpr = dpr  # as on a HiDPI screen (part of the overlay's cache key)
        tile.set_window(case.get("window"))  # type: ignore[arg-type]
        note = case.get("note")
        tile.mask_note = lambda _cid, n=note: n  # type: ignore[misc]
        tile.set_selected(bool(case.get("selected")))
        pm, parts = tile._overlay_layer(tile.local_rect)
        img = pm.toImage().convertToFormat(QImage.Format.Format_ARGB32)
        alpha = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), -1, 4)[
            :, : img.width(), 3
        ]
        covered = np.zeros_like(alpha, dtype=bool)
        for _target, source in parts:
            s = source.toAlignedRect()
            covered[s.top() : s.bottom() + 1, s.left() : s.right() + 1] = True
        outside = np.argwhere((alpha > 0) & ~covered)
        assert outside.size == 0, f"{dpr} {case}: overlay pixels left out: {outside[:3].tolist()}"
        for target, source in parts:  # copied 1:1: whole device pixels, never resampled
            assert source == source.toAlignedRect().toRectF(), source
            assert abs(target.width() * dpr - source.width()) < 1e-6, (target, source)
        assert alpha.any(), case
        assert covered.mean() < 0.45, f"{case}: parts cover {covered.mean():.0%} of the tile"


def test_tile_says_when_connected_but_waiting_for_a_picture(
    qtbot: QtBot, demo_loaded, fake_manager: FakeManager
) -> None:  # type: ignore[no-untyped-def]
    """A stream joined mid-GOP answers at once and shows its first picture at the next key
    frame, seconds later: the tile says so instead of "Connecting" all along."""
    _wall_, tile, worker = _one_camera(qtbot, demo_loaded, fake_manager, "1x1")
    qtbot.waitUntil(lambda: tile.status_text() == "Connecting …")
    worker.awaiting_picture = True
    qtbot.waitUntil(lambda: "waiting for a full picture" in tile.status_text())
    worker.state = CameraState.RECONNECTING  # a later connection that waits likewise
    qtbot.waitUntil(lambda: tile.state == CameraState.RECONNECTING)
    assert "waiting for a full picture" in tile.status_text()
    worker.awaiting_picture = False
    worker.state = CameraState.LIVE
    worker.push((40, 200, 40))
    qtbot.waitUntil(lambda: tile.has_live_picture)
    assert tile.status_text() == ""
