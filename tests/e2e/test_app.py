"""End to end: the real application on the bundled demo."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from rtcc_wall.core.spatial import CameraIndex


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user config, no RTCC_WALL_CONFIG: the app must fall back to the demo."""
    monkeypatch.delenv("RTCC_WALL_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    return tmp_path


def _args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = dict(
        config=None, demo=False, screenshot=None, after=3.0, layout=None, incident_at=None
    )
    base.update(kw)
    return argparse.Namespace(**base)


def test_demo_live_then_incident_fills_wall(qtbot: QtBot, clean_env: Path) -> None:
    from rtcc_wall.app import create_window, load_for_gui

    loaded, demo = load_for_gui(_args())
    assert demo, "with no config anywhere the app must start on the demo"
    window, manager = create_window(loaded, demo=True)
    qtbot.addWidget(window)
    try:
        window.resize(1600, 900)
        window.show()
        qtbot.waitExposed(window)
        assert window.demo_banner.isVisible()
        assert "DEMO" in window.demo_banner.text()

        # tiles show live simulated frames
        def all_live() -> bool:
            tiles = [t for t in window.wall.visible_tiles() if t.camera is not None]
            return len(tiles) == 9 and all(
                t.has_live_picture and t.frames_shown >= 2 for t in tiles
            )

        qtbot.waitUntil(all_live, timeout=20_000)
        # only the cameras on the wall are decoded (rendered)
        assert set(manager.running_ids()) == {
            t.camera.id for t in window.wall.visible_tiles() if t.camera
        }

        # click a point of the map that a private camera's field of view covers
        cam = next(c for c in loaded.cameras.values() if c.ownership == "private")
        from rtcc_wall.core.geo import bearing_to_unit

        ux, uy = bearing_to_unit(cam.heading_deg)
        px, py = cam.x + ux * cam.range_m * 0.4, cam.y + uy * cam.range_m * 0.4
        window.map.center_on_xy(px, py, width_m=900)
        pos = window.map.xy_to_viewport(px, py).toPoint()
        # don't hit a camera icon by accident
        assert window.map.camera_at(pos.toPointF()) is None
        qtbot.mouseClick(window.map.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        qtbot.waitUntil(lambda: window.incident is not None)
        assert window.map.incident_marker is not None
        inc = window.incident
        assert inc is not None
        expected = [
            n.camera.id for n in CameraIndex(loaded.cameras.values()).nearby(inc.x, inc.y, 400)
        ]
        assert expected
        assert window.panel.listed_ids() == expected
        assert cam.id in expected[: sum(1 for n in inc.nearby if n.covers_point)]

        qtbot.mouseClick(window.panel.show_button, Qt.MouseButton.LeftButton)
        shown = [c for c in window.wall.camera_ids() if c]
        assert shown == expected[: len(shown)]
        assert len(shown) == min(len(expected), 16)

        def incident_cams_live() -> bool:
            tiles = [t for t in window.wall.visible_tiles() if t.camera is not None]
            return all(t.has_live_picture for t in tiles)

        qtbot.waitUntil(incident_cams_live, timeout=20_000)
        assert set(manager.running_ids()) == set(shown)
    finally:
        window.close()
        manager.shutdown()


def _run(args: list[str], env_home: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("RTCC_WALL_CONFIG", None)
    env.update(
        HOME=str(env_home), XDG_CONFIG_HOME=str(env_home / ".config"), QT_QPA_PLATFORM="offscreen"
    )
    return subprocess.run(
        [sys.executable, "-m", "rtcc_wall", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_screenshot_mode(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    r = _run(["--screenshot", str(out), "--after", "4"], tmp_path)
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert not img.isNull()
    assert img.width() >= 1200
    # the wall (left part) shows pictures, not an empty dark grid: many distinct colours
    colours = {
        img.pixel(x, y)
        for x in range(20, int(img.width() * 0.6), 7)
        for y in range(60, img.height() - 40, 7)
    }
    assert len(colours) > 500


def test_bad_config_exits_2_without_starting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "site:\n  name: X\n  center: {lon: 0, lat: 0}\n  road_network: missing.geojson\n"
        "cameras:\n  - id: a\n    name: A\n    ownership: city\n    location: {lon: 0, lat: 0}\n"
        "    heading_deg: 400\n    fov_deg: 60\n    range_m: 50\n"
        "    stream: rtsp://u:topSecret9@h/s\n"
    )
    r = _run(["--config", str(bad)], tmp_path, timeout=60)
    assert r.returncode == 2
    assert f"{bad}:10: cameras[0].heading_deg" in r.stderr
    assert "site.road_network" in r.stderr
    assert "topSecret9" not in r.stderr + r.stdout


def test_getaway_scenario_starts(tmp_path: Path) -> None:
    out = tmp_path / "getaway.png"
    r = _run(
        ["--demo", "--scenario", "getaway", "--screenshot", str(out), "--after", "3"], tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert not QImage(str(out)).isNull()


def test_scenario_needs_the_demo(tmp_path: Path, demo_config_path: Path) -> None:
    r = _run(["--config", str(demo_config_path), "--scenario", "getaway"], tmp_path, timeout=60)
    assert r.returncode == 2
    assert "--demo" in r.stderr
