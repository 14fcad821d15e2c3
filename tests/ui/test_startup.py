"""The start as an operator meets it: splash while loading, a readable bad-config dialog.

The splash tests measure the GUI thread with a timer of their own; the
bad-config tests drive the real ``run_gui`` (as if on a real screen) and
answer its dialog like an operator would.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from rtcc_wall import app as app_module
from rtcc_wall.errors import ConfigError, Problem
from rtcc_wall.ui.startup import (
    ConfigProblemsDialog,
    StartCancelled,
    StartupSplash,
    app_icon,
    load_with_splash,
)
from tests.helpers import qt_objects_reachable

SECRET = "s3cretPW77"


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("RTCC_WALL_CONFIG", raising=False)
    monkeypatch.delenv("RTCC_WALL_AUDIT_DB", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    return tmp_path


class GapMeter:
    """A 10 ms timer on the GUI thread; records the longest time between two ticks."""

    def __init__(self) -> None:
        self.max_gap = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.ticks:
            self.max_gap = max(self.max_gap, now - self._last)
        self._last = now
        self.ticks += 1

    def __enter__(self) -> GapMeter:
        self._last = time.perf_counter()
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()


# --- splash -------------------------------------------------------------------------


def test_fast_load_shows_no_splash(qtbot: QtBot) -> None:
    splash = StartupSplash()
    qtbot.addWidget(splash)
    out = load_with_splash(lambda step: 42, splash=splash)
    assert out.value == 42
    assert not out.splash_shown
    assert not splash.isVisible()


def test_slow_load_shows_splash_and_gui_stays_responsive(qtbot: QtBot) -> None:
    splash = StartupSplash()
    qtbot.addWidget(splash)
    seen_on_gui: list[tuple[str, bool]] = []
    worker_threads: list[str] = []

    def work(step: Callable[[str, int, int], None]) -> str:
        worker_threads.append(threading.current_thread().name)
        step("Loading the configuration and the road network…", 1, 2)
        time.sleep(0.8)
        step("Opening the audit log…", 2, 2)
        time.sleep(0.5)
        return "core"

    def look() -> None:  # what the operator sees at 0.9 s
        seen_on_gui.append((splash.step_label.text(), splash.isVisible()))

    QTimer.singleShot(900, look)
    with GapMeter() as meter:
        out = load_with_splash(work, splash=splash)
    assert out.value == "core"
    assert out.splash_shown
    assert worker_threads == ["rtcc-startup"], "phase one must not run on the GUI thread"
    assert seen_on_gui == [("Opening the audit log…", True)]
    assert splash.count_label.text() == "step 2 of 2"
    assert meter.ticks > 50
    assert meter.max_gap < 0.1, f"GUI thread stalled {meter.max_gap * 1000:.0f} ms"
    assert out.max_gap_s < 0.1
    assert 1.2 < out.seconds < 5


def test_worker_error_is_raised_on_the_gui_thread(qtbot: QtBot) -> None:
    def work(step: Callable[[str, int, int], None]) -> None:
        raise ConfigError([Problem("x.yaml", 3, "site", "broken")])

    with pytest.raises(ConfigError, match="x.yaml:3: site: broken"):
        load_with_splash(work)


def test_ctrl_c_while_loading_cancels_the_start(qtbot: QtBot) -> None:
    stop = threading.Event()

    def work(step: Callable[[str, int, int], None]) -> None:
        stop.wait(30)  # a load that would take long

    QTimer.singleShot(700, lambda: os.kill(os.getpid(), signal.SIGINT))
    before = signal.getsignal(signal.SIGINT)
    t0 = time.perf_counter()
    try:
        with pytest.raises(StartCancelled):
            load_with_splash(work)
        # the load goes on after the cancel: its thread must not hold the splash
        (loader,) = [t for t in threading.enumerate() if t.name == "rtcc-startup"]
        assert qt_objects_reachable(loader) == []
    finally:
        stop.set()
    assert time.perf_counter() - t0 < 3
    assert signal.getsignal(signal.SIGINT) is before, "the previous Ctrl+C handler is back"


def _big_osm(path: Path, side: int) -> None:
    lon0, lat0, d = -90.1848, 32.2988, 0.0011
    with path.open("w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
        for i in range(side):
            for j in range(side):
                lat, lon = lat0 + (i - side / 2) * d, lon0 + (j - side / 2) * d
                f.write(f'<node id="{i * side + j + 1}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        for i in range(side):
            for k, refs in enumerate(
                (
                    [i * side + j + 1 for j in range(side)],
                    [j * side + i + 1 for j in range(side)],
                )
            ):
                nds = "".join(f'<nd ref="{r}"/>' for r in refs)
                f.write(
                    f'<way id="{2 * i + k + 1}">{nds}<tag k="highway" v="residential"/></way>\n'
                )
        f.write("</osm>\n")


def test_real_slow_load_of_a_big_road_network(qtbot: QtBot, clean_env: Path) -> None:
    """A city-sized OSM file loaded for the first time (no cache yet): the splash shows."""
    roads = clean_env / "city.osm"
    _big_osm(roads, 420)  # 176k intersections, 352k road segments
    cfg = clean_env / "city.yaml"
    cfg.write_text(
        "site:\n  name: Big City\n  center: {lon: -90.1848, lat: 32.2988}\n"
        "  road_network: city.osm\n"
        "cameras:\n  - {id: c1, name: Main St, ownership: city, heading_deg: 90, fov_deg: 60,\n"
        "     range_m: 80, location: {lon: -90.1848, lat: 32.2988}, stream: sim://c1}\n"
    )
    args = argparse.Namespace(config=str(cfg), demo=False, operator=None)
    splash = StartupSplash()
    qtbot.addWidget(splash)
    with GapMeter() as meter:
        out = load_with_splash(partial(app_module.phase_one, args), splash=splash)
    loaded, demo, access = out.value
    try:
        assert not demo
        assert len(loaded.network.segments) > 300_000
        assert out.seconds > 0.5, f"loaded in {out.seconds:.2f} s: not slow enough to test"
        assert out.splash_shown
        # The GUI thread turned all along: on the GUI thread itself the load would be
        # one stall as long as the load. Single numpy calls of the OSM loader hold the
        # GIL for a few hundred ms here (searchsorted over every way's node refs), so
        # the longest stall is bounded by those, not by the splash machinery.
        expected_ticks = out.seconds / 0.010
        assert meter.ticks > 0.3 * expected_ticks, (meter.ticks, expected_ticks)
        assert meter.max_gap < 0.8 * out.seconds, f"stalled {meter.max_gap * 1000:.0f} ms"
        print(
            f"big OSM load: {out.seconds:.2f} s, longest GUI stall {meter.max_gap * 1000:.0f} ms, "
            f"{meter.ticks} of {expected_ticks:.0f} ticks"
        )
    finally:
        access.close()


def test_app_icon_has_every_size(qtbot: QtBot) -> None:
    icon = app_icon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 32, 48, 256} <= sizes


# --- the bad-config dialog ------------------------------------------------------------

PROBLEMS = [
    Problem("/srv/rtcc/config.yaml", 10, "cameras[0].heading_deg", "must be <= 360"),
    Problem("/srv/rtcc/config.yaml", 13, "cameras[0].stream", f"bad URL rtsp://admin:{SECRET}@h/x"),
    Problem("/srv/rtcc/config.yaml", None, "", "road network file not found"),
]


def test_dialog_lists_each_problem_redacted(qtbot: QtBot) -> None:
    d = ConfigProblemsDialog(PROBLEMS, "/srv/rtcc/config.yaml", origin="environment")
    qtbot.addWidget(d)
    rows = [d.list.item(i).text() for i in range(d.list.count())]
    assert rows[0] == "/srv/rtcc/config.yaml:10: cameras[0].heading_deg: must be <= 360"
    assert rows[1].startswith("/srv/rtcc/config.yaml:13: cameras[0].stream: bad URL rtsp://")
    assert rows[2] == "/srv/rtcc/config.yaml: road network file not found"
    assert SECRET not in "\n".join(rows) + d.summary.text()
    assert "3 problems" in d.summary.text()
    assert "RTCC_WALL_CONFIG" in d.summary.text()
    assert d.demo_button.text() == "Open the demo instead"
    assert d.quit_button.isDefault()


def test_copy_problems(qtbot: QtBot) -> None:
    d = ConfigProblemsDialog(PROBLEMS, "/srv/rtcc/config.yaml")
    qtbot.addWidget(d)
    qtbot.mouseClick(d.copy_button, qtbot_button())
    clip = QGuiApplication.clipboard()
    assert clip is not None
    assert clip.text().splitlines() == d.lines
    assert SECRET not in clip.text()
    assert d.copy_button.text() == "Copied"


def qtbot_button() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


@pytest.mark.parametrize(("button", "choice"), [("demo_button", "demo"), ("quit_button", "quit")])
def test_dialog_choice(qtbot: QtBot, button: str, choice: str) -> None:
    d = ConfigProblemsDialog(PROBLEMS, "/srv/rtcc/config.yaml")
    qtbot.addWidget(d)
    QTimer.singleShot(0, lambda: qtbot.mouseClick(getattr(d, button), qtbot_button()))
    assert d.ask() == choice


def test_no_demo_offer_when_the_demo_itself_is_broken(qtbot: QtBot) -> None:
    d = ConfigProblemsDialog(PROBLEMS, "/x/config.example.yaml", origin="demo", can_open_demo=False)
    qtbot.addWidget(d)
    d.show()
    assert not d.demo_button.isVisible()
    assert "open the bundled demo" not in d.summary.text()


# --- run_gui, as on a real screen ----------------------------------------------------


@pytest.fixture
def gui_start(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, qapp: QApplication
) -> Iterator[Path]:
    """run_gui in this process as if a screen were there; puts back what it changes."""
    monkeypatch.setattr(app_module, "display_kind", lambda: "interactive")
    sigint = signal.getsignal(signal.SIGINT)
    hooks = (sys.excepthook, threading.excepthook)
    style, sheet, palette = qapp.style().name(), qapp.styleSheet(), qapp.palette()
    yield clean_env
    signal.signal(signal.SIGINT, sigint)
    sys.excepthook, threading.excepthook = hooks
    gc.unfreeze()
    qapp.setStyleSheet(sheet)
    qapp.setStyle(style)
    qapp.setPalette(palette)


def _gui_args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = dict(
        config=None,
        demo=False,
        screenshot=None,
        after=0.5,
        layout=None,
        incident_at=None,
        operator=None,
        scenario=None,
    )
    base.update(kw)
    return argparse.Namespace(**base)


def answer(kind: type[QWidget], act: Callable[[Any], None], seen: list[Any]) -> None:
    """Waits for a modal ``kind`` to appear, records it, and answers it with ``act``."""

    def poll() -> None:
        w = QApplication.activeModalWidget()
        if isinstance(w, kind):
            seen.append(w)
            act(w)
            return
        QTimer.singleShot(30, poll)

    QTimer.singleShot(30, poll)


def _bad_config(folder: Path) -> Path:
    bad = folder / "bad.yaml"
    bad.write_text(
        "site:\n  name: X\n  center: {lon: 0, lat: 0}\n  road_network: missing.geojson\n"
        "cameras:\n  - id: a\n    name: A\n    ownership: city\n    location: {lon: 0, lat: 0}\n"
        "    heading_deg: 400\n    fov_deg: 60\n    range_m: 50\n"
        f"    stream: rtsp://u:{SECRET}@h/s\n"
    )
    return bad


def test_bad_config_then_open_the_demo(
    gui_start: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _bad_config(gui_start)
    windows: list[Any] = []
    real_create = app_module.create_window

    def spy(*a: Any, **kw: Any) -> Any:
        window, manager = real_create(*a, **kw)
        windows.append((window, kw.get("demo")))
        return window, manager

    monkeypatch.setattr(app_module, "create_window", spy)
    dialogs: list[ConfigProblemsDialog] = []
    answer(ConfigProblemsDialog, lambda d: d.demo_button.click(), dialogs)
    shot = gui_start / "demo.png"
    rc = app_module.run_gui(_gui_args(config=str(bad), screenshot=str(shot)))
    assert rc == 0
    assert len(dialogs) == 1
    rows = dialogs[0].lines
    assert f"{bad}:10: cameras[0].heading_deg: Input should be less than 360" in rows
    assert any("site.road_network" in r for r in rows)
    assert SECRET not in "\n".join(rows)
    ((window, demo),) = windows
    assert demo is True
    assert "DEMO" in window.demo_banner.text()
    assert any(
        lvl == "warning" and "running the bundled demo" in text and str(bad) in text
        for lvl, text in window.messages.history
    )
    assert shot.is_file()
    err = capsys.readouterr().err
    assert f"{bad}:10: cameras[0].heading_deg" in err  # also on stderr, for the log
    assert SECRET not in err


def test_bad_config_then_quit(gui_start: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _bad_config(gui_start)
    dialogs: list[ConfigProblemsDialog] = []
    answer(ConfigProblemsDialog, lambda d: d.quit_button.click(), dialogs)
    rc = app_module.run_gui(_gui_args(config=str(bad)))
    assert rc == 2
    assert len(dialogs) == 1
    assert "problem(s) in the configuration" in capsys.readouterr().err


def test_unexpected_error_at_start_is_a_message_not_a_traceback(
    gui_start: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: argparse.Namespace) -> Any:
        raise RuntimeError(f"disk on fire at rtsp://op:{SECRET}@cam/1")

    monkeypatch.setattr(app_module, "load_for_gui", broken)
    boxes: list[QMessageBox] = []
    answer(QMessageBox, lambda b: b.close(), boxes)
    rc = app_module.run_gui(_gui_args(demo=True))
    assert rc == 1
    err = capsys.readouterr().err
    assert (
        "rtcc-wall: not started: unexpected error while loading: RuntimeError: disk on fire" in err
    )
    assert "Traceback" not in err
    assert SECRET not in err
    (box,) = boxes
    assert "disk on fire" in box.text()
    assert SECRET not in box.text() + box.detailedText()
    assert "Traceback" in box.detailedText()  # the details are there for a bug report


def test_unknown_operator_is_a_dialog(
    gui_start: Path, demo_config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = demo_config_path.read_text(encoding="utf-8")
    assert "  operators: []\n" in text
    cfg = gui_start / "staffed.yaml"
    cfg.write_text(
        text.replace(
            "  operators: []\n", "  operators: [{name: J. Doe, role: operator}]\n"
        ).replace(
            "road_network: resources/", f"road_network: {demo_config_path.parent}/resources/"
        ),
        encoding="utf-8",
    )
    boxes: list[QMessageBox] = []
    answer(QMessageBox, lambda b: b.close(), boxes)
    never = gui_start / "never.png"  # were the app to start anyway, it would end here
    rc = app_module.run_gui(
        _gui_args(config=str(cfg), operator="nobody-we-know", screenshot=str(never), after=1)
    )
    assert not never.exists()
    assert rc == 2
    assert "nobody-we-know" in capsys.readouterr().err
    (box,) = boxes
    assert "nobody-we-know" in box.text()


def test_headless_bad_config_exits_without_a_dialog(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(app_module, "display_kind", lambda: "headless")
    sigint = signal.getsignal(signal.SIGINT)
    hooks = (sys.excepthook, threading.excepthook)
    try:
        rc = app_module.run_gui(_gui_args(config=str(_bad_config(clean_env))))
    finally:
        signal.signal(signal.SIGINT, sigint)
        sys.excepthook, threading.excepthook = hooks
    assert rc == 2
    assert "cameras[0].heading_deg" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({"QT_QPA_PLATFORM": "offscreen"}, "headless"),
        ({"QT_QPA_PLATFORM": "", "DISPLAY": ":0"}, "interactive"),
        ({"QT_QPA_PLATFORM": "", "WAYLAND_DISPLAY": "wayland-0"}, "interactive"),
        ({"QT_QPA_PLATFORM": "eglfs"}, "interactive"),
        ({"QT_QPA_PLATFORM": ""}, "none"),
        ({"QT_QPA_PLATFORM": "xcb"}, "none"),
    ],
)
def test_display_kind(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kind: str) -> None:
    for k in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(sys, "platform", "linux")
    assert app_module.display_kind() == kind


def test_no_display_says_so(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(app_module, "display_kind", lambda: "none")
    assert app_module.run_gui(_gui_args(demo=True)) == 2
    assert "no display (DISPLAY and WAYLAND_DISPLAY are not set)" in capsys.readouterr().err
    # and a bad config is still reported first, as the terminal is all there is
    assert app_module.run_gui(_gui_args(config=str(_bad_config(clean_env)))) == 2
    assert "cameras[0].heading_deg" in capsys.readouterr().err


# --- config discovery: --config, $RTCC_WALL_CONFIG, the user's file, the demo ---------


def _valid_config(folder: Path, demo_config_path: Path, name: str) -> Path:
    text = demo_config_path.read_text(encoding="utf-8").replace(
        "road_network: resources/", f"road_network: {demo_config_path.parent}/resources/"
    )
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_config_discovery_order(
    clean_env: Path, demo_config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtcc_wall.paths import discover_config, user_config_path

    assert discover_config(None) == (demo_config_path.resolve(), "demo")
    user = _valid_config(clean_env / ".config" / "rtcc-wall", demo_config_path, "config.yaml")
    assert user_config_path() == user
    assert discover_config(None) == (user, "user")
    monkeypatch.setenv("RTCC_WALL_CONFIG", "~/from-env.yaml")  # as a launcher might write it
    assert discover_config(None) == (clean_env / "from-env.yaml", "environment")
    assert discover_config("~/given.yaml") == (clean_env / "given.yaml", "argument")
    monkeypatch.setenv("RTCC_WALL_CONFIG", "  ")
    assert discover_config(None) == (user, "user")


def test_load_for_gui_uses_the_discovered_config(
    clean_env: Path, demo_config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = argparse.Namespace(config=None, demo=False)
    loaded, demo = app_module.load_for_gui(args)
    assert demo
    env_cfg = _valid_config(clean_env, demo_config_path, "site.yaml")
    monkeypatch.setenv("RTCC_WALL_CONFIG", str(env_cfg))
    loaded, demo = app_module.load_for_gui(args)
    assert not demo
    assert loaded.path == env_cfg
    # --demo wins over everything, and says so
    loaded, demo = app_module.load_for_gui(argparse.Namespace(config=str(env_cfg), demo=True))
    assert demo
    assert loaded.path.name == "config.example.yaml"
