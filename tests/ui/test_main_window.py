"""The main window's wiring: map clicks, the incident panel and the toolbar act on the wall."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rtcc_wall.ui.main_window import MainWindow, layout_for
from tests.ui.conftest import FakeManager


@pytest.fixture
def window(qtbot: QtBot, demo_loaded, fake_manager: FakeManager) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    w = MainWindow(demo_loaded, fake_manager, demo=False)  # type: ignore[arg-type]
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_not_demo_has_no_banner(window: MainWindow) -> None:
    assert not hasattr(window, "demo_banner")
    assert "DEMO" not in window.windowTitle()


def test_click_camera_on_map_puts_it_on_wall(qtbot: QtBot, window: MainWindow, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["priv-09"]
    assert cam.id not in window.wall.camera_ids()
    window.map.center_on_xy(cam.x, cam.y, width_m=500)
    pos = window.map.xy_to_viewport(cam.x, cam.y).toPoint()
    qtbot.mouseClick(window.map.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert cam.id in window.wall.camera_ids()
    assert window.wall.selected_tile is not None
    assert window.wall.selected_tile.camera is cam


def test_toolbar_layouts(qtbot: QtBot, window: MainWindow) -> None:
    window.layout_actions["2x2"].trigger()
    assert window.wall.layout_name == "2x2"
    assert len(window.wall.visible_tiles()) == 4
    window.layout_actions["4x4"].trigger()
    assert len(window.wall.visible_tiles()) == 16


def test_radius_change_updates_list(qtbot: QtBot, window: MainWindow, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    c = demo_loaded.cameras["city-01"]
    window.set_incident(c.x + 10, c.y)
    n400 = len(window.panel.listed_ids())
    window.panel.radius.setValue(100)
    n100 = len(window.panel.listed_ids())
    window.panel.radius.setValue(1500)
    n1500 = len(window.panel.listed_ids())
    assert 1 <= n100 < n400 < n1500
    window.panel.clear_button.click()
    assert window.incident is None
    assert window.panel.listed_ids() == []
    assert window.map.incident_marker is None


@pytest.mark.parametrize(
    ("count", "layout"), [(1, "1x1"), (3, "2x2"), (9, "3x3"), (10, "4x4"), (40, "4x4")]
)
def test_layout_for(count: int, layout: str) -> None:
    assert layout_for(count) == layout
