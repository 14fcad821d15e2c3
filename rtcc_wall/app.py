"""Starting the GUI in two phases.

Phase one, before any Qt object exists: find and validate the config and build
the core (road network, camera registry). A bad config never gets as far as a
half-configured window. Phase two: the QApplication, the theme, the windows.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from rtcc_wall.config.loader import LoadedConfig, load_config
from rtcc_wall.core.audit import APP_START, APP_STOP, OPERATOR, AuditLog
from rtcc_wall.core.masks import MaskController
from rtcc_wall.core.redact import redact
from rtcc_wall.core.session import AccessSession
from rtcc_wall.errors import ConfigError, RtccError
from rtcc_wall.paths import discover_config

if TYPE_CHECKING:
    from rtcc_wall.core.incident_store import IncidentStore
    from rtcc_wall.ui.main_window import MainWindow
    from rtcc_wall.video.manager import StreamManager

log = logging.getLogger("rtcc_wall")


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("rtcc_wall")
    if not root.handlers:
        root.addHandler(handler)
    root.setLevel(os.environ.get("RTCC_WALL_LOG", "INFO").upper())


def _install_excepthooks() -> None:
    """Uncaught errors are logged (redacted), never a bare traceback that leaks a URL."""

    def hook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        log.error(
            "unexpected error: %s: %s",
            etype.__name__,
            redact(str(value)),
            exc_info=(etype, value, tb),
        )

    def thook(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread else "?"
        log.error("unexpected error in thread %s: %s", name, redact(str(args.exc_value)))

    sys.excepthook = hook
    threading.excepthook = thook


def load_for_gui(args: argparse.Namespace) -> tuple[LoadedConfig, bool]:
    """Phase one. Returns (config, is_demo); raises ConfigError."""
    explicit = None if args.demo else args.config
    path, origin = discover_config(explicit)
    if args.demo:
        from rtcc_wall.paths import demo_config_path

        path, origin = demo_config_path(), "demo"
    loaded = load_config(path)
    log.info("configuration %s (%s)", path, origin)
    return loaded, origin == "demo"


def display_kind() -> str:
    """Where the GUI would appear.

    "interactive": a screen an operator looks at (dialogs can be answered);
    "headless": Qt's offscreen/minimal platform (screenshots, tests: nobody
    answers a dialog); "none": no display at all (ssh without X).
    """
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal")):
        return "headless"
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return "interactive"
    if platform and not platform.startswith(("xcb", "wayland")):
        return "interactive"  # eglfs, linuxfb, vnc ... need no DISPLAY
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return "interactive"
    return "none"


StepFn = Callable[[str, int, int], None]


def phase_one(args: argparse.Namespace, step: StepFn) -> tuple[LoadedConfig, bool, Access]:
    """Config, road network, registry, then the audit log: everything before a window.

    Runs on the start-up worker thread (no Qt here); ``step`` reports progress.
    """
    step("Loading the configuration and the road network…", 1, 2)
    loaded, demo = load_for_gui(args)
    step(f"Opening the audit log ({len(loaded.cameras)} cameras registered)…", 2, 2)
    access = open_access(loaded, getattr(args, "operator", None))
    return loaded, demo, access


def _print_config_problems(e: ConfigError, *, outcome: str | None = "not started") -> None:
    for p in e.problems:
        print(redact(str(p)), file=sys.stderr)
    if outcome:
        _print_config_outcome(e, outcome)


def _print_config_outcome(e: ConfigError, outcome: str) -> None:
    n = len(e.problems)
    print(f"rtcc-wall: {outcome}: {n} problem(s) in the configuration", file=sys.stderr)


def _run_without_display(args: argparse.Namespace) -> int:
    """No screen: check what can be checked, then say why no window can open."""
    try:
        access = phase_one(args, lambda *_: None)[2]
    except ConfigError as e:
        _print_config_problems(e)
        return 2
    except RtccError as e:
        print(f"rtcc-wall: not started: {redact(str(e))}", file=sys.stderr)
        return 2
    access.close()
    print(
        "rtcc-wall: not started: no display (DISPLAY and WAYLAND_DISPLAY are not set). Start it "
        "from the desktop session, or with QT_QPA_PLATFORM=offscreen and --screenshot.",
        file=sys.stderr,
    )
    return 2


def _start_failed(e: BaseException, interactive: bool, when: str) -> int:
    """An unexpected error while starting: one redacted line (and a dialog), no traceback."""
    import traceback

    text = f"rtcc-wall: not started: unexpected error {when}: {type(e).__name__}: {redact(str(e))}"
    print(text, file=sys.stderr)
    details = "".join(traceback.format_exception(e))
    log.debug("start failed %s:\n%s", when, redact(details))
    if interactive:
        from rtcc_wall.ui.startup import show_start_error

        show_start_error(
            "start failed",
            f"rtcc-wall could not start: unexpected error {when}.\n\n"
            f"{type(e).__name__}: {redact(str(e))}\n\n"
            "Please report it with the details below.",
            details,
        )
    return 1


def _load_core(
    args: argparse.Namespace, *, interactive: bool
) -> tuple[LoadedConfig, bool, Access, str | None] | int:
    """Phase one behind a splash; a bad config asks whether to run the demo instead.

    Returns (config, is_demo, access, a note for the status bar) or an exit code.
    """
    from rtcc_wall.paths import demo_config_path
    from rtcc_wall.ui.startup import ConfigProblemsDialog, load_with_splash, show_start_error

    note: str | None = None
    while True:
        try:
            outcome = load_with_splash(partial(phase_one, args))
        except ConfigError as e:
            _print_config_problems(e, outcome=None if interactive else "not started")
            if not interactive:
                return 2
            if args.demo:
                path, origin = demo_config_path(), "demo"
            else:
                path, origin = discover_config(args.config)
            dialog = ConfigProblemsDialog(
                e.problems, str(path), origin=origin, can_open_demo=origin != "demo"
            )
            if dialog.ask() != ConfigProblemsDialog.DEMO:
                _print_config_outcome(e, "not started")
                return 2
            _print_config_outcome(e, "running the bundled demo instead")
            n = len(e.problems)
            note = (
                f"{path} has {n} problem{'s' if n != 1 else ''}: running the bundled demo "
                "(simulated cameras) instead"
            )
            log.warning("%s", note)
            args = argparse.Namespace(**{**vars(args), "demo": True, "config": None})
            continue
        except RtccError as e:
            print(f"rtcc-wall: not started: {redact(str(e))}", file=sys.stderr)
            if interactive:
                show_start_error("cannot start", f"rtcc-wall cannot start: {e}")
            return 2
        loaded, demo, access = outcome.value
        if outcome.splash_shown:
            log.info(
                "start-up loading took %.1f s (longest GUI stall %.0f ms)",
                outcome.seconds,
                outcome.max_gap_s * 1000,
            )
        return loaded, demo, access, note


def run_gui(args: argparse.Namespace) -> int:
    setup_logging()
    kind = display_kind()
    if kind == "none":
        return _run_without_display(args)
    interactive = kind == "interactive"

    # The QApplication comes first so that a splash can show while phase one runs
    # on a worker thread; phase one still builds no Qt object.
    from PySide6.QtCore import QCoreApplication, QEvent, QTimer
    from PySide6.QtWidgets import QApplication

    from rtcc_wall.ui.startup import StartCancelled, app_icon
    from rtcc_wall.ui.theme import apply_theme

    _install_excepthooks()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("rtcc-wall")
    app.setApplicationDisplayName("rtcc-wall")
    app.setDesktopFileName("rtcc-wall")  # Wayland matches the window to rtcc-wall.desktop
    app.setWindowIcon(app_icon())
    apply_theme(app)
    try:
        core = _load_core(args, interactive=interactive)
    except StartCancelled:
        print("rtcc-wall: start cancelled", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the start ends in a message, never a traceback
        return _start_failed(e, interactive, "while loading")
    if isinstance(core, int):
        return core
    loaded, demo, access, note = core

    # Phase two: the windows.
    try:
        window, manager = create_window(loaded, demo=demo, layout=args.layout, access=access)
    except Exception as e:  # noqa: BLE001
        access.close()
        return _start_failed(e, interactive, "while opening the window")
    try:
        if note:
            window.messages.post("warning", note)
        if args.incident_at is not None:
            window.set_incident_lonlat(*args.incident_at)
            window.show_incident_on_wall()
        if getattr(args, "scenario", None):
            if not demo:
                print(
                    "rtcc-wall: --scenario needs the simulated demo town (add --demo)",
                    file=sys.stderr,
                )
                window.close()
                manager.shutdown()
                access.close()
                return 2
            _start_scenario(window, manager, args.scenario)
    except Exception as e:  # noqa: BLE001
        window.close()
        manager.shutdown()
        access.close()
        return _start_failed(e, interactive, "while preparing the wall")
    wall_mode = None
    if getattr(args, "wall", False) or getattr(args, "console_screen", None) is not None:
        from rtcc_wall.ui.wall_mode import start_wall_mode

        wall_mode = start_wall_mode(window, getattr(args, "console_screen", None))
    else:
        window.show()
    # Everything built so far (road network, registry, map items) lives as long as the
    # app: keep it out of the garbage collector's scans, which would otherwise stall the
    # GUI thread for a full collection now and then.
    gc.collect()
    gc.freeze()
    # Ctrl+C in the terminal closes the app cleanly.
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    rc = 0
    if args.screenshot:
        out = Path(args.screenshot)

        def shoot() -> None:
            nonlocal rc
            if wall_mode is not None:  # one PNG per window
                rc = wall_mode.shoot(out)
                window.close()
                app.quit()
                return
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                ok = window.grab().save(str(out), "PNG")
            except OSError as e:
                print(f"rtcc-wall: cannot save screenshot {out}: {e}", file=sys.stderr)
                ok = False
            if ok:
                print(f"screenshot saved to {out}")
            else:
                print(f"rtcc-wall: cannot save screenshot to {out}", file=sys.stderr)
                rc = 1
            window.close()
            app.quit()

        QTimer.singleShot(max(0, round(args.after * 1000)), shoot)
    try:
        exec_rc = app.exec()
    finally:
        window.close()
        manager.shutdown()
        access.close()
        # closing the last window posts a Quit event that outlives app.exec(); left
        # queued, it would end the next event loop of this process (a dialog's) at once
        QCoreApplication.removePostedEvents(app, QEvent.Type.Quit)
    return rc or exec_rc


def _start_scenario(window: MainWindow, manager: StreamManager, name: str) -> None:
    from rtcc_wall.video.scenario import start_getaway

    g = start_getaway(manager.sim_world(), list(window.loaded.cameras.values()))
    window.set_incident(g.x, g.y, at=g.at)
    window.focus_incident()
    window.tabs.setCurrentIndex(1)
    window.messages.post(
        "info",
        f"Scenario {name}: a magenta suspect car flees the incident at "
        f"{g.at.astimezone():%H:%M:%S} along one of the predicted routes",
    )


@dataclass
class Access:
    """The operator's accountability: who they are, the audit log, incidents, the gate."""

    session: AccessSession
    incidents: IncidentStore
    audit: AuditLog
    masks: MaskController

    def close(self) -> None:
        self.session.close()
        self.session.log_app(APP_STOP)
        self.audit.close()


