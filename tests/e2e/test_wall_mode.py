"""Wall mode end to end: the real app on several monitors.

* Qt's offscreen platform with a multi-screen config (``offscreen:configfile=``): the
  windows per monitor, their geometry, the views from the config and the last session,
  one screenshot per window.
* Xorg's dummy driver: monitors plugged in and pulled out with xrandr while the app runs;
  the app's window -> monitor report (``RTCC_WALL_WALL_REPORT``) shows the windows follow.
* The access gate: a private camera on a wall window obeys the console's incident.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from rtcc_wall.core import audit as A
from rtcc_wall.core.cameras import CameraState
from tests.e2e.xorg_dummy import (
    XorgUnavailable,
    env_without_display,
    offscreen_platform,
    wait_for_report,
    xorg_dummy,
)

ROOT = Path(__file__).resolve().parents[2]

VIEWS = """
views:
  - name: Downtown
    layout: 2x2
    cameras: [city-10, city-11, city-12, city-13]
  - name: Highway
    layout: 1+5
    cameras: [city-14, city-01, city-02]
"""


def _config(tmp_path: Path, wall_mode: str) -> Path:
    """The demo town's config (simulated cameras) with two shared views and ``wall_mode``."""
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "road_network: resources/demo/roads.geojson",
        f"road_network: {ROOT / 'resources' / 'demo' / 'roads.geojson'}",
    )
    # the demo's own shared views and wall_mode give way to the test's
    a, b = text.index("# --- Shared views"), text.index("# --- Incidents")
    text = text[:a] + text[b:]
    path = tmp_path / "wall.yaml"
    path.write_text(text + VIEWS + wall_mode, encoding="utf-8")
    return path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = env_without_display()
    for k in ("RTCC_WALL_CONFIG", "RTCC_WALL_AUDIT_DB", "RTCC_WALL_INCIDENTS_DB"):
        env.pop(k, None)
    home = tmp_path / "home"
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".state"),
        XDG_DATA_HOME=str(home / ".data"),
        RTCC_WALL_WALL_REPORT=str(tmp_path / "report.json"),
        RTCC_WALL_LOG="INFO",
    )
    env.update(extra)
    return env


