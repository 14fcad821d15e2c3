"""install-launcher / uninstall-launcher, for real on this Linux box, in a temporary home.

The installed entry must pass ``desktop-file-validate`` (Debian package
``desktop-file-utils``; these tests skip only when it is missing) and its Exec
line must start the app. The Windows path cannot run here: its PowerShell
command is checked as built, and its bookkeeping with a runner that plays
PowerShell's part (writes the .lnk files and prints what it made).
"""

from __future__ import annotations

import base64
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcc_wall import cli, launcher
from rtcc_wall.launcher import (
    LauncherError,
    desktop_entry_exec,
    desktop_entry_text,
    exec_value,
    install_launcher,
    parse_exec,
    uninstall_launcher,
    windows_shortcut_command,
)
from rtcc_wall.paths import resources_dir

VALIDATE = shutil.which("desktop-file-validate")
needs_validator = pytest.mark.skipif(
    VALIDATE is None, reason="desktop-file-validate missing (apt-get install desktop-file-utils)"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh user: HOME, XDG folders and a Desktop folder, all under tmp_path."""
    h = tmp_path / "home"
    (h / "Desktop").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(h / ".config"))  # xdg-user-dir reads user-dirs.dirs
    monkeypatch.delenv("RTCC_WALL_CONFIG", raising=False)
    monkeypatch.delenv("RTCC_WALL_AUDIT_DB", raising=False)
    return h


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder (None) under root."""
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        out[str(p.relative_to(root))] = p.read_bytes() if p.is_file() else None
    return out


def validate(path: Path) -> None:
    assert VALIDATE is not None
    r = subprocess.run([VALIDATE, str(path)], capture_output=True, text=True, timeout=30)
    # the validator prints errors, warnings and hints; any of them is a finding
    findings = (r.stdout + r.stderr).strip()
    assert r.returncode == 0, findings
    assert not findings


def apps_entry(home: Path) -> Path:
    return home / ".local" / "share" / "applications" / "rtcc-wall.desktop"


@needs_validator
def test_bundled_template_is_valid() -> None:
    validate(resources_dir() / "rtcc-wall.desktop")


@needs_validator
def test_installed_entry_is_valid_and_its_exec_starts_the_app(home: Path, tmp_path: Path) -> None:
    result = install_launcher()
    entry = apps_entry(home)
    desk = home / "Desktop" / "rtcc-wall.desktop"
    assert entry in result.created
    assert desk in result.created
    validate(entry)
    validate(desk)
    assert os.access(desk, os.X_OK), "a desktop icon must be executable to be launched"
    for s in launcher.ICON_SIZES:
        png = home / f".local/share/icons/hicolor/{s}x{s}/apps/rtcc-wall.png"
        head = png.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", head[16:24]) == (s, s), png
    assert (home / ".local/share/icons/hicolor/scalable/apps/rtcc-wall.svg").is_file()

    text = entry.read_text(encoding="utf-8")
    argv = desktop_entry_exec(text)
    assert Path(argv[0]).is_absolute(), argv
    assert os.access(argv[0], os.X_OK), argv
    assert desktop_entry_exec(text, "Desktop Action demo") == [*argv, "--demo"]
    assert "Terminal=false" in text.splitlines()

    # Start it as a menu would (no terminal: stdin closed), in the fresh home.
    shot = tmp_path / "from-menu.png"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTCC_WALL_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), QT_QPA_PLATFORM="offscreen")
    r = subprocess.run(
        [*argv, "--demo", "--screenshot", str(shot), "--after", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(home),
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width >= 800
    assert height >= 500


def test_uninstall_removes_exactly_what_install_made(home: Path) -> None:
    # things that were there before and must stay
    apps = home / ".local" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / "other.desktop").write_text("[Desktop Entry]\nType=Application\nName=x\nExec=x\n")
    (home / "Desktop" / "notes.txt").write_text("mine")
    before = tree(home)

    first = install_launcher()
    after_first = tree(home)
    assert (apps / "rtcc-wall.desktop").is_file()
    assert (apps / "other.desktop").read_text().startswith("[Desktop Entry]")

    second = install_launcher()  # idempotent: same files, same content
    assert sorted(second.created) == sorted(first.created)
    after_second = tree(home)
    manifest = launcher.Manifest.load(launcher.manifest_path())
    assert manifest is not None
    assert len(manifest.files) == len(set(manifest.files))
    ignore = {str(launcher.manifest_path().relative_to(home))}  # holds a time stamp
    assert {k: v for k, v in after_second.items() if k not in ignore} == {
        k: v for k, v in after_first.items() if k not in ignore
    }

    removed = uninstall_launcher()
    assert apps / "rtcc-wall.desktop" in removed.removed
    assert tree(home) == before, "uninstall must leave the home exactly as it found it"

    again = uninstall_launcher()  # idempotent
    assert not again.removed
    assert "nothing to remove" in " ".join(again.messages)


def test_uninstall_keeps_folders_that_filled_up_since(home: Path) -> None:
    install_launcher()
    data = Path(launcher.manifest_path()).parent
    (data / "audit.sqlite3").write_bytes(b"the audit log lives here too")
    uninstall_launcher()
    assert (data / "audit.sqlite3").read_bytes().startswith(b"the audit")
    assert not apps_entry(home).exists()
    assert not (home / "Desktop" / "rtcc-wall.desktop").exists()


def test_no_desktop_icon_and_dry_run(home: Path) -> None:
    before = tree(home)
    dry = install_launcher(dry_run=True)
    assert tree(home) == before, "a dry run writes nothing"
    assert apps_entry(home) in dry.created
    assert any(m.startswith("would write") for m in dry.messages)

    install_launcher(desktop_icon=False)
    assert apps_entry(home).is_file()
    assert not (home / "Desktop" / "rtcc-wall.desktop").exists()
    assert uninstall_launcher(dry_run=True).removed
    assert apps_entry(home).is_file(), "a dry run removes nothing"
    uninstall_launcher()
    assert tree(home) == before


def test_without_a_desktop_folder_only_the_menu_entry(home: Path) -> None:
    (home / "Desktop").rmdir()
    result = install_launcher()
    assert apps_entry(home).is_file()
    assert "menu entry only" in " ".join(result.messages)
    assert not any(p.parent == home for p in result.created), "nothing lands in the home itself"


def test_xdg_data_home_is_honoured(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "elsewhere"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    install_launcher(desktop_icon=False)
    assert (data / "applications" / "rtcc-wall.desktop").is_file()
    assert (data / "rtcc-wall" / "launcher.json").is_file()
    uninstall_launcher()
    assert not data.exists()


def test_broken_manifest_is_reported_not_a_traceback(home: Path) -> None:
    m = launcher.manifest_path()
    m.parent.mkdir(parents=True)
    m.write_text("{not json")
    with pytest.raises(LauncherError, match="launcher.json: cannot read the launcher manifest"):
        uninstall_launcher()
    assert cli.run(["uninstall-launcher"]) == cli.EXIT_FAILED


def test_cli_commands(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["install-launcher", "--dry-run"]) == cli.EXIT_OK
    assert "would write" in capsys.readouterr().out
    assert not apps_entry(home).exists()
    assert cli.run(["install-launcher", "--no-desktop-icon"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "menu entry:" in out
    assert "uninstall-launcher" in out
    assert cli.run(["uninstall-launcher"]) == cli.EXIT_OK
    assert "removed" in capsys.readouterr().out
    assert not apps_entry(home).exists()


# --- the Exec key -------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["/opt/rtcc wall/bin/rtcc-wall-gui"],
        ["/home/o'brien/venv/bin/rtcc-wall-gui", "--demo"],
        ['/weird/"quoted"/$HOME/`x`/back\\slash', "100%"],
        ["/usr/bin/python3", "-m", "rtcc_wall"],
    ],
)
def test_exec_quoting_round_trips(argv: list[str]) -> None:
    assert parse_exec(exec_value(argv)) == argv


@needs_validator
def test_entry_for_a_path_with_spaces_and_quotes_validates(tmp_path: Path) -> None:
    argv = ["/opt/rtcc wall/o'brien's \"venv\"/bin/rtcc-wall-gui"]
    f = tmp_path / "rtcc-wall.desktop"
    f.write_text(desktop_entry_text(argv), encoding="utf-8")
    validate(f)
    assert desktop_entry_exec(f.read_text(encoding="utf-8")) == argv


@given(
    st.lists(
        st.text(
            st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
            min_size=1,
            max_size=12,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_exec_quoting_round_trips_any_text(argv: list[str]) -> None:
    assert parse_exec(exec_value(argv)) == argv


def test_unterminated_quote_is_an_error() -> None:
    with pytest.raises(ValueError, match="unterminated quote"):
        parse_exec('"/opt/x')


def test_field_codes_are_dropped() -> None:
    assert parse_exec("/usr/bin/app %U --flag %%literal") == ["/usr/bin/app", "--flag", "%literal"]


# --- Windows ------------------------------------------------------------------------


def _script(argv: Sequence[str]) -> str:
    assert argv[:6] == [
        "powershell.exe",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-EncodedCommand",
    ]
    return base64.b64decode(argv[6]).decode("utf-16-le")


def test_windows_shortcut_command() -> None:
    target = r"C:\Users\o'brien\venv\Scripts\rtcc-wall-gui.exe"
    icon = Path(r"C:\Users\o'brien\venv\Lib\site-packages\rtcc_wall\_bundled\icons\rtcc-wall.ico")
    script = _script(windows_shortcut_command([target], icon, desktop=True))
    assert "New-Object -ComObject WScript.Shell" in script
    assert "@('Programs', 'DesktopDirectory')" in script
    assert r"$lnk.TargetPath = 'C:\Users\o''brien\venv\Scripts\rtcc-wall-gui.exe'" in script
    assert "$lnk.Arguments = ''" in script
    assert f"$lnk.IconLocation = '{str(icon).replace(chr(39), chr(39) * 2)},0'" in script
    assert "Join-Path $dir 'rtcc-wall.lnk'" in script
    assert '"created: $path"' in script

    menu_only = _script(windows_shortcut_command([target], icon, desktop=False))
    assert "@('Programs')" in menu_only
    assert "DesktopDirectory" not in menu_only

    fallback = _script(
        windows_shortcut_command(
            [r"C:\Python 311\pythonw.exe", "-m", "rtcc_wall"], icon, desktop=False
        )
    )
    assert r"$lnk.TargetPath = 'C:\Python 311\pythonw.exe'" in fallback
    assert "$lnk.Arguments = '-m rtcc_wall'" in fallback


def test_windows_gui_command_prefers_the_gui_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts = tmp_path / "venv" / "Scripts"
    scripts.mkdir(parents=True)
    (scripts / "python.exe").write_bytes(b"")
    (scripts / "pythonw.exe").write_bytes(b"")
    monkeypatch.setattr(sys, "executable", str(scripts / "python.exe"))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert launcher.gui_command("win32") == [str(scripts / "pythonw.exe"), "-m", "rtcc_wall"]
    (scripts / "rtcc-wall-gui.exe").write_bytes(b"")
    assert launcher.gui_command("win32") == [str(scripts / "rtcc-wall-gui.exe")]


def test_windows_install_and_uninstall_bookkeeping(home: Path, tmp_path: Path) -> None:
    start_menu = tmp_path / "Start Menu" / "Programs"
    desktop = tmp_path / "Desktop"
    start_menu.mkdir(parents=True)
    desktop.mkdir()
    seen: list[str] = []

    def powershell(argv: Sequence[str]) -> tuple[int, str]:
        """Plays PowerShell: makes the shortcuts the script names and prints them."""
        script = _script(argv)
        seen.append(script)
        made = []
        for folder in (start_menu, desktop):
            if folder is desktop and "DesktopDirectory" not in script:
                continue
            lnk = folder / "rtcc-wall.lnk"
            lnk.write_bytes(b"L\x00\x00\x00")
            made.append(f"created: {lnk}")
        return 0, "\n".join(made)

    result = install_launcher(platform="win32", run=powershell)
    assert sorted(result.created) == sorted(
        [start_menu / "rtcc-wall.lnk", desktop / "rtcc-wall.lnk"]
    )
    assert "rtcc-wall.ico,0'" in seen[0]
    removed = uninstall_launcher(platform="win32", run=powershell)
    assert start_menu / "rtcc-wall.lnk" in removed.removed
    assert not (start_menu / "rtcc-wall.lnk").exists()
    assert not (desktop / "rtcc-wall.lnk").exists()
    assert not launcher.manifest_path().exists()

    def failing(argv: Sequence[str]) -> tuple[int, str]:
        return 1, "New-Object : Retrieving the COM class factory failed"

    with pytest.raises(LauncherError, match="PowerShell could not create the shortcuts.*COM"):
        install_launcher(platform="win32", run=failing)


def test_macos_prints_the_equivalent() -> None:
    result = install_launcher(platform="darwin")
    text = "\n".join(result.messages)
    assert "Script Editor" in text
    assert "Application" in text
    assert launcher.gui_command("darwin")[0] in text
    assert not result.created


def test_windows_icon_holds_every_size() -> None:
    """rtcc-wall.ico (for the .lnk) carries 16-256 px PNG entries, as render_icons.py wrote."""
    data = (resources_dir() / "icons" / "rtcc-wall.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _c, _r, _planes, _bpp, size, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        assert data[offset : offset + 8] == b"\x89PNG\r\n\x1a\n"
        assert offset + size <= len(data)
        sizes.append(w or 256)
        assert (w or 256) == (h or 256)
    assert sorted(sizes) == list(launcher.ICON_SIZES)


def test_a_failed_install_says_where_and_can_be_undone(home: Path) -> None:
    # a folder where the desktop icon should go: the last file cannot be written (even as root)
    (home / "Desktop" / "rtcc-wall.desktop").mkdir()
    with pytest.raises(LauncherError, match=r"cannot write .*/Desktop/rtcc-wall\.desktop: "):
        install_launcher()
    assert apps_entry(home).is_file()  # written before the failure ...
    assert not list((home / "Desktop").glob(".*.tmp")), "no temp file left behind"
    uninstall_launcher()  # ... and found by uninstall through the manifest
    assert not apps_entry(home).exists()
    assert (home / "Desktop" / "rtcc-wall.desktop").is_dir(), "not ours: left alone"
