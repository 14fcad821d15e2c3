"""Double-click start: a menu entry and a desktop icon for the current user.

``rtcc-wall install-launcher`` makes the GUI startable without a terminal:

* **Linux** (and other freedesktop systems): the ``.desktop`` file of
  ``resources/`` with an absolute ``Exec`` of the installed ``rtcc-wall-gui``
  goes to ``$XDG_DATA_HOME/applications``, the icons to
  ``$XDG_DATA_HOME/icons/hicolor/<N>x<N>/apps`` (and ``scalable``), a copy of
  the entry to the desktop folder (``xdg-user-dir DESKTOP``), executable and
  marked trusted; the menu and icon caches are refreshed when their tools exist.
* **Windows**: ``rtcc-wall.lnk`` shortcuts in the Start menu and on the
  desktop, made by PowerShell through the ``WScript.Shell`` COM object, to
  ``rtcc-wall-gui.exe`` (pyproject's gui-scripts entry: no console window).
* **macOS**: nothing is installed; the equivalent steps are printed.

Everything written is listed in a manifest (``launcher.json`` in the user's
data folder), so that ``uninstall-launcher`` removes exactly that: the files,
and the folders the install created when they are empty again. Both commands
can run any number of times. No Qt here: this runs from the command line.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from rtcc_wall.errors import RtccError
from rtcc_wall.paths import APP_NAME, resources_dir

GUI_SCRIPT = "rtcc-wall-gui"
ICON_NAME = "rtcc-wall"
DESKTOP_FILE = "rtcc-wall.desktop"
SHORTCUT = "rtcc-wall.lnk"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
MANIFEST = "launcher.json"
_TOOL_TIMEOUT_S = 30.0

#: What a tool run returns: (exit code, output). Replaced in tests of the Windows path.
Runner = Callable[[Sequence[str]], tuple[int, str]]


class LauncherError(RtccError):
    """The launcher cannot be installed or removed; the message says what and where."""


@dataclass
class LauncherResult:
    """What a command did (or, on a dry run, would do), as lines for the user."""

    messages: list[str] = field(default_factory=list)
    created: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.messages.append(text)


def platform_kind(platform: str | None = None) -> str:
    """``linux`` (any freedesktop system), ``windows`` or ``macos``."""
    p = sys.platform if platform is None else platform
    if p.startswith("win") or p == "cygwin":
        return "windows"
    if p == "darwin":
        return "macos"
    return "linux"


def run_tool(argv: Sequence[str]) -> tuple[int, str]:
    """Runs a helper tool; a missing tool or a timeout is an exit code, never an exception."""
    try:
        r = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=_TOOL_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as e:
        return 127, str(e)
    return r.returncode, (r.stdout + r.stderr).strip()


# --- the command that starts the GUI ------------------------------------------------


def gui_command(platform: str | None = None) -> list[str]:
    """The installed GUI entry point as an absolute argv, without a console on Windows.

    The ``rtcc-wall-gui`` script beside the running interpreter (a venv's
    ``bin``/``Scripts``) comes first, then one on PATH, else the interpreter
    itself with ``-m rtcc_wall`` (``pythonw.exe`` on Windows).
    """
    windows = platform_kind(platform) == "windows"
    name = GUI_SCRIPT + (".exe" if windows else "")
    exe = Path(sys.executable)
    for folder in (exe.parent, exe.parent / "Scripts", exe.parent / "bin"):
        candidate = folder / name
        if candidate.is_file() and (windows or os.access(candidate, os.X_OK)):
            return [str(candidate.absolute())]
    found = shutil.which(name)
    if found:
        return [str(Path(found).absolute())]
    interpreter = exe
    if windows and (exe.parent / "pythonw.exe").is_file():
        interpreter = exe.parent / "pythonw.exe"
    return [str(interpreter.absolute()), "-m", "rtcc_wall"]


# --- freedesktop entries ------------------------------------------------------------

#: Characters that make an Exec argument need quotes (Desktop Entry Specification 1.4).
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_FIELD_CODES = set("fFuUick")


def exec_quote(arg: str) -> str:
    """One argument of an Exec key, quoted per the spec (before the key's string escaping)."""
    arg = arg.replace("%", "%%")
    if arg and not (_RESERVED & set(arg)):
        return arg
    inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
    return f'"{inner}"'


def exec_value(argv: Sequence[str]) -> str:
    """The value of an ``Exec=`` key that runs ``argv``, escaped as a desktop-file string."""
    line = " ".join(exec_quote(a) for a in argv)
    return line.replace("\\", "\\\\")


def _unescape_string(value: str) -> str:
    out = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_exec(value: str) -> list[str]:
    """The argv an ``Exec=`` value runs (field codes dropped); the inverse of ``exec_value``.

    Raises ValueError on an unterminated quote.
    """
    text = _unescape_string(value)
    args: list[str] = []
    cur: list[str] = []
    has_arg = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            has_arg = True
            i += 1
            while True:
                if i >= len(text):
                    raise ValueError(f"unterminated quote in Exec value {value!r}")
                c = text[i]
                if c == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
                    cur.append(text[i + 1])
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                cur.append(c)
                i += 1
            continue
        if ch in " \t":
            if has_arg:
                args.append("".join(cur))
                cur, has_arg = [], False
            i += 1
            continue
        cur.append(ch)
        has_arg = True
        i += 1
    if has_arg:
        args.append("".join(cur))
    out = []
    for a in args:
        if len(a) == 2 and a[0] == "%" and a[1] in _FIELD_CODES:
            continue  # a field code standing alone: the launcher fills it in (nothing here)
        out.append(a.replace("%%", "%"))
    return out


def desktop_entry_text(command: Sequence[str], template: str | None = None) -> str:
    """The bundled ``.desktop`` template with every Exec/TryExec pointing at ``command``.

    The template's own arguments (``--demo`` of the "Open the demo" action) are
    kept after the command.
    """
    if template is None:
        template = _bundled(DESKTOP_FILE).read_text(encoding="utf-8")
    out = [
        "# Installed by 'rtcc-wall install-launcher'; 'rtcc-wall uninstall-launcher' removes it.\n"
    ]
    for line in template.splitlines(keepends=True):
        key, sep, value = line.rstrip("\n").partition("=")
        if sep and key.strip() in ("Exec", "TryExec"):
            extra = parse_exec(value)[1:]
            argv = [*command, *extra] if key.strip() == "Exec" else [command[0]]
            out.append(f"{key.strip()}={exec_value(argv)}\n")
        else:
            out.append(line)
    return "".join(out)


def desktop_entry_exec(text: str, group: str = "Desktop Entry") -> list[str]:
    """The argv of the ``Exec`` key of ``group`` in a desktop file's text."""
    current = None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            current = s[1:-1]
        elif current == group and s.startswith("Exec="):
            return parse_exec(s[len("Exec=") :])
    raise ValueError(f"no Exec key in group [{group}]")


def _bundled(name: str) -> Path:
    p = resources_dir() / name
    if not p.is_file():
        raise LauncherError(f"the bundled file {p} is missing: reinstall rtcc-wall")
    return p


def data_home() -> Path:
    env = os.environ.get("XDG_DATA_HOME", "")
    return Path(env) if os.path.isabs(env) else Path.home() / ".local" / "share"


def desktop_dir(run: Runner = run_tool) -> Path | None:
    """The user's desktop folder (``xdg-user-dir DESKTOP``, else ~/Desktop), if it exists.

    None when there is none: a desktop that shows no icons has no such folder,
    and one is not made for it.
    """
    home = Path.home()
    found: Path | None = None
    if shutil.which("xdg-user-dir"):
        rc, out = run(["xdg-user-dir", "DESKTOP"])
        if rc == 0 and out.strip():
            found = Path(out.strip().splitlines()[-1])
    if found is None:
        found = home / "Desktop"
    if found.resolve() == home.resolve() or not found.is_dir():
        return None
    return found


# --- the manifest -------------------------------------------------------------------


def manifest_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / MANIFEST


@dataclass
class Manifest:
    platform: str
    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)  # folders the install created

    @classmethod
    def load(cls, path: Path) -> Manifest | None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise LauncherError(f"{path}: cannot read the launcher manifest: {e}") from None
        if not (
            isinstance(doc, dict)
            and isinstance(doc.get("files"), list)
            and isinstance(doc.get("dirs", []), list)
        ):
            raise LauncherError(f"{path}: not a launcher manifest (expected files and dirs lists)")
        return cls(
            str(doc.get("platform", "")),
            [str(f) for f in doc["files"]],
            [str(d) for d in doc.get("dirs", [])],
        )

    def add_file(self, p: Path) -> None:
        if str(p) not in self.files:
            self.files.append(str(p))

    def add_dir(self, p: Path) -> None:
        if str(p) not in self.dirs:
            self.dirs.append(str(p))

    def save(self, path: Path) -> None:
        doc = {
            "platform": self.platform,
            "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "files": self.files,
            "dirs": self.dirs,
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def _make_dirs(folder: Path, manifest: Manifest) -> None:
    """``mkdir -p`` that records in the manifest every folder it created."""
    missing: list[Path] = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        d.mkdir()
        manifest.add_dir(d)


# --- install / uninstall ------------------------------------------------------------


def install_launcher(
    *,
    desktop_icon: bool = True,
    dry_run: bool = False,
    platform: str | None = None,
    run: Runner = run_tool,
) -> LauncherResult:
    """Installs the menu entry (and desktop icon) for the current user. LauncherError on failure."""
    kind = platform_kind(platform)
    if kind == "macos":
        return _macos_instructions(platform)
    if kind == "windows":
        return _install_windows(desktop_icon=desktop_icon, dry_run=dry_run, run=run)
    return _install_freedesktop(desktop_icon=desktop_icon, dry_run=dry_run, run=run)


def uninstall_launcher(
    *, dry_run: bool = False, platform: str | None = None, run: Runner = run_tool
) -> LauncherResult:
    """Removes what ``install_launcher`` created, as its manifest lists it; idempotent."""
    res = LauncherResult()
    if platform_kind(platform) == "macos":
        res.say(
            "macOS: nothing was installed by rtcc-wall; if you made rtcc-wall.app as "
            "'rtcc-wall install-launcher' described, move it from ~/Applications to the Trash."
        )
        return res
    mpath = manifest_path()
    manifest = Manifest.load(mpath)
    if manifest is None:
        res.say("no launcher installed by rtcc-wall for this user (nothing to remove)")
        return res
    verb = "would remove" if dry_run else "removed"
    for f in manifest.files:
        p = Path(f)
        if not (p.exists() or p.is_symlink()):
            continue
        if not dry_run:
            try:
                p.unlink()
            except OSError as e:
                raise LauncherError(f"cannot remove {p}: {e.strerror or e}") from None
        res.removed.append(p)
        res.say(f"{verb} {p}")
    if dry_run:
        res.say(f"{verb} {mpath}")
        return res
    try:
        mpath.unlink()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise LauncherError(f"cannot remove {mpath}: {e.strerror or e}") from None
    res.removed.append(mpath)
    for d in sorted(manifest.dirs, key=lambda s: len(Path(s).parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty: something else lives there now
            Path(d).rmdir()
    if platform_kind(platform) == "linux":
        _refresh_caches(res, run, only_existing=True)
    res.say("launcher removed")
    return res


def _install_freedesktop(*, desktop_icon: bool, dry_run: bool, run: Runner) -> LauncherResult:
    res = LauncherResult()
    command = gui_command("linux")
    entry = desktop_entry_text(command)
    base = data_home()
    apps = base / "applications"
    icons = base / "icons" / "hicolor"
    plan: list[tuple[Path, bytes, int]] = [(apps / DESKTOP_FILE, entry.encode("utf-8"), 0o644)]
    for s in ICON_SIZES:
        src = _bundled(f"icons/rtcc-wall-{s}.png")
        plan.append((icons / f"{s}x{s}" / "apps" / f"{ICON_NAME}.png", src.read_bytes(), 0o644))
    svg = _bundled("icons/rtcc-wall.svg")
    plan.append((icons / "scalable" / "apps" / f"{ICON_NAME}.svg", svg.read_bytes(), 0o644))
    desk = desktop_dir(run) if desktop_icon else None
    if desk is not None:
        plan.append((desk / DESKTOP_FILE, entry.encode("utf-8"), 0o755))
    if dry_run:
        res.say(f"would start the GUI with: {' '.join(command)}")
        for p, _data, _mode in plan:
            res.say(f"would write {p}")
            res.created.append(p)
        if desktop_icon and desk is None:
            res.say("no desktop folder found: no desktop icon would be made")
        return res

    mpath = manifest_path()
    manifest = Manifest.load(mpath) or Manifest("linux")
    manifest.platform = "linux"
    written: list[Path] = []
    try:
        _make_dirs(mpath.parent, manifest)
        for p, data, mode in plan:
            _make_dirs(p.parent, manifest)
            _write_file(p, data, mode)
            manifest.add_file(p)
            written.append(p)
        # the caches the tools below create are ours too, unless they were there before
        for cache in (apps / "mimeinfo.cache", icons / "icon-theme.cache"):
            if not cache.exists():
                manifest.add_file(cache)
        manifest.save(mpath)
    except OSError as e:
        with contextlib.suppress(OSError):  # so that uninstall-launcher finds what was written
            manifest.save(mpath)
        where = e.filename or "?"
        raise LauncherError(f"cannot write {where}: {e.strerror or e}") from None
    res.created.extend(written)
    res.say(f"menu entry: {apps / DESKTOP_FILE}")
    res.say(f"  starts: {' '.join(command)}")
    res.say(f"icons: {icons}/<size>/apps/{ICON_NAME}.png and scalable/apps/{ICON_NAME}.svg")
    if desk is not None:
        _trust(desk / DESKTOP_FILE, run)
        res.say(f"desktop icon: {desk / DESKTOP_FILE}")
    elif desktop_icon:
        res.say("no desktop folder found (xdg-user-dir DESKTOP): menu entry only")
    _refresh_caches(res, run)
    res.say(f"installed; 'rtcc-wall uninstall-launcher' removes it (list kept in {mpath})")
    return res


def _write_file(p: Path, data: bytes, mode: int) -> None:
    tmp = p.with_name(f".{p.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OSError(e.errno, e.strerror, str(p)) from None  # name the file, not the temp
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _trust(p: Path, run: Runner) -> None:
    """Lets GNOME/Nautilus-style desktops start the desktop copy without asking first."""
    if shutil.which("gio"):
        run(["gio", "set", "-t", "string", str(p), "metadata::trusted", "true"])


def _refresh_caches(res: LauncherResult, run: Runner, *, only_existing: bool = False) -> None:
    """Rebuilds the menu and icon caches; after an uninstall only those that were not ours."""
    base = data_home()
    apps = base / "applications"
    icons = base / "icons" / "hicolor"
    do_apps = apps.is_dir() and (not only_existing or (apps / "mimeinfo.cache").exists())
    do_icons = icons.is_dir() and (not only_existing or (icons / "icon-theme.cache").exists())
    if do_apps and shutil.which("update-desktop-database"):
        rc, out = run(["update-desktop-database", str(apps)])
        if rc != 0:
            res.say(f"note: update-desktop-database failed ({out[:200]}); the menu may update late")
    if do_icons and shutil.which("gtk-update-icon-cache"):
        rc, out = run(["gtk-update-icon-cache", "-f", "-t", "-q", str(icons)])
        if rc != 0:
            res.say(f"note: gtk-update-icon-cache failed ({out[:200]})")


# --- Windows ------------------------------------------------------------------------


def _ps_quote(text: str) -> str:
    """A PowerShell single-quoted string literal."""
    return "'" + text.replace("'", "''") + "'"


def _windows_arguments(args: Sequence[str]) -> str:
    return subprocess.list2cmdline(list(args))


def windows_shortcut_script(command: Sequence[str], icon: Path, *, desktop: bool) -> str:
    """PowerShell that makes the Start-menu (and desktop) shortcut and prints each path made."""
    folders = ["'Programs'"] + (["'DesktopDirectory'"] if desktop else [])
    return "\n".join(
        [
            "$ErrorActionPreference = 'Stop'",
            "$shell = New-Object -ComObject WScript.Shell",
            f"foreach ($kind in @({', '.join(folders)})) {{",
            "  $dir = [Environment]::GetFolderPath($kind)",
            f"  $path = Join-Path $dir {_ps_quote(SHORTCUT)}",
            "  $lnk = $shell.CreateShortcut($path)",
            f"  $lnk.TargetPath = {_ps_quote(command[0])}",
            f"  $lnk.Arguments = {_ps_quote(_windows_arguments(command[1:]))}",
            "  $lnk.WorkingDirectory = [Environment]::GetFolderPath('UserProfile')",
            f"  $lnk.IconLocation = {_ps_quote(str(icon) + ',0')}",
            "  $lnk.Description = 'rtcc-wall: video wall for a Real Time Crime Center'",
            "  $lnk.Save()",
            '  Write-Output "created: $path"',
            "}",
        ]
    )


def windows_shortcut_command(command: Sequence[str], icon: Path, *, desktop: bool) -> list[str]:
    """The powershell.exe argv that runs ``windows_shortcut_script`` (encoded: no quoting woes)."""
    script = windows_shortcut_script(command, icon, desktop=desktop)
    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    return [
        "powershell.exe",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-EncodedCommand",
        encoded,
    ]


def _install_windows(*, desktop_icon: bool, dry_run: bool, run: Runner) -> LauncherResult:
    res = LauncherResult()
    command = gui_command("windows")
    icon = _bundled("icons/rtcc-wall.ico")
    argv = windows_shortcut_command(command, icon, desktop=desktop_icon)
    where = "Start menu" + (" and desktop" if desktop_icon else "")
    if dry_run:
        res.say(f"would create {SHORTCUT} in the {where}, starting: {' '.join(command)}")
        return res
    rc, out = run(argv)
    made = [
        Path(line.split(":", 1)[1].strip())
        for line in out.splitlines()
        if line.startswith("created:")
    ]
    mpath = manifest_path()
    manifest = Manifest.load(mpath) or Manifest("windows")
    if made:  # record what exists even when a later step failed, so uninstall finds it
        try:
            _make_dirs(mpath.parent, manifest)
            for p in made:
                manifest.add_file(p)
            manifest.save(mpath)
        except OSError as e:
            raise LauncherError(f"cannot write {e.filename or mpath}: {e.strerror or e}") from None
    if rc != 0:
        raise LauncherError(f"PowerShell could not create the shortcuts (exit {rc}): {out[:400]}")
    res.created.extend(made)
    for p in made:
        res.say(f"shortcut: {p}")
    res.say(f"  starts: {' '.join(command)}")
    res.say("installed; 'rtcc-wall uninstall-launcher' removes it")
    return res


# --- macOS --------------------------------------------------------------------------


def macos_instructions(command: Sequence[str], icon: Path) -> str:
    """The documented equivalent of a launcher on macOS (nothing is installed there)."""
    shell = " ".join(shlex.quote(a) for a in command) + " > /dev/null 2>&1 &"
    script = shell.replace("\\", "\\\\").replace('"', '\\"')  # an AppleScript string
    return (
        "macOS: rtcc-wall installs no launcher itself. To start it by double-click:\n"
        "  1. Open Script Editor (Applications > Utilities) and paste this line:\n"
        f'       do shell script "{script}"\n'
        "  2. File > Export..., File Format: Application, save it as 'rtcc-wall'\n"
        "     in the Applications folder of your home folder.\n"
        f"  3. Icon: open {icon} in Preview, Edit > Select All, Edit > Copy; in Finder\n"
        "     select rtcc-wall.app, File > Get Info, click the small icon at the top,\n"
        "     Edit > Paste.\n"
        "  4. Drag rtcc-wall.app to the Dock; Option+Command-drag it to the Desktop\n"
        "     for a desktop alias.\n"
        "To remove it, move rtcc-wall.app to the Trash."
    )


def _macos_instructions(platform: str | None) -> LauncherResult:
    res = LauncherResult()
    res.say(macos_instructions(gui_command(platform), resources_dir() / "icons/rtcc-wall-256.png"))
    return res
