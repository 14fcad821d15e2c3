"""The first things an operator sees: a splash while the core loads, and readable start errors.

``load_with_splash`` runs phase one of the start (config, road network,
registry, audit log) on a worker thread while the GUI thread keeps its event
loop turning; a ``StartupSplash`` appears only when that takes longer than
about half a second, so a fast start shows no flicker. ``ConfigProblemsDialog``
lists every problem of a bad configuration, one ``FILE:LINE: path: message``
a row (redacted), and offers the bundled demo instead; ``show_start_error``
reports anything else that stops the start. Nothing here ends in a bare
traceback on a terminal nobody looks at.
"""

from __future__ import annotations

import signal
import threading
import time
import types
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from rtcc_wall import __version__
from rtcc_wall.core.redact import redact
from rtcc_wall.errors import Problem
from rtcc_wall.paths import resources_dir
from rtcc_wall.ui.gui_thread import gui_poster
from rtcc_wall.ui.theme import ACCENT, BORDER, PANEL, TEXT_DIM

T = TypeVar("T")

#: A splash appears when phase one has not finished after this long.
SPLASH_AFTER_S = 0.5

#: ``step(text, index, total)``: what phase one is doing now; callable from any thread.
StepFn = Callable[[str, int, int], None]

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    """The application icon (every rendered PNG size; the SVG as the scalable fallback)."""
    icon = QIcon()
    folder = resources_dir() / "icons"
    for s in ICON_SIZES:
        p = folder / f"rtcc-wall-{s}.png"
        if p.is_file():
            icon.addFile(str(p))
    if icon.isNull() and (folder / "rtcc-wall.svg").is_file():
        icon.addFile(str(folder / "rtcc-wall.svg"))
    return icon


def icon_pixmap(size: int) -> QPixmap:
    return app_icon().pixmap(size, size)


# --- splash -------------------------------------------------------------------------


