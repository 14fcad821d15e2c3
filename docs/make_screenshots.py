#!/usr/bin/env python3
"""Regenerates every screenshot and every command output of the user guide.

    python3 docs/make_screenshots.py            # everything into docs/images/
    python3 docs/make_screenshots.py --list     # what it makes, and how
    python3 docs/make_screenshots.py --only wall-demo about

Everything runs on Qt's offscreen platform (no display needed, nothing pops up)
in a temporary home folder: the operator's real audit log, incident database,
views and last session are never read or written. The temporary folder is
removed at the end (``--keep`` keeps it, to look at the audit log or the exports).

How each picture is made:

* **Command line** (``cli`` in ``--list``): ``python3 -m rtcc_wall ... --screenshot
  FILE --after S``, the real start of the application, exactly as an operator's
  command line would run it.
* **In-process** (``scene``): states no command line reaches (an incident
  opened with a case number and reason, the replay viewer, the export dialog,
  menus, the F1 sheet, About, the configuration-problems dialog). The script
  starts the application through the same functions ``rtcc-wall`` uses
  (``rtcc_wall.app.load_for_gui``, ``open_access``, ``create_window``), clicks
  and types into the real widgets, and saves ``widget.grab()``. A menu or
  dialog is drawn onto the window behind it at its real position.
* **Command output** (``text``): the guide's terminal examples. Each command is
  run for real (``python3 -m rtcc_wall``, the same program as the installed
  ``rtcc-wall``) in a scratch folder; the file holds the command line as
  ``$ rtcc-wall ...`` followed by what it printed (stdout and stderr, in the
  order written) and, when it is not 0, its exit code. The temporary home
  folder is shown as ``~``; nothing else is changed.

After a full run the blocks of ``docs/user-guide.md`` marked
``<!-- output: NAME.txt -->`` are refreshed from the new text files
(``tests/core/test_docs.py`` checks that they match).

Linux only (the temporary home relies on the XDG variables). Takes about three
minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from rtcc_wall.app import Access
    from rtcc_wall.ui.main_window import MainWindow
    from rtcc_wall.video.manager import StreamManager

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
IMAGES = DOCS / "images"
GUIDE = DOCS / "user-guide.md"
EXAMPLES = DOCS / "examples"

#: the main window's size in every screenshot (the size the app opens with)
WINDOW_SIZE = (1600, 900)
#: the operator named in the screenshots and in the audit log they leave
OPERATOR = "A. Rivera"
#: Magnolia Pharmacy, Main St 531, downtown Riverton (the demo town): nine cameras within
#: 400 m, five of them private; the pharmacy's own camera (priv-01) sees the point
INCIDENT_AT = (-90.1838, 32.2974)
INCIDENT_TEXT = f"{INCIDENT_AT[0]},{INCIDENT_AT[1]}"
CASE_NUMBER = "2026-004711"
INCIDENT_REASON = "Armed robbery at Magnolia Pharmacy, suspect fled on foot"


class ShotError(RuntimeError):
    """A screenshot or output could not be made; the message says which and why."""


@dataclass(frozen=True)
class Item:
    """One file the guide uses."""

    name: str  # file name in docs/images
    how: str  # "cli", "scene" or "text"
    what: str  # one line for --list


ITEMS: list[Item] = [
    Item("wall-demo.png", "cli", "rtcc-wall --demo: the demo town, 3x3 wall, DEMO banner"),
    Item("wall-focus-layout.png", "cli", "rtcc-wall --demo --layout 1+5: a focus layout, 2 pages"),
    Item("incident-marked.png", "cli", f"rtcc-wall --demo --incident-at {INCIDENT_TEXT}"),
    Item("escape-routes.png", "cli", "rtcc-wall --demo --scenario getaway --after 30"),
    Item("wall-mode-screen.png", "cli", "rtcc-wall --demo --wall, two monitors: the wall monitor"),
    Item("views-menu.png", "scene", "the Views menu: shared views and my views"),
    Item("incident-open.png", "scene", "incident opened (type, case, reason): private cameras on"),
    Item("tile-menu.png", "scene", "right-click on a tile: replay, export, masks"),
    Item("layout-menu.png", "scene", "the Layout menu"),
    Item("replay.png", "scene", "Instant replay… of a camera on the wall"),
    Item("export-dialog.png", "scene", "Export evidence… filled in, before Export"),
    Item("export-done.png", "scene", "the export dialog after a finished, verified export"),
    Item("route-order.png", "scene", "escape routes 90 s after an incident, route order on wall"),
    Item("shortcuts.png", "scene", "Help → Keyboard shortcuts (F1)"),
    Item("about.png", "scene", "Help → About rtcc-wall"),
    Item("config-problems-dialog.png", "scene", "the dialog of a start with a bad config"),
    Item("privacy-mask.png", "scene", "the demo's doorbell on the wall, its privacy mask on"),
    Item("start-bad-config.txt", "text", "rtcc-wall --config site-with-mistakes.yaml"),
    Item("check-config-ok.txt", "text", "rtcc-wall check-config site.yaml"),
    Item("check-config-bad.txt", "text", "rtcc-wall check-config site-with-mistakes.yaml"),
    Item("check-config-typo.txt", "text", "rtcc-wall check-config site-with-a-typo.yaml"),
    Item("nearby.txt", "text", "rtcc-wall nearby"),
    Item("routes.txt", "text", "rtcc-wall routes"),
    Item("probe.txt", "text", "rtcc-wall probe city-01"),
    Item("incident-cli.txt", "text", "rtcc-wall incident open / approve / list / close"),
    Item("registry-dry-run.txt", "text", "rtcc-wall registry import --dry-run"),
    Item("registry-import.txt", "text", "rtcc-wall registry import"),
    Item("registry-bad.txt", "text", "rtcc-wall registry import of a file with bad rows"),
    Item("export-create.txt", "text", "rtcc-wall export create"),
    Item("export-verify.txt", "text", "rtcc-wall export verify, intact and altered"),
    Item("audit-verify.txt", "text", "rtcc-wall audit verify / checkpoint / verify --checkpoint"),
    Item("audit-report.txt", "text", "rtcc-wall audit report (CSV)"),
    Item("launcher.txt", "text", "rtcc-wall install-launcher [--dry-run] / uninstall-launcher"),
]


# ============================================================================ the workspace


class Workspace:
    """A temporary home with its own XDG folders, and a scratch folder for commands."""

    def __init__(self, root: Path, out: Path) -> None:
        self.root = root
        self.out = out
        self.home = root / "home" / "arivera"
        self.work = self.home / "site"
        for d in (
            self.home / ".config",
            self.home / ".local" / "share",
            self.home / ".cache",
            self.home / "Desktop",  # an operator's desktop: install-launcher puts an icon there
            self.work,
        ):
            d.mkdir(parents=True, exist_ok=True)
        self.runtime = root / "runtime"
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        self._state_runs = 0
        self.log = root / "make_screenshots.log"

    def env(self, *, platform: str = "offscreen") -> dict[str, str]:
        """The environment of one run: the temporary home, a fresh wall state, offscreen Qt."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("RTCC_WALL_", "XDG_", "QT_"))
        }
        self._state_runs += 1
        state = self.root / f"state-{self._state_runs}"  # no last session carried over
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_STATE_HOME=str(state),
            XDG_RUNTIME_DIR=str(self.runtime),
            QT_QPA_PLATFORM=platform,
            RTCC_WALL_OPERATOR=OPERATOR,
            RTCC_WALL_LOG="WARNING",
            PYTHONUNBUFFERED="1",
        )
        return env

    def note(self, text: str) -> None:
        with self.log.open("a", encoding="utf-8") as f:
            f.write(text.rstrip("\n") + "\n")


