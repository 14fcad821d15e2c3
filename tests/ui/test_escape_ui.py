"""Escape routes in the main window: computed off the GUI thread, drawn, and put on the wall."""

from __future__ import annotations

import datetime as dt
import gc
import threading
import weakref
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from rtcc_wall.ui.escape import EscapeRunner
from rtcc_wall.ui.main_window import MainWindow
from rtcc_wall.ui.wall_mode import WallWindow
from tests.ui.conftest import FakeManager


@pytest.fixture
def window(qtbot: QtBot, demo_loaded, fake_manager: FakeManager) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    w = MainWindow(demo_loaded, fake_manager, demo=False)  # type: ignore[arg-type]
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _route_lines(w: MainWindow) -> int:
    return sum(1 for i in w.map.route_items if str(i.data(0)).startswith("route:"))


def test_incident_computes_routes_and_reachable_area(
    qtbot: QtBot, window: MainWindow, demo_loaded
) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["city-06"]
    window.set_incident(cam.x + 15, cam.y)
    qtbot.waitUntil(lambda: window.routes_panel.analysis is not None, timeout=10_000)
    a = window.routes_panel.analysis
    assert a is not None
    assert 6 <= len(a.routes) <= 8
    assert _route_lines(window) == len(a.routes)
    assert window.routes_panel.tree.topLevelItemCount() == len(a.routes)

    # the slider grows the reachable area on the map
    window.routes_panel.follow_clock.setChecked(False)
    window.routes_panel.set_minutes(0.5)
    small = sum(i.path().elementCount() for i in window.map.reachable_items)
    window.routes_panel.set_minutes(3.0)
    large = sum(i.path().elementCount() for i in window.map.reachable_items)
    assert 0 < small < large


