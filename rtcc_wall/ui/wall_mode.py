"""Wall mode (``rtcc-wall --wall``): one frameless full-screen wall per monitor, plus the console.

The console (``MainWindow``: map, incident panel, camera list and its own wall)
is maximized on the configured console monitor; every *other* monitor gets a
``WallWindow`` showing one view. A monitor's view comes from, in order: what it
showed earlier in this run (a monitor unplugged and plugged back), the config
(``wall_mode.screens``), the last session's wall state (``screen:NAME``), else
an empty wall. With one monitor the console shows alone and says so.

Monitors come and go while the app runs: a removed monitor's window closes
(its tiles release their cameras, so their workers stop) and its wall is kept,
in memory and in the wall-state file, until a monitor of that name returns. If
the console's monitor goes, the console moves to the primary monitor (and that
monitor's wall window closes until the console's monitor is back).

Every wall window's tiles use the console's access session, and the console's
access ticks revoke their views too (``MainWindow.attach_wall``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QFont, QGuiApplication, QPalette, QScreen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rtcc_wall.core.views import WallSlate
from rtcc_wall.ui.shortcuts import install_wall_keys, install_window_keys
from rtcc_wall.ui.wall import WallWidget

if TYPE_CHECKING:
    from rtcc_wall.ui.main_window import MainWindow

log = logging.getLogger("rtcc_wall.wall_mode")

#: a diagnostic: when set, the controller writes its window -> monitor map (JSON) to this
#: file after every change of monitors (DEVELOPERS.md; the hot-plug tests read it)
REPORT_ENV = "RTCC_WALL_WALL_REPORT"

#: wall windows' keys in the wall state: "screen:" + the monitor's name
SCREEN_KEY_PREFIX = "screen:"


# ----------------------------------------------------------------- decisions (no Qt)


@dataclass(frozen=True)
class ScreenInfo:
    """A monitor as wall mode sees it: a unique name and its geometry (x, y, w, h)."""

    name: str
    geometry: tuple[int, int, int, int]


def screen_key(name: str) -> str:
    return SCREEN_KEY_PREFIX + name


def unique_names(raw: Sequence[str]) -> list[str]:
    """Monitor names made unique and non-empty ("" -> "screen2"; a second "DP-1" -> "DP-1#2")."""
    out: list[str] = []
    for i, name in enumerate(raw):
        base = name.strip() or f"screen{i + 1}"
        cand, n = base, 2
        while cand in out:
            cand, n = f"{base}#{n}", n + 1
        out.append(cand)
    return out


def parse_screen_spec(text: str) -> int | str:
    """``--console-screen``: a number is an index (0 = primary), anything else a name."""
    text = text.strip()
    return int(text) if text.isdigit() else text


def find_screen(spec: int | str, names: Sequence[str]) -> int | None:
    """Index of the monitor ``spec`` names (an index, 0 = primary, or a name); None if absent."""
    if isinstance(spec, int):
        return spec if 0 <= spec < len(names) else None
    return names.index(spec) if spec in names else None


def plan_walls(screens: Sequence[ScreenInfo], console: str) -> list[str]:
    """The monitors that get a wall window: all but the console's, and no mirror of another."""
    taken = {s.geometry for s in screens if s.name == console}
    walls: list[str] = []
    for s in screens:
        if s.name == console or s.geometry in taken:
            continue  # a mirrored monitor shows the same pixels: one window is enough
        taken.add(s.geometry)
        walls.append(s.name)
    return walls


