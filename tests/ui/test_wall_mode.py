"""Wall mode in one process: the decisions, a wall window, drops from the console, one monitor.

Several monitors need a platform that has them: tests/e2e/test_wall_mode.py runs the app
on Qt's offscreen platform with a multi-screen config and on Xorg's dummy driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent, QGuiApplication
from pytestqt.qtbot import QtBot

from rtcc_wall.config.loader import LoadedConfig
from rtcc_wall.core.views import View, WallSlate
from rtcc_wall.ui.dnd import CameraDrag, camera_mime
from rtcc_wall.ui.main_window import MainWindow
from rtcc_wall.ui.wall_mode import (
    ScreenInfo,
    WallModeController,
    WallWindow,
    choose_slate,
    find_screen,
    layout_summary,
    parse_screen_spec,
    plan_walls,
    safe_file_part,
    screen_key,
    screenshot_paths,
    unique_names,
)
from tests.ui.conftest import FakeManager

# --- decisions -------------------------------------------------------------------------


def test_unique_names() -> None:
    assert unique_names(["DP-1", "", "DP-1", "DP-1"]) == ["DP-1", "screen2", "DP-1#2", "DP-1#3"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [(0, 0), (2, 2), (3, None), (-1, None), ("HDMI-A-2", 1), ("hdmi-a-2", None), ("9", None)],
)
def test_find_screen(spec: int | str, expected: int | None) -> None:
    assert find_screen(spec, ["DP-1", "HDMI-A-2", "DP-3"]) == expected


def test_parse_screen_spec() -> None:
    assert parse_screen_spec("1") == 1
    assert parse_screen_spec(" DP-2 ") == "DP-2"
    assert parse_screen_spec("Dell U2720Q") == "Dell U2720Q"


def test_plan_walls_skips_the_console_and_mirrors() -> None:
    screens = [
        ScreenInfo("DP-1", (0, 0, 1920, 1080)),
        ScreenInfo("HDMI-1", (1920, 0, 1920, 1080)),
        ScreenInfo("MIRROR", (0, 0, 1920, 1080)),  # shows the console's pixels
        ScreenInfo("DP-3", (3840, 0, 1280, 1024)),
        ScreenInfo("DP-3-CLONE", (3840, 0, 1280, 1024)),
    ]
    assert plan_walls(screens, "DP-1") == ["HDMI-1", "DP-3"]
    assert plan_walls(screens, "HDMI-1") == ["DP-1", "DP-3"]
    assert plan_walls(screens[:1], "DP-1") == []


def test_choose_slate_order() -> None:
    views = {"Downtown": WallSlate.from_view(View("Downtown", "2x2", ("a", "b")))}
    kept = {screen_key("B"): WallSlate("1x1", ("k",))}
    last = {screen_key("A"): WallSlate("3x3", ("l",)), screen_key("C"): WallSlate("2x2", ())}
    configured: list[tuple[int | str, str]] = [(1, "Downtown"), ("B", "Downtown"), (3, "Gone")]

    def pick(name: str, index: int) -> tuple[WallSlate | None, str]:
        return choose_slate(
            name, index, kept=kept, configured=configured, view_slate=views.get, last=last
        )

    # what the monitor showed earlier in this run beats the config
    assert pick("B", 2)[0] == kept[screen_key("B")]
    # the config by index beats the last session
    slate, why = pick("A", 1)
    assert slate is not None
    assert slate.view_name == "Downtown"
    assert "config" in why
    # a view that no longer exists falls through to the last session
    assert pick("A", 3)[0] == last[screen_key("A")]
    # an empty last-session wall is no reason to pick it: empty
    assert pick("C", 4) == (None, "empty")
    assert pick("Z", 5) == (None, "empty")


def test_screenshot_paths_are_sanitised(tmp_path: Path) -> None:
    paths = screenshot_paths(tmp_path / "shots" / "wall.png", ["HDMI-A-1", "Dell U2720Q/1", ""])
    assert paths["console"] == tmp_path / "shots" / "wall-console.png"
    assert paths[screen_key("HDMI-A-1")].name == "wall-screen-HDMI-A-1.png"
    assert paths[screen_key("Dell U2720Q/1")].name == "wall-screen-Dell_U2720Q_1.png"
    assert paths[screen_key("")].name == "wall-screen-screen.png"
    assert screenshot_paths(tmp_path / "x", [])["console"].name == "x-console.png"
    assert safe_file_part("../..") == "screen"


# --- a wall window -----------------------------------------------------------------------


@pytest.fixture
def console(
    qtbot: QtBot, demo_loaded: LoadedConfig, fake_manager: FakeManager
) -> Iterator[MainWindow]:
    w = MainWindow(demo_loaded, fake_manager, demo=False)  # type: ignore[arg-type]
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.fixture
def wall_window(qtbot: QtBot, console: MainWindow) -> Iterator[WallWindow]:
    screen = QGuiApplication.primaryScreen()
    win = WallWindow(console, screen, "TEST-1")
    console.attach_wall(win.wall)
    win.fit_to_screen()
    qtbot.waitExposed(win)
    yield win
    console.detach_wall(win.wall)
    win.close()


def test_wall_window_is_frameless_full_screen_on_its_monitor(wall_window: WallWindow) -> None:
    screen = QGuiApplication.primaryScreen()
    assert wall_window.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert wall_window.isFullScreen()
    assert wall_window.geometry() == screen.geometry()
    assert wall_window.key == "screen:TEST-1"
    assert wall_window.wall.key == "screen:TEST-1"  # drags from here carry its key
    # an empty wall says what to do
    assert "drag cameras here" in wall_window.header.view.text()
    assert wall_window.header.monitor.text().endswith("TEST-1")


def test_header_follows_view_layout_page_and_tour(
    wall_window: WallWindow, demo_loaded: LoadedConfig, fake_manager: FakeManager
) -> None:
    ids = list(demo_loaded.cameras)[12:18]  # none of them on the console's wall
    wall = wall_window.wall
    wall.apply_slate(WallSlate("2x2", tuple(ids), 0, None, False, "Downtown"))
    h = wall_window.header
    assert h.view.text() == "Downtown"
    assert h.summary.text() == "2×2 grid  ·  page 1/2"
    wall.next_page()
    assert h.summary.text() == "2×2 grid  ·  page 2/2"
    wall.set_tour(10)
    assert h.summary.text() == "2×2 grid  ·  page 2/2  ·  tour every 10 s"
    wall.toggle_tour_pause()
    assert h.summary.text().endswith("tour paused")
    wall.set_layout("1+5")
    assert h.summary.text().startswith("1 large + 5")
    assert layout_summary(wall) == h.summary.text()
    assert fake_manager.running_ids() >= set(ids)
    # only the tiles on show decode
    wall.set_layout("1x1")
    assert h.summary.text() == "1×1 grid  ·  page 1/6  ·  tour paused"
    assert fake_manager.running_ids() & set(ids) == {ids[0]}


def test_keys_f11_and_escape(
    qtbot: QtBot, wall_window: WallWindow, demo_loaded: LoadedConfig
) -> None:
    wall = wall_window.wall
    wall.set_cameras(list(demo_loaded.cameras)[:4])
    # wall keys act on this window's wall
    wall.setFocus()
    qtbot.keyClick(wall, Qt.Key.Key_4)
    assert wall.layout_name == "4x4"
    wall.toggle_maximize(0)
    assert wall.maximized_tile is not None
    qtbot.keyClick(wall_window, Qt.Key.Key_Escape)
    assert not wall.restore()  # Esc restored the tile already
    assert wall_window.isFullScreen()
    qtbot.keyClick(wall_window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: not wall_window.isFullScreen())
    screen = QGuiApplication.primaryScreen().geometry()
    assert wall_window.width() < screen.width()
    assert not wall_window.windowFlags() & Qt.WindowType.FramelessWindowHint  # can be moved
    qtbot.keyClick(wall_window, Qt.Key.Key_F11)
    qtbot.waitUntil(wall_window.isFullScreen)
    assert wall_window.geometry() == screen
    assert wall_window.windowFlags() & Qt.WindowType.FramelessWindowHint


def _drop(tile, mime) -> None:  # type: ignore[no-untyped-def]
    pos = QPointF(tile.rect().center())
    ev = QDropEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    tile.dropEvent(ev)
    assert ev.isAccepted()


def test_drop_from_the_console_list_and_wall_onto_a_wall_window(
    console: MainWindow, wall_window: WallWindow, fake_manager: FakeManager
) -> None:
    # the very mime data the console's camera list hands to a drag
    lst = console.camera_list.list
    item = lst.item(4)
    cam_id = item.data(Qt.ItemDataRole.UserRole)
    mime = lst.mimeData([item])
    target = wall_window.wall.tiles()[2]
    _drop(target, mime)
    assert wall_window.wall.camera_ids()[2] == cam_id
    assert target.camera is not None
    assert target.camera.id == cam_id
    assert cam_id in fake_manager.running_ids()

    # a tile dragged from the console's wall is placed (not swapped: another wall)
    src = console.wall.tiles()[0]
    assert src.camera is not None
    before = console.wall.camera_ids()
    _drop(wall_window.wall.tiles()[0], camera_mime(CameraDrag(src.camera.id, console.wall.key, 0)))
    assert wall_window.wall.camera_ids()[0] == src.camera.id
    assert console.wall.camera_ids() == before  # the console keeps its camera too
    # and within the wall window a tile-to-tile drag swaps
    _drop(wall_window.wall.tiles()[2], camera_mime(CameraDrag(src.camera.id, "screen:TEST-1", 0)))
    assert wall_window.wall.camera_ids()[:3] == [cam_id, None, src.camera.id]


def test_closing_a_wall_window_releases_its_cameras(
    qtbot: QtBot,
    console: MainWindow,
    fake_manager: FakeManager,
    demo_loaded: LoadedConfig,
) -> None:
    win = WallWindow(console, QGuiApplication.primaryScreen(), "TEST-2")
    win.fit_to_screen()
    qtbot.waitExposed(win)
    ids = list(demo_loaded.cameras)[20:24]  # none of them on the console's wall
    win.wall.set_cameras(ids)
    assert set(ids) <= fake_manager.running_ids()
    with qtbot.waitSignal(win.closed) as sig:
        win.close()
    assert sig.args == ["screen:TEST-2"]
    assert not set(ids) & fake_manager.running_ids()


def test_attached_wall_is_governed_by_the_console(
    console: MainWindow, wall_window: WallWindow
) -> None:
    assert console.walls() == [console.wall, wall_window.wall]
    console.detach_wall(wall_window.wall)
    assert console.walls() == [console.wall]
    console.attach_wall(wall_window.wall)
    console.attach_wall(wall_window.wall)  # once only
    assert console.walls() == [console.wall, wall_window.wall]


# --- the controller on one monitor ----------------------------------------------------------


def test_one_monitor_console_alone_with_a_note(
    qtbot: QtBot, demo_loaded: LoadedConfig, fake_manager: FakeManager, tmp_path: Path
) -> None:
    console = MainWindow(demo_loaded, fake_manager, demo=False)  # type: ignore[arg-type]
    qtbot.addWidget(console)
    report = tmp_path / "report.json"
    ctl = WallModeController(console, console_screen="NO-SUCH-MONITOR", report_path=report)
    with qtbot.waitSignal(ctl.changed):
        ctl.start()
    qtbot.waitExposed(console)
    assert ctl.windows == {}
    screen = QGuiApplication.primaryScreen().geometry()
    assert screen.contains(console.geometry().center())
    assert console.isMaximized()
    assert "one monitor only" in console.statusBar().currentMessage()
    qtbot.waitUntil(report.exists, timeout=3000)
    import json

    data = json.loads(report.read_text())
    assert list(data["windows"]) == ["console"]
    assert data["windows"]["console"]["visible"] is True
    saved, problems = ctl.save_screenshots(tmp_path / "shot.png")
    assert saved == [tmp_path / "shot-console.png"]
    assert not problems
    console.close()  # ends wall mode too
    assert ctl.windows == {}
    ctl.reconcile()  # after the end: nothing happens
    assert ctl.windows == {}