def test_route_order_on_wall_with_windows(qtbot: QtBot, window: MainWindow, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["city-06"]
    now = dt.datetime.now(dt.UTC)
    window.set_incident(cam.x + 15, cam.y, at=now - dt.timedelta(seconds=20))
    qtbot.waitUntil(lambda: window.routes_panel.analysis is not None, timeout=10_000)
    a = window.routes_panel.analysis
    assert a is not None
    route = max(a.routes, key=lambda r: len(r.cameras))
    assert len(route.cameras) >= 2
    window.route_order_on_wall(route.index)
    expected = list(dict.fromkeys(c.camera.id for c in route.cameras))
    assert [c for c in window.wall.camera_ids() if c] == expected
    # in arrival order
    earliest = [next(c.earliest_s for c in route.cameras if c.camera.id == i) for i in expected]
    assert earliest == sorted(earliest)
    for tile, c in zip(window.wall.tiles(), expected, strict=False):
        pas = next(p for p in route.cameras if p.camera.id == c)
        assert tile.arrival_window == (pas.earliest_at, pas.latest_at)
        # highlighted exactly while the window is open
        assert tile.window_open(pas.earliest_at + (pas.latest_at - pas.earliest_at) / 2)
        assert not tile.window_open(pas.latest_at + dt.timedelta(seconds=1))
    window.clear_incident()
    assert all(t.arrival_window is None for t in window.wall.tiles())
    assert _route_lines(window) == 0


def test_arrival_windows_reach_the_wall_monitors(  # type: ignore[no-untyped-def]
    qtbot: QtBot, window: MainWindow, demo_loaded
) -> None:
    """A route camera the operator put on a wall monitor shows its window there too."""
    monitor = WallWindow(window, QGuiApplication.primaryScreen(), "TEST-1")
    window.attach_wall(monitor.wall)  # as the wall-mode controller does
    try:
        cam = demo_loaded.cameras["city-06"]
        window.set_incident(cam.x + 15, cam.y, at=dt.datetime.now(dt.UTC))
        qtbot.waitUntil(lambda: window.routes_panel.analysis is not None, timeout=10_000)
        a = window.routes_panel.analysis
        assert a is not None
        route = max(a.routes, key=lambda r: len(r.cameras))
        first = route.cameras[0]
        monitor.wall.set_cameras([first.camera.id, "city-01"])
        window.route_order_on_wall(route.index)
        windows = {
            c: t.arrival_window
            for c, t in zip(monitor.wall.camera_ids(), monitor.wall.tiles(), strict=False)
            if c
        }
        assert windows[first.camera.id] == (first.earliest_at, first.latest_at)
        if "city-01" not in {c.camera.id for c in route.cameras}:
            assert windows["city-01"] is None
        # a new incident point: the old route's windows go, on every wall
        window.set_incident(cam.x + 40, cam.y, at=dt.datetime.now(dt.UTC))
        assert all(t.arrival_window is None for t in monitor.wall.tiles())
        qtbot.waitUntil(lambda: window.routes_panel.analysis is not None, timeout=10_000)
        a = window.routes_panel.analysis
        assert a is not None
        route = max(a.routes, key=lambda r: len(r.cameras))
        first = route.cameras[0]
        window.route_order_on_wall(route.index)
        # a monitor attached later gets the windows too; clearing clears them everywhere
        late = WallWindow(window, QGuiApplication.primaryScreen(), "TEST-2")
        late.wall.set_cameras([first.camera.id])
        window.attach_wall(late.wall)
        assert late.wall.tiles()[0].arrival_window == (first.earliest_at, first.latest_at)
        window.clear_incident()
        assert all(t.arrival_window is None for t in [*monitor.wall.tiles(), *late.wall.tiles()])
        window.detach_wall(late.wall)
        late.close()
    finally:
        window.detach_wall(monitor.wall)
        monitor.close()


def test_ignore_oneway_recomputes(qtbot: QtBot, window: MainWindow, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["city-02"]
    window.set_incident(cam.x, cam.y + 10)
    qtbot.waitUntil(lambda: window.routes_panel.analysis is not None, timeout=10_000)
    window.routes_panel.ignore_oneway.setChecked(True)
    qtbot.waitUntil(
        lambda: (
            window.routes_panel.analysis is not None and window.routes_panel.analysis.ignore_oneway
        ),
        timeout=10_000,
    )


def test_incident_far_from_roads_says_so(qtbot: QtBot, window: MainWindow) -> None:
    window.set_incident(9000.0, 9000.0)
    qtbot.waitUntil(lambda: "⚠" in window.routes_panel.summary.text(), timeout=10_000)
    assert "road" in window.routes_panel.summary.text().lower()
    assert window.routes_panel.analysis is None
    assert _route_lines(window) == 0


def test_coverage_gaps_drawn_for_selected_route(
    qtbot: QtBot, window: MainWindow, demo_loaded
) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["city-06"]
    window.set_incident(cam.x + 15, cam.y)
    qtbot.waitUntil(lambda: window.routes_panel.analysis is not None, timeout=10_000)
    a = window.routes_panel.analysis
    assert a is not None
    route = a.routes[window.routes_panel.selected_route()]
    assert route.coverage_gaps, "the demo's routes leave town through unwatched streets"
    items = window.map.gap_items
    assert len(items) == 1
    # one dashed sub-path per gap
    moves = sum(
        1 for k in range(items[0].path().elementCount()) if items[0].path().elementAt(k).isMoveTo()
    )
    assert moves == len(route.coverage_gaps)


def test_polyline_between() -> None:
    import numpy as np

    from rtcc_wall.ui.escape import polyline_between

    coords = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0]])
    cum = np.array([0.0, 100.0, 200.0])
    part = polyline_between(coords, cum, 50.0, 150.0)
    assert part.tolist() == [[50.0, 0.0], [100.0, 0.0], [100.0, 50.0]]


def test_a_queued_analysis_does_not_keep_the_runner_alive(qtbot: QtBot, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    """The worker holds plain values and a poster, never the runner (a QObject): holding
    the last reference it would destroy the runner on the worker thread."""
    runner = EscapeRunner(demo_loaded.network, list(demo_loaded.cameras.values()))
    results: list[object] = []
    runner.finished.connect(results.append)
    busy = threading.Event()
    runner._pool.submit(busy.wait, 10)  # the worker is busy: the request waits in the queue
    cam = demo_loaded.cameras["city-06"]
    runner.request(
        cam.x + 15, cam.y, dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC), ignore_oneway=False
    )
    pool = runner._pool
    gone = weakref.ref(runner)
    del runner
    gc.collect()
    assert gone() is None
    busy.set()
    pool.shutdown(wait=True)  # the analysis runs; its result finds nobody
    qtbot.wait(50)
    assert results == []