def choose_slate(
    name: str,
    index: int,
    *,
    kept: Mapping[str, WallSlate],
    configured: Sequence[tuple[int | str, str]],
    view_slate: Callable[[str], WallSlate | None],
    last: Mapping[str, WallSlate],
) -> tuple[WallSlate | None, str]:
    """What the wall on monitor ``name`` (at ``index``, 0 = primary) starts with, and why.

    Earlier in this run > config (``wall_mode.screens``, by name before index) > the
    last session's wall > empty.
    """
    key = screen_key(name)
    if key in kept:
        return kept[key], "kept from earlier in this session"
    by_name = [v for s, v in configured if isinstance(s, str) and s == name]
    by_index = [v for s, v in configured if isinstance(s, int) and s == index]
    for view in [*by_name, *by_index]:
        slate = view_slate(view)
        if slate is not None:
            return slate, f"view {view!r} from the config"
    if key in last and last[key].cameras:
        return last[key], "the last session's wall"
    return None, "empty"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_part(name: str) -> str:
    """A monitor name fit for a file name ("HDMI-A-1" stays, "Dell U2720Q" -> "Dell_U2720Q")."""
    return _UNSAFE.sub("_", name).strip("._") or "screen"


def screenshot_paths(out: Path, names: Iterable[str]) -> dict[str, Path]:
    """``--screenshot DIR/wall.png`` -> DIR/wall-console.png, DIR/wall-screen-<name>.png ..."""
    suffix = out.suffix or ".png"
    paths = {"console": out.with_name(f"{out.stem}-console{suffix}")}
    for name in names:
        paths[screen_key(name)] = out.with_name(f"{out.stem}-screen-{safe_file_part(name)}{suffix}")
    return paths


def layout_summary(wall: WallWidget) -> str:
    """'3×3 grid · page 1/2 · tour every 10 s' -- the header's right-hand text."""
    parts = [wall.wall_layout.title]
    if wall.page_count > 1:
        parts.append(f"page {wall.page + 1}/{wall.page_count}")
    if wall.tour_seconds is not None:
        if wall.tour_paused:
            parts.append("tour paused")
        elif wall.tour_running:
            parts.append(f"tour every {wall.tour_seconds:g} s")
        else:
            parts.append("tour on (one page)")
    return "  ·  ".join(parts)


# ----------------------------------------------------------------- the windows


class WallHeader(QWidget):
    """A slim strip above a wall: monitor, view, layout, page and tour, readable across a room."""

    def __init__(self, monitor: str, wall: WallWidget, height_px: int, parent: QWidget) -> None:
        super().__init__(parent)
        self._wall = wall
        self.setObjectName("wallHeader")
        self.setFixedHeight(height_px)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor("#0b0d10"))
        self.setPalette(pal)
        px = max(11, round(height_px * 0.52))
        self.monitor = self._label(px, "#7f8aa0", bold=True)
        self.monitor.setText(f"▣ {monitor}")
        self.view = self._label(px, "#e6eaf0", bold=True)
        self.view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = self._label(px, "#9aa3b2")
        self.summary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row = QHBoxLayout(self)
        row.setContentsMargins(round(height_px * 0.4), 0, round(height_px * 0.4), 0)
        row.addWidget(self.monitor, 1)
        row.addWidget(self.view, 2)
        row.addWidget(self.summary, 1)
        wall.layout_changed.connect(lambda _n: self.refresh())
        wall.page_changed.connect(lambda _p, _n: self.refresh())
        wall.tour_changed.connect(self.refresh)
        wall.cameras_changed.connect(self.refresh)
        self.refresh()

    def _label(self, px: int, colour: str, *, bold: bool = False) -> QLabel:
        lab = QLabel(self)
        f = QFont(lab.font())
        f.setPixelSize(px)
        f.setBold(bold)
        lab.setFont(f)
        lab.setStyleSheet(f"color: {colour}; background: transparent;")
        return lab

    def refresh(self) -> None:
        w = self._wall
        if not w.all_camera_ids():
            self.view.setText("Empty — drag cameras here from the console")
            self.view.setStyleSheet("color: #7f8aa0; background: transparent;")
        else:
            self.view.setText(w.view_name or "Custom wall")
            self.view.setStyleSheet("color: #e6eaf0; background: transparent;")
        self.summary.setText(layout_summary(w))