def open_access(loaded: LoadedConfig, operator_name: str | None = None) -> Access:
    """Phase one: operator identity, audit log, incident store, access policy.

    Raises RtccError (UnknownOperator, AuditError) with a message fit for the user.
    """
    from rtcc_wall.core.access import AccessPolicy
    from rtcc_wall.core.incident_store import IncidentStore
    from rtcc_wall.core.incident_store import default_db_path as default_incidents_path
    from rtcc_wall.core.operators import current_operator

    access_cfg = loaded.config.access
    operator = current_operator(access_cfg.to_operators(), operator_name)
    audit = AuditLog()
    incidents = IncidentStore(default_incidents_path(), audit)
    session = AccessSession(
        operator=operator,
        policy=AccessPolicy(access_cfg.to_settings()),
        audit=audit,
        cameras=loaded.cameras,
    )
    session.log_app(APP_START, {"config": str(loaded.path), "site": loaded.site_name})
    session.log_app(OPERATOR, {"action": "session_start"})
    return Access(session, incidents, audit, MaskController(loaded.cameras, audit))


def create_window(
    loaded: LoadedConfig,
    *,
    demo: bool,
    layout: str | None = None,
    access: Access | None = None,
    remember: bool = True,
) -> tuple[MainWindow, StreamManager]:
    """Phase two's core: the stream manager and the main window (a QApplication must exist).

    ``remember``: named views and the last session's walls come from (and go
    back to) the user's directories; False starts from the config alone.
    """
    from rtcc_wall.core.views import PersonalViews, View, ViewLibrary, WallState
    from rtcc_wall.paths import user_state_path, user_views_path
    from rtcc_wall.ui.gui_thread import gui_poster
    from rtcc_wall.ui.main_window import MainWindow
    from rtcc_wall.ui.messages import BridgeLogHandler, MessageBridge
    from rtcc_wall.video.manager import StreamManager

    bridge = MessageBridge()
    manager = StreamManager(
        loaded.cameras,
        network_provider=lambda: loaded.network,
        stale_after_s=loaded.config.wall.stale_after_s,
        on_state=gui_poster(bridge.camera_state),  # camera threads hold no Qt object
        mask_provider_for=access.masks.provider if access else None,
        replay_seconds=loaded.config.wall.replay_seconds,
        replay_budget_bytes=loaded.config.wall.replay_budget_mb * 2**20,
    )
    shared = [
        View(v.name, v.layout, tuple(v.cameras), v.tour_seconds, shared=True)
        for v in loaded.config.views
    ]
    personal = PersonalViews.load(user_views_path()) if remember else PersonalViews(
        user_views_path()
    )
    state = WallState.load(user_state_path(), loaded.cameras) if remember else None
    window = MainWindow(
        loaded,
        manager,
        demo=demo,
        layout=layout,
        messages=bridge,
        session=access.session if access else None,
        incidents=access.incidents if access else None,
        masks=access.masks if access else None,
        views=ViewLibrary(shared, personal),
        wall_state=state,
    )
    for problem in [*personal.problems, *(state.problems if state else [])]:
        bridge.post("warning", redact(problem))
    handler = BridgeLogHandler(bridge)
    logging.getLogger("rtcc_wall").addHandler(handler)
    window.destroyed.connect(lambda: logging.getLogger("rtcc_wall").removeHandler(handler))
    return window, manager