def _rtcc(*args: str) -> list[str]:
    return [sys.executable, "-m", "rtcc_wall", *args]


# ============================================================================ site files


def write_site_files(ws: Workspace) -> None:
    """The demo configuration as a site's own file, a copy with mistakes, and registries."""
    demo = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    roads = (ROOT / "resources" / "demo" / "roads.geojson").resolve()
    site = demo.replace("road_network: resources/demo/roads.geojson", f"road_network: {roads}")
    if site == demo:
        raise ShotError("config.example.yaml no longer names resources/demo/roads.geojson")
    (ws.work / "site.yaml").write_text(site, encoding="utf-8")

    def change(text: str, anchor: str, old: str, new: str) -> str:
        i = text.index(anchor)
        j = text.index(old, i)
        return text[:j] + new + text[j + len(old) :]

    sim = 'stream: "sim://?fps=12&width=640&height=360"'
    bad = change(
        site, "id: city-05", sim, 'stream: "rtps://admin:hunter2@10.20.0.15/Streaming/Channels/101"'
    )
    bad = change(
        bad,
        "id: priv-02",
        "    waiver: {id: W-2026-0027, signed: 2026-09-11, expires: 2027-09-11, revoked: false}\n",
        "",
    )
    bad = change(bad, "id: priv-03", "lat: 32.2985883}", "lat: 32.4985883}")
    bad = bad.replace("city-08, city-09]", "city-08, city-9]", 1)
    (ws.work / "site-with-mistakes.yaml").write_text(bad, encoding="utf-8")
    typo = site.replace("  layout: 3x3\n", "  layuot: 3x3\n", 1)
    typo = change(typo, "id: city-03", "heading_deg: 0.0", "heading_deg: 400")
    (ws.work / "site-with-a-typo.yaml").write_text(typo, encoding="utf-8")

    shutil.copy(EXAMPLES / "owners.csv", ws.work / "owners.csv")
    with (EXAMPLES / "owners.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
        columns = list(rows[0])
    rows[0]["waiver_signed"] = "2026-13-01"
    rows[1]["sharing"] = "always"
    rows[1]["lon"], rows[1]["lat"] = rows[1]["lat"], rows[1]["lon"]
    with (ws.work / "owners-with-mistakes.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


# ============================================================================ command line runs


def run_cli_shot(
    ws: Workspace, name: str, args: Sequence[str], *, platform: str = "offscreen"
) -> list[Path]:
    """``rtcc-wall ARGS --screenshot`` into a scratch file; returns the PNGs it printed."""
    target = ws.root / "shots" / name
    target.parent.mkdir(exist_ok=True)
    cmd = _rtcc(*args, "--screenshot", str(target))
    ws.note("$ " + " ".join(cmd))
    r = subprocess.run(
        cmd,
        cwd=ws.work,
        env=ws.env(platform=platform),
        capture_output=True,
        text=True,
        timeout=180,
    )
    ws.note(r.stdout + r.stderr)
    saved = [Path(m) for m in re.findall(r"screenshot saved to (\S+\.png)", r.stdout)]
    if r.returncode != 0 or not saved:
        raise ShotError(
            f"{name}: {' '.join(args)} exited {r.returncode}:\n{r.stdout}{r.stderr}".rstrip()
        )
    return saved


def cli_shots(ws: Workspace, want: Callable[[str], bool]) -> None:
    after = "--after"
    simple = [
        ("wall-demo.png", ["--demo", after, "5"]),
        ("wall-focus-layout.png", ["--demo", "--layout", "1+5", after, "5"]),
        ("incident-marked.png", ["--demo", "--incident-at", INCIDENT_TEXT, after, "5"]),
        # 30 s: the slider (following the clock) and the suspect car have moved on
        ("escape-routes.png", ["--demo", "--scenario", "getaway", after, "30"]),
    ]
    for name, args in simple:
        if want(name):
            print(f"  {name}", flush=True)
            (png,) = run_cli_shot(ws, name, args)
            _publish(png, ws.out / name)
    if want("wall-mode-screen.png"):
        print("  wall-mode-screen.png", flush=True)
        screens = ws.root / "two-monitors.json"
        w, h = WINDOW_SIZE
        screens.write_text(
            '{"screens": ['
            f'{{"name": "DP-1", "x": 0, "y": 0, "width": {w}, "height": {h}, "logicalDpi": 96}},'
            f'{{"name": "DP-2", "x": {w}, "y": 0, "width": {w}, "height": {h}, "logicalDpi": 96}}'
            "]}",
            encoding="utf-8",
        )
        pngs = run_cli_shot(
            ws,
            "wall-mode.png",
            ["--demo", "--wall", after, "6"],
            platform=f"offscreen:configfile={screens}",
        )
        by_kind = {("console" if p.stem.endswith("-console") else "screen"): p for p in pngs}
        if set(by_kind) != {"console", "screen"}:
            raise ShotError(f"wall mode saved {[p.name for p in pngs]}, not console + screen")
        _publish(by_kind["screen"], ws.out / "wall-mode-screen.png")


def _publish(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


# ============================================================================ command outputs


class Transcript:
    """Commands run for real, written as ``$ rtcc-wall ...`` and what they printed."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.parts: list[str] = []

    def run(
        self, *args: str, shown: str | None = None, expect: int | None = 0, record: bool = True
    ) -> str:
        """Runs ``rtcc-wall ARGS``; returns what it printed. ``expect``: the exit code it must
        have (None: any); ``record``: False runs it without writing it down."""
        cmd = _rtcc(*args)
        r = subprocess.run(
            cmd,
            cwd=self.ws.work,
            env=self.ws.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=180,
        )
        out = r.stdout
        self.ws.note(f"$ {' '.join(cmd)}\n{out}(exit {r.returncode})")
        if expect is not None and r.returncode != expect:
            raise ShotError(
                f"rtcc-wall {' '.join(args)} exited {r.returncode}, expected {expect}:\n{out}"
            )
        if not record:
            return out
        line = shown if shown is not None else " ".join(_quote(a) for a in args)
        text = f"$ rtcc-wall {line}\n{out}"
        if r.returncode != 0:
            text += f"(exit code {r.returncode})\n"
        self.parts.append(self._tidy(text))
        return out

    def _tidy(self, text: str) -> str:
        text = text.replace(str(self.ws.work) + "/", "").replace(str(self.ws.home), "~")
        # the offscreen platform's remark is about the screenshot platform, not the app
        return "".join(
            ln for ln in text.splitlines(keepends=True) if "propagateSizeHints" not in ln
        )

    def save(self, path: Path) -> None:
        path.write_text("\n".join(self.parts), encoding="utf-8")
        self.parts = []


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _quote(arg: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:=,+@%^-]+", arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


def text_outputs(ws: Workspace, want: Callable[[str], bool]) -> None:
    t = Transcript(ws)
    out = ws.out

    def make(name: str, body: Callable[[], object]) -> None:
        if want(name):
            print(f"  {name}", flush=True)
            body()
            t.save(out / name)

    make("start-bad-config.txt", lambda: t.run("--config", "site-with-mistakes.yaml", expect=2))
    make("check-config-ok.txt", lambda: t.run("check-config", "site.yaml"))
    make("check-config-bad.txt", lambda: t.run("check-config", "site-with-mistakes.yaml", expect=2))
    make("check-config-typo.txt", lambda: t.run("check-config", "site-with-a-typo.yaml", expect=2))
    make(
        "nearby.txt",
        lambda: t.run("nearby", "--config", "site.yaml", "--at", INCIDENT_TEXT, "--radius", "250"),
    )
    make(
        "routes.txt",
        lambda: t.run(
            "routes",
            "--config",
            "site.yaml",
            "--at",
            INCIDENT_TEXT,
            "--minutes",
            "5",
            "--routes",
            "3",
        ),
    )
    make("probe.txt", lambda: t.run("probe", "--config", "site.yaml", "city-01", "--seconds", "3"))

    make(
        "registry-dry-run.txt",
        lambda: t.run("registry", "import", "owners.csv", "--config", "site.yaml", "--dry-run"),
    )
    make(
        "registry-import.txt",
        lambda: t.run("registry", "import", "owners.csv", "--config", "site.yaml"),
    )
    make(
        "registry-bad.txt",
        lambda: t.run(
            "registry", "import", "owners-with-mistakes.csv", "--config", "site.yaml", expect=2
        ),
    )

    def incidents() -> None:
        opened = t.run(
            "incident",
            "open",
            "--config",
            "site.yaml",
            "--at",
            INCIDENT_TEXT,
            "--type",
            "robbery",
            "--case",
            "2026-004712",
            "--reason",
            "Store clerk reports a robbery, suspect on foot",
        ).strip()
        if not re.fullmatch(r"INC-\d{8}-\d{4}", opened):
            raise ShotError(f"incident open printed {opened!r}, not an incident id")
        t.run(
            "incident",
            "approve",
            opened,
            "priv-02",
            "--config",
            "site.yaml",
            "--note",
            "Owner agreed by phone, 14:02, call logged",
        )
        t.run("incident", "list", "--open")
        t.run("incident", "close", opened, "--config", "site.yaml", "--reason", "Suspect arrested")

    make("incident-cli.txt", incidents)

    def export_create(record: bool = True) -> None:
        t.run(
            "export",
            "create",
            "--config",
            "site.yaml",
            "--camera",
            "city-01",
            "--seconds",
            "4",
            "--reason",
            "Vehicle of interest passing, case 2026-004711",
            "--out",
            "evidence",
            record=record,
        )

    make("export-create.txt", export_create)

    def export_verify() -> None:
        evidence = ws.work / "evidence"
        if not evidence.is_dir():  # (--only export-verify)
            export_create(record=False)
        folders = sorted(p for p in evidence.iterdir() if p.is_dir())
        rel = f"evidence/{folders[-1].name}"
        audit_db = ws.home / ".local" / "share" / "rtcc-wall" / "audit.sqlite3"
        t.run("export", "verify", rel)
        t.run("export", "verify", rel, "--audit-db", str(audit_db))
        clip = folders[-1] / "data" / "clip.mp4"
        with clip.open("r+b") as f:  # one byte changed, as a careless editor would
            f.seek(4096)
            b = f.read(1)
            f.seek(4096)
            f.write(bytes([b[0] ^ 0xFF]))
        (folders[-1] / "data" / "notes.txt").write_text("added later\n", encoding="utf-8")
        t.run("export", "verify", rel, expect=1)
        # a forger: the added file removed, both manifests recomputed over the changed clip
        (folders[-1] / "data" / "notes.txt").unlink()
        for name in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):  # the second lists the first
            f = folders[-1] / name
            rels = [ln.split("  ", 1)[1] for ln in f.read_text(encoding="utf-8").splitlines()]
            f.write_text(
                "".join(f"{_sha256(folders[-1] / r)}  {r}\n" for r in rels), encoding="utf-8"
            )
        t.run("export", "verify", rel)
        t.run("export", "verify", rel, "--audit-db", str(audit_db), expect=1)

    make("export-verify.txt", export_verify)

    today = dt.datetime.now(dt.UTC).date().isoformat()

    def audit_verify() -> None:
        t.run("audit", "verify")
        t.run("audit", "checkpoint", "--out", "audit-checkpoint.json")
        t.run("audit", "verify", "--checkpoint", "audit-checkpoint.json")

    make("audit-verify.txt", audit_verify)
    make("audit-report.txt", lambda: t.run("audit", "report", "--from", today, "--to", today))

    def launcher() -> None:
        t.run("install-launcher", "--dry-run")
        t.run("install-launcher")
        t.run("uninstall-launcher")

    make("launcher.txt", launcher)


# ============================================================================ in-process scenes
# (run in a child process of this script: ``--scene NAME``, with the workspace's environment)


class Scene:
    """The application started as ``rtcc-wall`` starts it, driven through its widgets."""

    def __init__(self, out: Path) -> None:
        from PySide6.QtWidgets import QApplication

        from rtcc_wall.app import setup_logging
        from rtcc_wall.ui.startup import app_icon
        from rtcc_wall.ui.theme import apply_theme

        self.out = out
        setup_logging()
        app = QApplication.instance() or QApplication(sys.argv[:1])
        assert isinstance(app, QApplication)
        app.setApplicationName("rtcc-wall")
        app.setApplicationDisplayName("rtcc-wall")
        app.setWindowIcon(app_icon())
        apply_theme(app)
        self.app: QApplication = app

    # --- waiting without sleeping through events ---------------------------------------
    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def wait_until(self, what: str, pred: Callable[[], bool], timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                raise ShotError(f"timed out after {timeout:g} s waiting for {what}")
            self.app.processEvents()
            time.sleep(0.01)

    # --- saving ---------------------------------------------------------------------------
    def save(self, widget: QWidget, name: str) -> None:
        self.app.processEvents()
        if not widget.grab().save(str(self.out / name), "PNG"):
            raise ShotError(f"cannot save {self.out / name}")
        print(f"  {name}", flush=True)

    def save_over(self, window: QWidget, popup: QWidget, name: str) -> None:
        """``window`` with ``popup`` (a menu, a dialog) drawn where it is on screen."""
        from PySide6.QtGui import QPainter

        self.app.processEvents()
        pix = window.grab()
        painter = QPainter(pix)
        painter.drawPixmap(
            window.mapFromGlobal(popup.mapToGlobal(popup.rect().topLeft())), popup.grab()
        )
        painter.end()
        if not pix.save(str(self.out / name), "PNG"):
            raise ShotError(f"cannot save {self.out / name}")
        print(f"  {name}", flush=True)

    def while_open(
        self,
        kind: str,
        action: Callable[[], object],
        shoot: Callable[[QWidget], None],
        *,
        settle_s: float = 0.6,
    ) -> None:
        """Runs ``action`` (which opens a menu or a modal dialog and blocks in its event
        loop); once the popup or modal widget shows, ``shoot(widget)`` and close it."""
        from PySide6.QtCore import QTimer

        started = time.monotonic()
        problem: list[str] = []

        def poll() -> None:
            w = self.app.activePopupWidget() if kind == "popup" else self.app.activeModalWidget()
            if w is None or time.monotonic() - started < settle_s:
                if time.monotonic() - started > 15:
                    problem.append(f"no {kind} opened")
                    return
                QTimer.singleShot(50, poll)
                return
            try:
                shoot(w)
            except Exception as e:  # noqa: BLE001 - reported after the popup is closed
                problem.append(repr(e))
            w.close()

        QTimer.singleShot(50, poll)
        action()
        if problem:
            raise ShotError("; ".join(problem))


def _start_demo(scene: Scene) -> tuple[MainWindow, StreamManager, Access]:
    from rtcc_wall.app import create_window, load_for_gui, open_access

    args = argparse.Namespace(
        config=None, demo=True, layout=None, operator=None, incident_at=None, screenshot=None
    )
    loaded, demo = load_for_gui(args)
    access = open_access(loaded, None)
    window, manager = create_window(loaded, demo=demo, access=access)
    window.resize(*WINDOW_SIZE)
    window.show()
    scene.pump(0.5)
    return window, manager, access


def scene_console(out: Path) -> None:
    """The incident workflow, the tile menu, replay, export, routes, F1 and About."""
    from PySide6.QtCore import QPoint

    from rtcc_wall.core.cameras import CameraState
    from rtcc_wall.ui.export_dialog import ExportDialog
    from rtcc_wall.ui.replay import ReplayDialog
    from rtcc_wall.ui.shortcuts import ShortcutSheet

    scene = Scene(out)
    window, manager, access = _start_demo(scene)
    try:
        # --- the incident, marked on the map and opened formally
        window.set_incident_lonlat(*INCIDENT_AT)
        window.show_incident_on_wall()
        panel = window.panel
        panel.type_box.setCurrentText("Robbery")
        panel.case_edit.setText(CASE_NUMBER)
        panel.reason_edit.setText(INCIDENT_REASON)
        panel.reason_edit.setCursorPosition(0)  # the reason's start in view
        if not panel.open_button.isEnabled():
            raise ShotError("Open incident is disabled after marking the incident")
        panel.open_button.click()
        private = [
            t
            for t in window.wall.visible_tiles()
            if t.camera is not None and t.camera.ownership == "private"
        ]
        if not private:
            raise ShotError("no private camera on the incident wall")
        scene.wait_until(
            "the private cameras to play",
            lambda: all(t.has_live_picture for t in private),
            timeout=30,
        )
        scene.pump(3.0)
        scene.save(window, "incident-open.png")

        # --- the replay buffers fill while the wall plays
        scene.pump(12.0)
        tiles = window.wall.visible_tiles()
        tile = next(t for t in tiles if t.camera is not None and t.camera.id == "city-01")
        pos = tile.mapToGlobal(QPoint(tile.width() // 2, tile.height() // 2))

        scene.while_open(
            "popup",
            lambda: window.wall.tile_menu_requested.emit(tile, pos),
            lambda menu: scene.save_over(window, menu, "tile-menu.png"),
        )
        button = window.wall_controls.layout_button
        scene.while_open(
            "popup",
            button.showMenu,
            lambda menu: scene.save_over(window, menu, "layout-menu.png"),
        )
        scene.while_open(
            "popup",
            window.wall_controls.views_button.showMenu,
            lambda menu: scene.save_over(window, menu, "views-menu.png"),
        )

        # --- instant replay of the city camera at the scene
        replay = window.open_replay("city-01")
        if not isinstance(replay, ReplayDialog):
            raise ShotError("Instant replay… did not open for city-01")
        replay.resize(1100, 760)
        scene.wait_until("the replay's first picture", lambda: replay.shown_index >= 0)
        scene.pump(3.0)
        replay.pause()
        scene.pump(0.8)
        scene.save(replay, "replay.png")
        replay.reject()

        # --- evidence export of the private camera that sees the shop
        priv = next(t.camera for t in private if t.camera is not None)
        dialog = window.open_export(priv.id)
        if not isinstance(dialog, ExportDialog):
            raise ShotError(f"Export evidence… did not open for {priv.id}")
        dialog.last_spin.setValue(20)
        dialog.reason_edit.setText(f"Suspect leaving the pharmacy, case {CASE_NUMBER}")
        scene.pump(0.5)
        scene.save(dialog, "export-dialog.png")
        if not dialog.start_export():
            raise ShotError(f"the export did not start: {dialog.problem()}")
        scene.wait_until(
            "the export to finish",
            lambda: dialog.outcome is not None or dialog.error is not None,
            timeout=90,
        )
        if dialog.error is not None:
            raise ShotError(f"the export failed: {dialog.error}")
        dialog.cancel_button.setFocus()  # (not the spin box the export left focused)
        scene.pump(0.3)
        scene.save(dialog, "export-done.png")
        dialog.close()

        # --- escape routes of the same incident, now about a minute old
        window.tabs.setCurrentIndex(1)
        routes = window.routes_panel
        scene.wait_until("the escape routes", lambda: routes.analysis is not None, timeout=30)
        analysis = routes.analysis
        assert analysis is not None
        # a route with 4 cameras (else 3, else 2) fills a 2x2 wall, whose tiles are wide
        # enough for their ETA windows
        by_count = {len({c.camera.id for c in r.cameras}): r.index for r in analysis.routes}
        pick = next((by_count[n] for n in (4, 3, 2) if n in by_count), 0)
        item = routes.tree.topLevelItem(pick)
        if item is None:
            raise ShotError("no escape route found")
        item.setExpanded(True)
        routes.tree.setCurrentItem(item)
        routes.tree.scrollToItem(item)
        routes.wall_button.click()
        scene.pump(4.0)
        scene.save(window, "route-order.png")

        # --- F1 and About, opened as the Help menu opens them
        scene.while_open(
            "modal",
            lambda: ShortcutSheet(window).exec(),
            lambda w: scene.save(w, "shortcuts.png"),
        )
        scene.while_open("modal", window.show_about, lambda w: scene.save(w, "about.png"))

        # --- the incident is closed (audited): its private views end
        window.close_formal_incident("Suspect arrested two blocks north")
        scene.wait_until(
            "the private cameras to go dark",
            lambda: all(
                t.state is CameraState.DENIED
                for t in window.wall.visible_tiles()
                if t.camera is not None and t.camera.ownership == "private"
            ),
            timeout=10,
        )
    finally:
        window.close()
        manager.shutdown()
        access.close()


def scene_masks(out: Path) -> None:
    """The demo's doorbell camera during an incident: its privacy mask on the wall."""
    scene = Scene(out)
    window, manager, access = _start_demo(scene)
    try:
        cam = window.loaded.cameras["priv-07"]
        if not cam.masks:
            raise ShotError("the demo's priv-07 has no privacy mask")
        window.set_incident(cam.x + 20, cam.y)
        panel = window.panel
        panel.type_box.setCurrentText("Burglary")
        panel.case_edit.setText("2026-004713")
        panel.reason_edit.setText("Parcel taken from a porch on Oak Rd")
        panel.open_button.click()
        window.wall.set_layout("1x1")
        window.wall.set_cameras([cam.id])
        tile = window.wall.visible_tiles()[0]
        scene.wait_until("the doorbell to play", lambda: tile.has_live_picture, timeout=30)
        scene.pump(2.0)
        scene.save(window.wall, "privacy-mask.png")
    finally:
        window.close()
        manager.shutdown()
        access.close()


def scene_config_problems(out: Path) -> None:
    """The dialog a double-clicked start shows for a configuration with problems."""
    from rtcc_wall.config.loader import load_config
    from rtcc_wall.errors import ConfigError
    from rtcc_wall.ui.startup import ConfigProblemsDialog

    scene = Scene(out)
    path = Path("site-with-mistakes.yaml")
    try:
        load_config(path)
    except ConfigError as e:
        dialog = ConfigProblemsDialog(e.problems, str(path), origin="argument")
    else:
        raise ShotError(f"{path} loads without problems")
    dialog.show()
    scene.pump(0.5)
    scene.save(dialog, "config-problems-dialog.png")
    dialog.close()


SCENES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "console": (
        scene_console,
        [
            "incident-open.png",
            "tile-menu.png",
            "layout-menu.png",
            "views-menu.png",
            "replay.png",
            "export-dialog.png",
            "export-done.png",
            "shortcuts.png",
            "about.png",
            "route-order.png",
        ],
    ),
    "config-problems": (scene_config_problems, ["config-problems-dialog.png"]),
    "masks": (scene_masks, ["privacy-mask.png"]),
}


def run_scene(ws: Workspace, name: str) -> None:
    produced = ws.root / "scenes" / name
    produced.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--scene", name, "--out", str(produced)]
    ws.note("$ " + " ".join(cmd))
    r = subprocess.run(cmd, cwd=ws.work, env=ws.env(), capture_output=True, text=True, timeout=600)
    ws.note(r.stdout + r.stderr)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise ShotError(f"scene {name} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    for png in SCENES[name][1]:
        if not (produced / png).is_file():
            raise ShotError(f"scene {name} did not save {png}")
        _publish(produced / png, ws.out / png)


# ============================================================================ the guide


OUTPUT_BLOCK = re.compile(
    r"(<!-- output: (?P<name>[\w.-]+\.txt) -->\n```text\n)(?P<body>.*?)(```)", re.DOTALL
)


def guide_output_blocks(guide_text: str) -> dict[str, str]:
    """``{file name: block text}`` of every ``<!-- output: NAME.txt -->`` block of the guide."""
    return {m["name"]: m["body"] for m in OUTPUT_BLOCK.finditer(guide_text)}


def refresh_guide(images: Path, guide: Path = GUIDE) -> list[str]:
    """Copies each output file into its block of the guide; returns the names refreshed."""
    text = guide.read_text(encoding="utf-8")
    names: list[str] = []

    def fill(m: re.Match[str]) -> str:
        src = images / m["name"]
        if not src.is_file():
            return m.group(0)
        names.append(m["name"])
        body = src.read_text(encoding="utf-8")
        if not body.endswith("\n"):
            body += "\n"
        return m.group(1) + body + m.group(4)

    new = OUTPUT_BLOCK.sub(fill, text)
    if new != text:
        guide.write_text(new, encoding="utf-8")
    return names


# ============================================================================ main


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="make_screenshots.py",
        description="Regenerate the user guide's screenshots (PNG) and command outputs (TXT) "
        "into docs/images, offscreen, in a temporary home folder; then refresh the guide's "
        "output blocks.",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=IMAGES,
        help="where to write (default: docs/images)",
    )
    p.add_argument(
        "--only",
        metavar="NAME",
        nargs="+",
        help="only these files (as in --list; .png/.txt may be left out)",
    )
    p.add_argument("--list", action="store_true", help="list what is made and how; make nothing")
    p.add_argument("--keep", action="store_true", help="keep the temporary home folder")
    p.add_argument("--no-guide", action="store_true", help="leave docs/user-guide.md alone")
    p.add_argument("--scene", choices=sorted(SCENES), help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.scene:
        try:
            SCENES[args.scene][0](args.out)
        except ShotError as e:
            print(f"make_screenshots: {e}", file=sys.stderr)
            return 1
        return 0
    if args.list:
        for item in ITEMS:
            print(f"{item.name:<28} {item.how:<6} {item.what}")
        return 0
    known = {i.name for i in ITEMS}
    only: set[str] | None = None
    if args.only:
        only = set()
        for n in args.only:
            match = {k for k in known if k == n or Path(k).stem == n}
            if not match:
                print(f"make_screenshots: unknown name {n!r} (see --list)", file=sys.stderr)
                return 2
            only |= match

    def want(name: str) -> bool:
        return only is None or name in only

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="rtcc-wall-docs-"))
    ws = Workspace(root, out)
    started = time.monotonic()
    try:
        write_site_files(ws)
        print("command-line screenshots:", flush=True)
        cli_shots(ws, want)
        print("in-process screenshots:", flush=True)
        for name, (_fn, files) in SCENES.items():
            if any(want(f) for f in files):
                run_scene(ws, name)
        print("command outputs:", flush=True)
        text_outputs(ws, want)
    except ShotError as e:
        print(f"make_screenshots: {e}\n(log: {ws.log})", file=sys.stderr)
        args.keep = True
        return 1
    finally:
        if args.keep:
            print(f"temporary home kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if not args.no_guide and out == IMAGES.resolve() and GUIDE.is_file():
        refreshed = refresh_guide(out)
        print(f"user-guide.md: {len(refreshed)} output block(s) refreshed")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