class WallWindow(QWidget):
    """A frameless full-screen wall on one monitor (black, a slim header, one WallWidget)."""

    #: the window closed (by the controller, or by the operator): its key
    closed = Signal(str)

    def __init__(self, console: MainWindow, screen: QScreen, name: str) -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
        self.name = name
        self.key = screen_key(name)
        self.target_screen = screen
        cfg = console.loaded.config.wall
        self.setWindowTitle(f"rtcc-wall — wall {name}")
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor("black"))
        self.setPalette(pal)
        self.setAutoFillBackground(True)
        self.setStyleSheet("WallWindow { background: black; }")
        self.wall = WallWidget(
            console.manager,
            console.loaded.cameras,
            layout=cfg.layout,
            display_fps=cfg.display_fps,
            substream_below_px=cfg.substream_below_px,
            gate=console.session,
            key=self.key,
        )
        header_px = max(28, round(screen.geometry().height() * 0.034))
        self.header = WallHeader(name, self.wall, header_px, self)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.header)
        box.addWidget(self.wall, 1)
        install_wall_keys(self.wall)
        install_window_keys(self, lambda: self.wall, toggle_full_screen=self.toggle_full_screen)
        self._closed = False

    # --- placement -----------------------------------------------------------------
    def fit_to_screen(self) -> None:
        """Full screen on its monitor (again: after a move or a change of resolution)."""
        screen = self.target_screen
        if not shiboken6.isValid(screen):
            return
        if self.windowHandle() is not None:
            self.windowHandle().setScreen(screen)
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.showFullScreen()
        self.wall.setFocus(Qt.FocusReason.OtherFocusReason)

    def toggle_full_screen(self) -> None:
        """F11: a framed window (2/3 of the monitor) to move or inspect, and back."""
        screen = self.target_screen
        if self.isFullScreen():
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint, False)
            g = screen.availableGeometry()
            w, h = g.width() * 2 // 3, g.height() * 2 // 3
            self.setGeometry(
                QRect(g.x() + (g.width() - w) // 2, g.y() + (g.height() - h) // 2, w, h)
            )
            self.showNormal()
        else:
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
            self.fit_to_screen()
        self.activateWindow()  # the operator's keys keep acting here

    # --- lifetime --------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stops the wall (tiles release their cameras; workers nobody watches stop)."""
        self.wall.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt naming
        if not self._closed:
            self._closed = True
            self.shutdown()
            self.closed.emit(self.key)
        super().closeEvent(event)


# ----------------------------------------------------------------- the controller


class WallModeController(QObject):
    """The console on its monitor and a wall window on every other one, across hot-plugs."""

    #: the windows changed (a monitor came or went, the console moved)
    changed = Signal()

    def __init__(
        self,
        console: MainWindow,
        *,
        console_screen: int | str | None = None,
        report_path: Path | None = None,
    ) -> None:
        super().__init__(console)
        app = QGuiApplication.instance()
        if not isinstance(app, QGuiApplication):
            raise RuntimeError("wall mode needs a QApplication")
        self._app = app
        self.console = console
        mode = console.loaded.config.wall_mode
        self._console_spec: int | str = (
            console_screen if console_screen is not None else mode.console_screen
        )
        self._configured: list[tuple[int | str, str]] = [(s.screen, s.view) for s in mode.screens]
        #: the console's home monitor (by name); it returns there when that monitor is back
        self._console_home: str | None = None
        self._console_on: QScreen | None = None
        #: open wall windows by key ("screen:NAME")
        self.windows: dict[str, WallWindow] = {}
        #: walls of monitors that went away in this run, by key: they come back with them
        self.kept: dict[str, WallSlate] = {}
        self._report_path = report_path
        if report_path is None and os.environ.get(REPORT_ENV):
            self._report_path = Path(os.environ[REPORT_ENV])
        self._report_seq = 0
        self._started = False
        self._stopped = False
        self._alone_noted = False
        #: monitors whose changes of geometry we follow
        self._watched: list[QScreen] = []
        self._reconcile_timer = QTimer(self)
        self._reconcile_timer.setSingleShot(True)
        self._reconcile_timer.setInterval(0)
        self._reconcile_timer.timeout.connect(self.reconcile)
        self._report_timer = QTimer(self)
        self._report_timer.setSingleShot(True)
        self._report_timer.setInterval(300)
        self._report_timer.timeout.connect(self.write_report)

    # --- queries ---------------------------------------------------------------------
    def screens(self) -> list[tuple[QScreen, ScreenInfo]]:
        """The monitors with unique names: the primary first, then left to right, top to bottom.

        That order gives the indexes of ``wall_mode`` and ``--console-screen`` (0 = primary).
        """
        primary = self._app.primaryScreen()
        qs = [s for s in self._app.screens() if shiboken6.isValid(s)]
        qs.sort(key=lambda s: (s is not primary, s.geometry().x(), s.geometry().y()))
        names = unique_names([s.name() for s in qs])
        out = []
        for s, n in zip(qs, names, strict=True):
            g = s.geometry()
            out.append((s, ScreenInfo(n, (g.x(), g.y(), g.width(), g.height()))))
        return out

    def walls(self) -> list[WallWidget]:
        """The wall windows' walls (the console's own wall is ``console.wall``)."""
        return [w.wall for w in self.windows.values()]

    def console_screen_name(self) -> str | None:
        s = self._console_on
        if s is None or not shiboken6.isValid(s):
            return None
        return next((i.name for q, i in self.screens() if q is s), s.name())

    def window_map(self) -> dict[str, object]:
        """Which window is on which monitor, what it shows, and which cameras decode."""
        windows: dict[str, object] = {}
        c = self.console
        cg = c.geometry()
        windows["console"] = {
            "screen": self.console_screen_name(),
            "geometry": [cg.x(), cg.y(), cg.width(), cg.height()],
            "visible": c.isVisible(),
        }
        for key, win in self.windows.items():
            g = win.geometry()
            s = win.wall.slate()
            windows[key] = {
                "screen": win.name,
                "geometry": [g.x(), g.y(), g.width(), g.height()],
                "visible": win.isVisible(),
                "full_screen": win.isFullScreen(),
                "view": s.view_name,
                "layout": s.layout,
                "cameras": list(s.cameras),
            }
        return {
            "pid": os.getpid(),
            "seq": self._report_seq,
            "time": time.time(),
            "screens": [{"name": i.name, "geometry": list(i.geometry)} for _q, i in self.screens()],
            "windows": windows,
            "kept": sorted(self.kept),
            "running": sorted(c.manager.running_ids()),
        }

    # --- commands --------------------------------------------------------------------
    def start(self) -> None:
        """Places the console, opens the wall windows and follows monitors from now on."""
        if self._started:
            return
        self._started = True
        screens = self.screens()
        names = [i.name for _q, i in screens]
        idx = find_screen(self._console_spec, names)
        if idx is None:
            idx = 0
            self.console.messages.post(
                "warning",
                f"Wall mode: no monitor {self._console_spec!r} for the console "
                f"(monitors: {', '.join(names)}); the console is on {names[0]}",
            )
        self._console_home = names[idx]
        self._app.screenAdded.connect(self._screen_added)
        self._app.screenRemoved.connect(self._screen_removed)
        self._app.primaryScreenChanged.connect(lambda _s: self._schedule())
        self.console.installEventFilter(self)
        self.reconcile()

    def reconcile(self, *, without: QScreen | None = None) -> None:
        """Brings the windows in line with the monitors: console home (else primary), walls."""
        if self._stopped or not self._started:
            return
        screens = [(q, i) for q, i in self.screens() if q is not without]
        if not screens:
            return  # no monitor at all (for a moment): keep everything as it is
        self._watch([q for q, _i in screens])
        by_name = {i.name: q for q, i in screens}
        home = self._console_home
        console_name = home if home in by_name else screens[0][1].name
        console_q = by_name[console_name]
        if self._console_on is not console_q:
            self._place_console(console_q, console_name)
        elif self.console.isVisible():
            self._refit_console()
        wanted = plan_walls([i for _q, i in screens], console_name)
        for key, win in list(self.windows.items()):
            if win.name not in wanted or by_name.get(win.name) is not win.target_screen:
                self._close_window(key, "its monitor is gone or now shows the console")
        index = {i.name: n for n, (_q, i) in enumerate(screens)}
        for name in wanted:
            key = screen_key(name)
            if key not in self.windows:
                self._open_window(by_name[name], name, index[name])
            else:
                win = self.windows[key]
                if win.isFullScreen() and win.geometry() != by_name[name].geometry():
                    win.fit_to_screen()  # the monitor changed resolution or position
        if not wanted and not self._alone_noted:
            self._alone_noted = True
            self.console.messages.post(
                "info",
                f"Wall mode: one monitor only ({console_name}) — the console shows alone; "
                "a wall window opens on each monitor you connect",
            )
        elif wanted:
            self._alone_noted = False
        self.changed.emit()
        if self._report_path is not None:
            self._report_timer.start()

    def revoke(self, holder: object, message: str) -> None:
        for wall in self.walls():
            wall.revoke(holder, message)

    def recheck_access(self) -> None:
        for wall in self.walls():
            wall.recheck_access()

    def save_slates(self) -> None:
        """Every open window's wall and the kept ones go into the wall state (not yet saved)."""
        state = self.console.wall_state
        for key, win in self.windows.items():
            self.kept[key] = win.wall.slate()
        if state is not None:
            state.slates.update(self.kept)

    def save_screenshots(self, out: Path) -> tuple[list[Path], list[str]]:
        """One PNG per window (console first); returns (saved paths, problems)."""
        paths = screenshot_paths(out, [w.name for w in self.windows.values()])
        saved: list[Path] = []
        problems: list[str] = []
        targets: list[tuple[str, QWidget]] = [("console", self.console)]
        targets += [(k, w) for k, w in self.windows.items()]
        for key, widget in targets:
            path = paths[key]
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                ok = widget.grab().save(str(path), "PNG")
            except OSError as e:
                problems.append(f"cannot save screenshot {path}: {e}")
                continue
            if ok:
                saved.append(path)
            else:
                problems.append(f"cannot save screenshot to {path}")
        return saved, problems

    def shoot(self, out: Path) -> int:
        """``--screenshot`` in wall mode: saves every window, prints each path; 0 or 1."""
        saved, problems = self.save_screenshots(out)
        for path in saved:
            print(f"screenshot saved to {path}")
        for text in problems:
            print(f"rtcc-wall: {text}", file=sys.stderr)
        return 1 if problems else 0

    def write_report(self) -> None:
        """Writes ``window_map()`` to the report file (atomically), when one is set."""
        if self._report_path is None:
            return
        self._report_seq += 1
        path = self._report_path
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.window_map(), indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            log.warning("wall mode: cannot write the report %s: %s", path, e)

    def shutdown(self) -> None:
        """Keeps every wall in the wall state and closes the wall windows (idempotent)."""
        if self._stopped:
            return
        self.save_slates()
        self._stopped = True
        self._reconcile_timer.stop()
        self._report_timer.stop()
        for key in list(self.windows):
            self._close_window(key, "wall mode ends", keep=False)
        try:
            self._app.screenAdded.disconnect(self._screen_added)
            self._app.screenRemoved.disconnect(self._screen_removed)
        except (RuntimeError, TypeError):
            pass  # already disconnected

    # --- Qt events ---------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt naming
        # the console closing ends wall mode: walls into the wall state before the console
        # saves it, then the wall windows close (so the app quits with its last window)
        if watched is self.console and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def _schedule(self) -> None:
        if not self._stopped:
            self._reconcile_timer.start()

    def _screen_added(self, screen: QScreen) -> None:
        log.info("wall mode: monitor %s added", screen.name())
        self._schedule()

    def _screen_removed(self, screen: QScreen) -> None:
        # Handled at once, while the screen still exists: otherwise Qt moves its windows
        # onto the primary monitor, over whatever shows there.
        log.info("wall mode: monitor %s removed", screen.name())
        self.reconcile(without=screen)
        self._schedule()

    # --- internals -----------------------------------------------------------------------
    def _watch(self, screens: list[QScreen]) -> None:
        # a monitor that changes resolution or position: the windows on it follow
        self._watched = [q for q in self._watched if shiboken6.isValid(q)]
        for q in screens:
            if not any(q is w for w in self._watched):
                q.geometryChanged.connect(lambda _g: self._schedule())
                self._watched.append(q)

    def _place_console(self, screen: QScreen, name: str) -> None:
        c = self.console
        full = c.isFullScreen()
        was = self._console_on
        self._console_on = screen
        if c.isVisible():
            c.showNormal()
        if c.windowHandle() is not None:
            c.windowHandle().setScreen(screen)
        c.setScreen(screen)
        c.setGeometry(screen.availableGeometry())
        if full:
            c.showFullScreen()
        else:
            c.showMaximized()
        if was is not None:
            log.info("wall mode: the console moved to monitor %s", name)
            if name != self._console_home:
                self.console.messages.post(
                    "warning",
                    f"The console's monitor {self._console_home} is gone: the console is on "
                    f"{name} until it is back",
                )

    def _refit_console(self) -> None:
        c, s = self.console, self._console_on
        if s is None or not shiboken6.isValid(s):
            return
        if not s.geometry().contains(c.geometry().center()):
            c.showNormal()
            c.setGeometry(s.availableGeometry())
            c.showMaximized()

    def _open_window(self, screen: QScreen, name: str, index: int) -> None:
        win = WallWindow(self.console, screen, name)
        key = win.key
        state = self.console.wall_state
        views = self.console.views

        def view_slate(view: str) -> WallSlate | None:
            v = views.get(view) if views is not None else None
            return WallSlate.from_view(v) if v is not None else None

        slate, why = choose_slate(
            name,
            index,
            kept=self.kept,
            configured=self._configured,
            view_slate=view_slate,
            last=state.slates if state is not None else {},
        )
        self.kept.pop(key, None)
        self.windows[key] = win
        self.console.attach_wall(win.wall)
        win.closed.connect(self._window_closed)
        win.fit_to_screen()  # shown before the slate: tiles size themselves, then attach
        if slate is not None:
            win.wall.apply_slate(slate)
        log.info("wall mode: wall window on %s (%s)", name, why)

    def _close_window(self, key: str, why: str, *, keep: bool = True) -> None:
        win = self.windows.pop(key, None)
        if win is None:
            return
        slate = win.wall.slate()
        if keep:
            self.kept[key] = slate
            state = self.console.wall_state
            if state is not None:
                state.slates[key] = slate
                try:
                    state.save()
                except OSError as e:
                    self.console.messages.post(
                        "warning", f"The wall of {win.name} was not saved: {e}"
                    )
        self.console.detach_wall(win.wall)
        win.close()
        win.deleteLater()
        log.info("wall mode: wall window on %s closed (%s)", win.name, why)

    def _window_closed(self, key: str) -> None:
        # the operator closed a wall window: keep its wall; it reopens with its monitor
        win = self.windows.pop(key, None)
        if win is not None:
            self.kept[key] = win.wall.slate()
            self.console.detach_wall(win.wall)
            win.deleteLater()


def start_wall_mode(console: MainWindow, console_screen: str | int | None) -> WallModeController:
    """``--wall``: the console on its monitor and a wall window on every other one."""
    spec = parse_screen_spec(console_screen) if isinstance(console_screen, str) else console_screen
    controller = WallModeController(console, console_screen=spec)
    controller.start()
    return controller
