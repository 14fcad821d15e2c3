"""The map view: roads as a few path items, clicks become incidents or camera picks."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QGraphicsPathItem
from pytestqt.qtbot import QtBot

from rtcc_wall.ui.map_view import MapView


def _map(qtbot: QtBot, demo_loaded) -> MapView:  # type: ignore[no-untyped-def]
    view = MapView(demo_loaded.network, demo_loaded.cameras.values())
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    view.fit_city()
    return view


def test_roads_are_grouped(qtbot: QtBot, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    view = _map(qtbot, demo_loaded)
    roads = [i for i in view.scene().items() if str(i.data(0) or "").startswith("roads:")]
    assert 2 <= len(roads) <= 6
    assert all(isinstance(r, QGraphicsPathItem) for r in roads)


def test_click_empty_point_requests_incident(qtbot: QtBot, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    view = _map(qtbot, demo_loaded)
    view.center_on_xy(0, 0, width_m=800)
    target = (150.0, -120.0)
    pos = view.xy_to_viewport(*target).toPoint()
    with qtbot.waitSignal(view.incident_requested, timeout=2000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    x, y = blocker.args
    # one pixel at this zoom is about a metre
    assert abs(x - target[0]) < 3
    assert abs(y - target[1]) < 3


def test_click_camera_picks_it(qtbot: QtBot, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    view = _map(qtbot, demo_loaded)
    cam = next(iter(demo_loaded.cameras.values()))
    view.center_on_xy(cam.x, cam.y, width_m=600)
    pos = view.xy_to_viewport(cam.x, cam.y).toPoint()
    with qtbot.waitSignal(view.camera_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [cam.id]


def test_drag_pans_without_incident(qtbot: QtBot, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    view = _map(qtbot, demo_loaded)
    view.center_on_xy(0, 0, width_m=800)
    before = view.mapToScene(view.viewport().rect().center())
    fired: list[object] = []
    view.incident_requested.connect(lambda *a: fired.append(a))
    start = QPoint(300, 300)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for dx in range(0, 120, 20):
        qtbot.mouseMove(view.viewport(), start + QPoint(dx, 0))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=start + QPoint(120, 0))
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() < before.x() - 20  # content moved right: we look further west
    assert fired == []


def test_map_shows_its_attribution_inside_the_view(qtbot, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    from rtcc_wall.ui.map_view import MapView

    text = demo_loaded.config.site.attribution_for(demo_loaded.config.site.road_network)
    assert "Synthetic demo town" in text
    view = MapView(demo_loaded.network, demo_loaded.cameras.values(), attribution=text)
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    qtbot.waitExposed(view)
    view.center_on_xy(0.0, 0.0, width_m=800)  # scrolling must not carry the label away
    view.resize(640, 420)
    qtbot.wait(50)
    g = view.attribution.geometry()
    assert view.attribution.isVisible()
    assert view.rect().contains(g)
    assert g.bottom() > view.height() - 30
    assert g.right() > view.width() - 30
    # .osm road files get the OpenStreetMap credit the ODbL requires, unless configured
    site = demo_loaded.config.site.model_copy(update={"map_attribution": None})
    assert site.attribution_for("city.osm") == "Map data © OpenStreetMap contributors, ODbL"
    assert site.attribution_for("city.geojson") == ""