def _state_file(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".state" / "rtcc-wall" / "wall-state.json"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtcc_wall", *args],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )  # fmt: skip


def _distinct_colours(img: QImage, top: int = 0) -> int:
    """Distinct colours on a 48x48 grid of samples below ``top`` px (a live wall has many)."""
    seen = set()
    for i in range(48):
        for j in range(48):
            x = (i * 2 + 1) * img.width() // 96
            y = top + (j * 2 + 1) * (img.height() - top) // 96
            seen.add(img.pixel(x, y))
    return len(seen)


def test_three_monitors_views_geometry_and_screenshots(
    qapp: QGuiApplication, tmp_path: Path
) -> None:
    platform = offscreen_platform(
        tmp_path / "screens.json",
        [("DP-1", 0, 0, 1920, 1080), ("HDMI-A-2", 1920, 0, 1920, 1080),
         ("DP-3", 3840, 0, 1280, 1024)],
    )  # fmt: skip
    cfg = _config(
        tmp_path,
        "wall_mode:\n  console_screen: 0\n  screens:\n"
        "    - {screen: HDMI-A-2, view: Downtown}\n    - {screen: 2, view: Highway}\n",
    )
    out = tmp_path / "shots" / "wall.png"
    env = _env(tmp_path, QT_QPA_PLATFORM=platform)
    r = _run(["--config", str(cfg), "--wall", "--screenshot", str(out), "--after", "3"], env)
    assert r.returncode == 0, r.stderr
    shots = {
        "console": out.with_name("wall-console.png"),
        "HDMI-A-2": out.with_name("wall-screen-HDMI-A-2.png"),
        "DP-3": out.with_name("wall-screen-DP-3.png"),
    }
    assert r.stdout.splitlines() == [f"screenshot saved to {p}" for p in shots.values()]
    assert not out.exists()  # wall mode writes one file per window, not PATH itself

    report = json.loads((tmp_path / "report.json").read_text())
    win = report["windows"]
    assert set(win) == {"console", "screen:HDMI-A-2", "screen:DP-3"}
    assert win["console"]["screen"] == "DP-1"
    x, y, w, h = win["console"]["geometry"]
    assert (0 <= x < 40, 0 <= y < 40, w > 1850, h > 1000) == (True,) * 4  # maximized on DP-1
    assert win["screen:HDMI-A-2"]["geometry"] == [1920, 0, 1920, 1080]
    assert win["screen:HDMI-A-2"]["full_screen"] is True
    assert win["screen:HDMI-A-2"]["view"] == "Downtown"
    assert win["screen:HDMI-A-2"]["cameras"] == ["city-10", "city-11", "city-12", "city-13"]
    assert win["screen:DP-3"]["geometry"] == [3840, 0, 1280, 1024]
    assert (win["screen:DP-3"]["view"], win["screen:DP-3"]["layout"]) == ("Highway", "1+5")
    # every camera on a wall decodes, nothing else
    assert set(report["running"]) == {f"city-{i:02d}" for i in range(1, 15)}

    sizes = {"HDMI-A-2": (1920, 1080), "DP-3": (1280, 1024)}
    for name, path in shots.items():
        img = QImage(str(path))
        assert not img.isNull(), path
        if name in sizes:
            assert (img.width(), img.height()) == sizes[name]
            assert img.pixelColor(img.width() // 2, 5).lightness() < 40  # dark header strip
            assert _distinct_colours(img, top=60) > 200, f"{path} looks blank"
        else:
            assert _distinct_colours(img) > 40, f"{path} looks blank"  # map, panels, tiles

    # at exit every wall went into the wall state, for the next start
    state = json.loads(_state_file(tmp_path).read_text())["windows"]
    assert state["screen:HDMI-A-2"]["view_name"] == "Downtown"
    assert state["screen:DP-3"]["cameras"] == ["city-14", "city-01", "city-02"]
    assert "console" in state


def test_console_screen_by_name_and_the_last_session(qapp: QGuiApplication, tmp_path: Path) -> None:
    platform = offscreen_platform(
        tmp_path / "screens.json", [("DP-1", 0, 0, 1920, 1080), ("DP-2", 1920, 0, 1600, 900)]
    )
    cfg = _config(tmp_path, "wall_mode:\n  console_screen: 0\n")
    state = _state_file(tmp_path)
    state.parent.mkdir(parents=True)
    last = {"layout": "1x1", "cameras": ["city-12", "city-13"], "page": 1, "view_name": None}
    state.write_text(json.dumps({"version": 1, "windows": {"screen:DP-1": last}}))
    env = _env(tmp_path, QT_QPA_PLATFORM=platform)
    out = tmp_path / "s.png"
    r = _run(
        ["--config", str(cfg), "--console-screen", "DP-2", "--screenshot", str(out),
         "--after", "1"], env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"screenshot saved to {tmp_path / 's-screen-DP-1.png'}" in r.stdout
    win = json.loads((tmp_path / "report.json").read_text())["windows"]
    assert set(win) == {"console", "screen:DP-1"}  # --console-screen implies --wall
    assert win["console"]["screen"] == "DP-2"  # the option beats the config
    x, y, _w, _h = win["console"]["geometry"]
    assert 1920 <= x < 1960
    # DP-1 has no view in the config: the last session's wall comes back, on its page
    assert win["screen:DP-1"]["geometry"] == [0, 0, 1920, 1080]
    assert win["screen:DP-1"]["cameras"] == ["city-12", "city-13"]
    assert win["screen:DP-1"]["layout"] == "1x1"
    running = json.loads((tmp_path / "report.json").read_text())["running"]
    assert "city-13" in running  # page 2 of 1x1 shows city-13 ...
    assert "city-12" not in running  # ... and city-12 waits on page 1 (not on the console)


def test_unknown_console_screen_falls_back_to_the_primary(
    qapp: QGuiApplication, tmp_path: Path
) -> None:
    platform = offscreen_platform(
        tmp_path / "screens.json", [("DP-1", 0, 0, 1280, 720), ("DP-2", 1280, 0, 1280, 720)]
    )
    cfg = _config(tmp_path, "")
    env = _env(tmp_path, QT_QPA_PLATFORM=platform)
    r = _run(
        ["--config", str(cfg), "--wall", "--console-screen", "7", "--screenshot",
         str(tmp_path / "s.png"), "--after", "0.5"], env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    win = json.loads((tmp_path / "report.json").read_text())["windows"]
    assert win["console"]["screen"] == "DP-1"
    assert list(win) == ["console", "screen:DP-2"]
    assert win["screen:DP-2"]["cameras"] == []  # no view anywhere: an empty wall


def _names(report: dict[str, Any]) -> dict[str, str | None]:
    return {k: v["screen"] for k, v in report["windows"].items()}


def test_monitors_plugged_and_unplugged_on_xorg(tmp_path: Path) -> None:
    cfg = _config(
        tmp_path,
        "wall_mode:\n  console_screen: DUMMY0\n  screens:\n"
        "    - {screen: DUMMY1, view: Downtown}\n    - {screen: DUMMY2, view: Highway}\n",
    )
    report = tmp_path / "report.json"
    stack = contextlib.ExitStack()
    try:
        x = stack.enter_context(xorg_dummy(tmp_path))
    except XorgUnavailable as e:
        pytest.skip(f"no X server for the hot-plug test: {e}")
    proc: subprocess.Popen[str] | None = None
    try:
        x.plug("DUMMY1", right_of="DUMMY0")
        env = _env(tmp_path, **x.env)
        proc = subprocess.Popen(
            [sys.executable, "-m", "rtcc_wall", "--config", str(cfg), "--wall"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        downtown = {"city-10", "city-11", "city-12", "city-13"}

        def at(pred: Any, timeout_s: float = 10) -> dict[str, Any]:
            assert proc is not None
            try:
                return wait_for_report(report, pred, timeout_s=timeout_s, proc=proc)
            except AssertionError as e:  # say why: the app's own words
                proc.kill()
                _out, err = proc.communicate(timeout=10)
                raise AssertionError(f"{e}\napp stderr (end):\n{err[-2500:]}") from None

        r = at(lambda r: "screen:DUMMY1" in r["windows"], 25)
        assert _names(r) == {"console": "DUMMY0", "screen:DUMMY1": "DUMMY1"}
        assert r["windows"]["screen:DUMMY1"]["geometry"] == [1920, 0, 1920, 1080]
        assert r["windows"]["screen:DUMMY1"]["view"] == "Downtown"
        assert downtown <= set(r["running"])

        # pull DUMMY1 out: its window closes, its cameras stop, its wall is kept
        x.unplug("DUMMY1")
        r = at(lambda r: "screen:DUMMY1" not in r["windows"])
        assert r["kept"] == ["screen:DUMMY1"]
        assert not downtown & set(r["running"])

        # plug it back, and a third monitor: the kept wall returns, DUMMY2 gets its view
        x.plug("DUMMY1", right_of="DUMMY0")
        x.plug("DUMMY2", "1280x1024", right_of="DUMMY1")
        r = at(lambda r: {"screen:DUMMY1", "screen:DUMMY2"} <= set(r["windows"]))
        assert r["windows"]["screen:DUMMY1"]["cameras"] == sorted(downtown)
        assert r["windows"]["screen:DUMMY2"]["geometry"] == [3840, 0, 1280, 1024]
        assert r["windows"]["screen:DUMMY2"]["view"] == "Highway"
        assert r["kept"] == []

        # the console's monitor goes: the console moves to the primary, whose wall closes
        x.unplug("DUMMY0")
        r = at(lambda r: r["windows"]["console"]["screen"] != "DUMMY0")
        primary = r["screens"][0]["name"]
        assert r["windows"]["console"]["screen"] == primary != "DUMMY0"
        assert f"screen:{primary}" not in r["windows"]
        assert f"screen:{primary}" in r["kept"]
        # the other wall followed its monitor to its new position
        other = next(k for k in r["windows"] if k != "console")
        geo = {s["name"]: s["geometry"] for s in r["screens"]}
        r = at(lambda r: r["windows"][other]["geometry"] == geo[other[len("screen:") :]])

        # the console's monitor returns (to the right): the console goes home, walls as before
        x.plug("DUMMY0", right_of="DUMMY2")
        r = at(lambda r: r["windows"]["console"]["screen"] == "DUMMY0" and len(r["windows"]) == 3)
        assert r["windows"]["screen:DUMMY1"]["view"] == "Downtown"
        assert r["windows"]["screen:DUMMY2"]["view"] == "Highway"
        assert r["kept"] == []

        # Ctrl+C: a clean exit that remembers every wall
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        state = json.loads(_state_file(tmp_path).read_text())["windows"]
        assert state["screen:DUMMY1"]["cameras"] == sorted(downtown)
        assert state["screen:DUMMY2"]["view_name"] == "Highway"
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
        stack.close()


def test_revoke_reaches_a_wall_window(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private camera on a wall window: dark, live while the console's incident is open,
    gone when it closes."""
    import argparse

    from rtcc_wall.app import create_window, load_for_gui, open_access
    from rtcc_wall.ui.wall_mode import WallWindow

    for k in ("RTCC_WALL_CONFIG", "RTCC_WALL_AUDIT_DB", "RTCC_WALL_INCIDENTS_DB"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / ".data"))
    monkeypatch.setenv("RTCC_WALL_OPERATOR", "officer.test")
    args = argparse.Namespace(config=None, demo=True, screenshot=None, after=3.0, layout=None)
    loaded, demo = load_for_gui(args)
    access = open_access(loaded)
    console, manager = create_window(loaded, demo=demo, access=access, remember=False)
    qtbot.addWidget(console)
    win = WallWindow(console, QGuiApplication.primaryScreen(), "WALL-1")
    console.attach_wall(win.wall)  # what WallModeController does for every wall window
    try:
        console.show()
        win.fit_to_screen()
        qtbot.waitExposed(win)
        cam = loaded.cameras["priv-04"]
        win.wall.set_layout("2x2")
        win.wall.set_cameras(["city-05", cam.id])
        tile = win.wall.tiles()[1]
        assert tile.state is CameraState.DENIED
        assert cam.id not in manager.running_ids()

        console.set_incident(cam.x + 30, cam.y)
        console.panel.case_edit.setText("2026-004712")
        console.panel.reason_edit.setText("Armed robbery, suspect vehicle on camera")
        console.panel.open_button.click()  # the console's recheck reaches the wall window
        qtbot.waitUntil(lambda: tile.has_live_picture, timeout=15_000)

        closed_at = time.monotonic()
        console.close_formal_incident("suspect arrested")
        qtbot.waitUntil(lambda: tile.state is CameraState.DENIED, timeout=5_000)
        assert time.monotonic() - closed_at < 5
        assert tile.current_frame_source_size() is None  # no picture kept on screen
        qtbot.waitUntil(lambda: cam.id not in manager.running_ids(), timeout=5_000)
        assert "city-05" in manager.running_ids()  # the city camera stays
    finally:
        console.detach_wall(win.wall)
        win.close()
        console.close()
        manager.shutdown()
        access.close()
    stops = [
        e for e in A.read_events(access.audit.path)
        if e.camera_id == cam.id and e.kind == A.VIEW_STOP
    ]  # fmt: skip
    assert [e.outcome for e in stops] == ["incident_closed"]