class StartupSplash(QFrame):
    """A small frameless window: icon, name, what is loading now, a busy bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("startupSplash")
        self.setStyleSheet(
            f"QFrame#startupSplash {{ background: {PANEL}; border: 1px solid {BORDER}; "
            "border-radius: 6px; }"
            "QFrame#startupSplash QLabel { background: transparent; }"
            f"QProgressBar {{ background: #0f1216; border: 1px solid {BORDER}; border-radius: 3px;"
            " max-height: 8px; }"
            f"QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}"
        )
        self.setWindowTitle("rtcc-wall — starting")
        self.setWindowIcon(app_icon())
        self.was_shown = False

        logo = QLabel()
        logo.setPixmap(icon_pixmap(64))
        logo.setFixedSize(64, 64)
        name = QLabel("rtcc-wall")
        font = name.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        name.setFont(font)
        sub = QLabel(f"Real Time Crime Center video wall · version {__version__}")
        sub.setStyleSheet(f"color: {TEXT_DIM};")
        head_text = QVBoxLayout()
        head_text.addWidget(name)
        head_text.addWidget(sub)
        head = QHBoxLayout()
        head.addWidget(logo)
        head.addSpacing(12)
        head.addLayout(head_text, 1)

        self.step_label = QLabel("Starting…")
        self.count_label = QLabel("")
        self.count_label.setStyleSheet(f"color: {TEXT_DIM};")
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        step_row = QHBoxLayout()
        step_row.addWidget(self.step_label, 1)
        step_row.addWidget(self.count_label)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: a step's own progress is not known
        self.progress.setTextVisible(False)

        box = QVBoxLayout(self)
        box.setContentsMargins(20, 18, 20, 18)
        box.addLayout(head)
        box.addSpacing(14)
        box.addLayout(step_row)
        box.addWidget(self.progress)
        self.setFixedWidth(460)

    def set_step(self, text: str, index: int, total: int) -> None:
        self.step_label.setText(text)
        self.count_label.setText(f"step {index} of {total}" if total > 1 else "")

    def show_centered(self) -> None:
        self.adjustSize()
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            geo = screen.availableGeometry()
            self.move(geo.center() - self.rect().center())
        self.show()
        self.raise_()
        self.was_shown = True


class StartCancelled(Exception):
    """The operator pressed Ctrl+C while phase one was running."""


class LoadOutcome(Generic[T]):
    """What ``load_with_splash`` found: the result, whether a splash showed, the longest stall."""

    def __init__(self, value: T, splash_shown: bool, seconds: float, max_gap_s: float) -> None:
        self.value = value
        self.splash_shown = splash_shown
        self.seconds = seconds
        #: longest time the GUI thread's event loop went without turning (a tick every 20 ms)
        self.max_gap_s = max_gap_s


def load_with_splash(
    work: Callable[[StepFn], T],
    *,
    splash_after_s: float = SPLASH_AFTER_S,
    splash: StartupSplash | None = None,
    catch_sigint: bool = True,
) -> LoadOutcome[T]:
    """Runs ``work(step)`` on a worker thread; a splash shows if it takes > ``splash_after_s``.

    The GUI thread runs a local event loop meanwhile, so the splash paints and
    animates. ``work``'s exception is re-raised here, on the GUI thread.
    Ctrl+C raises StartCancelled. A QApplication must exist.
    """
    box: dict[str, object] = {}
    finished = threading.Event()
    own_splash = splash is None
    sp = splash if splash is not None else StartupSplash()
    loop = QEventLoop()
    # the worker gets a poster, never a Qt object (see gui_thread); the GUI
    # thread's tick below notices that it finished
    step = gui_poster(sp.set_step)

    def run() -> None:
        try:
            box["value"] = work(step)
        except BaseException as e:  # noqa: BLE001 - handed to the GUI thread, raised there
            box["error"] = e
        finally:
            finished.set()

    def maybe_show() -> None:
        if not finished.is_set():
            sp.show_centered()

    show_timer = QTimer()
    show_timer.setSingleShot(True)
    show_timer.setInterval(max(0, round(splash_after_s * 1000)))
    show_timer.timeout.connect(maybe_show)

    # A Python tick on the GUI thread: measures stalls, and lets Python run the
    # SIGINT handler (which it only does between bytecodes of the main thread).
    gaps = [0.0]
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps[0] = max(gaps[0], now - last[0])
        last[0] = now
        if finished.is_set():
            loop.quit()

    ticker = QTimer()
    ticker.setInterval(20)
    ticker.timeout.connect(tick)

    previous: object = None
    if catch_sigint and threading.current_thread() is threading.main_thread():

        def on_sigint(_sig: int, _frame: types.FrameType | None) -> None:
            box["cancelled"] = True
            loop.quit()

        previous = signal.signal(signal.SIGINT, on_sigint)

    thread = threading.Thread(target=run, name="rtcc-startup", daemon=True)
    t0 = time.perf_counter()
    last[0] = t0
    thread.start()
    show_timer.start()
    ticker.start()
    try:
        if not finished.is_set():
            loop.exec()
    finally:
        show_timer.stop()
        ticker.stop()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)  # type: ignore[arg-type]
    if box.get("cancelled") and not finished.is_set():
        sp.close()
        raise StartCancelled
    thread.join()
    tick()
    seconds = time.perf_counter() - t0
    shown = sp.was_shown
    if own_splash:
        sp.close()
        sp.deleteLater()
    err = box.get("error")
    if isinstance(err, BaseException):
        raise err
    return LoadOutcome(box["value"], shown, seconds, gaps[0])  # type: ignore[arg-type]


# --- a bad configuration ------------------------------------------------------------

_ORIGINS = {
    "argument": "given with --config",
    "environment": "named by $RTCC_WALL_CONFIG",
    "user": "your configuration file",
    "demo": "the bundled demo configuration",
}


def _mono() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


class ConfigProblemsDialog(QDialog):
    """Every problem of a configuration, and the choice: the demo instead, or quit."""

    DEMO = "demo"
    QUIT = "quit"

    def __init__(
        self,
        problems: Sequence[Problem],
        config_path: str,
        *,
        origin: str = "argument",
        can_open_demo: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("configProblemsDialog")
        self.setWindowTitle("rtcc-wall — configuration problems")
        self.setWindowIcon(app_icon())
        self.choice = self.QUIT
        self.lines = [redact(str(p)) for p in problems]
        n = len(self.lines)
        path = redact(config_path)

        icon = QLabel()
        style = self.style()
        icon.setPixmap(
            style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(40, 40)
        )
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel("rtcc-wall cannot start with this configuration")
        tf = title.font()
        tf.setBold(True)
        tf.setPointSizeF(tf.pointSizeF() * 1.2)
        title.setFont(tf)
        where = _ORIGINS.get(origin, "")
        self.summary = QLabel(
            f"<b>{_html(path)}</b>{f' ({where})' if where else ''} has "
            f"{n} problem{'s' if n != 1 else ''}. Fix {'them' if n != 1 else 'it'} in the file "
            f"and start rtcc-wall again"
            + (", or open the bundled demo town (simulated cameras) now." if can_open_demo else ".")
        )
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        head_text = QVBoxLayout()
        head_text.addWidget(title)
        head_text.addWidget(self.summary)
        head = QHBoxLayout()
        head.addWidget(icon)
        head.addSpacing(8)
        head.addLayout(head_text, 1)

        self.list = QListWidget()
        self.list.setObjectName("problemList")
        self.list.setFont(_mono())
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.addItems(self.lines)
        self.list.setMinimumHeight(160)
        self.list.setStyleSheet("QListWidget::item { padding: 4px 6px; }")

        hint = QLabel(f"Check a file from a terminal with: rtcc-wall check-config {_html(path)}")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.copy_button = QPushButton("Copy problems")
        self.copy_button.setToolTip("Copy every problem to the clipboard, one a line")
        self.copy_button.clicked.connect(self.copy_problems)
        self._copied_timer = QTimer(self)  # dies with the dialog, unlike a bare singleShot
        self._copied_timer.setSingleShot(True)
        self._copied_timer.setInterval(1500)
        self._copied_timer.timeout.connect(lambda: self.copy_button.setText("Copy problems"))
        self.demo_button = QPushButton("Open the demo instead")
        self.demo_button.setObjectName("primary")
        self.demo_button.setToolTip(
            "Start on the bundled simulated town; a DEMO banner stays visible"
        )
        self.demo_button.clicked.connect(self._open_demo)
        self.demo_button.setVisible(can_open_demo)
        self.quit_button = QPushButton("Quit")
        self.quit_button.clicked.connect(self.reject)
        self.quit_button.setDefault(True)
        self.quit_button.setAutoDefault(True)
        self.demo_button.setAutoDefault(False)
        self.copy_button.setAutoDefault(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(self.demo_button)
        buttons.addWidget(self.quit_button)

        box = QVBoxLayout(self)
        box.setContentsMargins(16, 16, 16, 14)
        box.addLayout(head)
        box.addSpacing(6)
        box.addWidget(self.list, 1)
        box.addWidget(hint)
        box.addSpacing(4)
        box.addLayout(buttons)
        self.resize(820, 420)
        self.quit_button.setFocus()

    def text(self) -> str:
        return "\n".join(self.lines)

    def copy_problems(self) -> None:
        clip = QGuiApplication.clipboard()
        if clip is not None:
            clip.setText(self.text() + "\n")
        self.copy_button.setText("Copied")
        self._copied_timer.start()

    def _open_demo(self) -> None:
        self.choice = self.DEMO
        self.accept()

    def ask(self) -> str:
        """Shows the dialog (modal) and returns DEMO or QUIT."""
        self.exec()
        return self.choice


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def show_start_error(title: str, text: str, details: str = "") -> QMessageBox:
    """A modal error box for a start that cannot go on (not a configuration problem).

    Returns the box after it was closed (tests read its texts).
    """
    box = QMessageBox()
    box.setObjectName("startErrorBox")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowIcon(app_icon())
    box.setWindowTitle(f"rtcc-wall — {title}")
    box.setText(redact(text))
    if details:
        box.setDetailedText(redact(details))
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.exec()
    return box
