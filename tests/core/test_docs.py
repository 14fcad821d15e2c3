"""The user guide stays honest: its pictures exist, its commands exist, its outputs are real.

``docs/make_screenshots.py`` makes every picture and every terminal example of
``docs/user-guide.md`` (about three minutes, so it is not run here). These
tests check, in well under a second each, that what the guide shows still
matches the program: every linked file exists and was made by the script,
every ``rtcc-wall`` command line parses with the real command-line parser,
every option and subcommand the prose names exists, and every terminal example
is the file the script captured.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import re
import shlex
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from rtcc_wall import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GUIDE = DOCS / "user-guide.md"
SCRIPT = DOCS / "make_screenshots.py"
GUIDES = [GUIDE, DOCS / "README.md"]

FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)\)")
CODE = re.compile(r"(?<!`)`(?P<code>[^`\n]+)`(?!`)")


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_screenshots", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_screenshots", mod)
    spec.loader.exec_module(mod)
    return mod


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _guides() -> list[Path]:
    return [g for g in GUIDES if g.is_file()]


def _prose(text: str) -> str:
    """The markdown without its fenced blocks."""
    return FENCE.sub("", text)


# --------------------------------------------------------------------------- links and pictures


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def test_every_linked_file_and_anchor_exists() -> None:
    missing = []
    for guide in _guides():
        text = _text(guide)
        anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", _prose(text), re.MULTILINE)}
        for m in LINK.finditer(_prose(text)):
            target = m["target"]
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            if path and not (guide.parent / path).exists():
                missing.append(f"{guide.name}: {target} (no such file)")
            if anchor and not path and anchor not in anchors:
                missing.append(f"{guide.name}: #{anchor} (no such heading)")
    assert not missing, "\n".join(missing)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def test_every_picture_is_made_by_the_script_and_used_by_the_guide() -> None:
    made = {item.name for item in _script().ITEMS}
    linked = {
        Path(m["target"]).name
        for g in _guides()
        for m in LINK.finditer(_prose(_text(g)))
        if m["target"].startswith("images/") and Path(m["target"]).suffix
    }
    shown = set(_script().guide_output_blocks(_text(GUIDE)))
    assert linked <= made, f"linked but not made by make_screenshots.py: {sorted(linked - made)}"
    unused = made - linked - shown
    assert not unused, f"made by make_screenshots.py but not in the guide: {sorted(unused)}"
    on_disk = {p.name for p in (DOCS / "images").iterdir()}
    assert made <= on_disk, f"run docs/make_screenshots.py: missing {sorted(made - on_disk)}"
    assert on_disk <= made, f"stale files in docs/images: {sorted(on_disk - made)}"


def test_pictures_have_a_sensible_size() -> None:
    for item in _script().ITEMS:
        if item.name.endswith(".png"):
            w, h = _png_size(DOCS / "images" / item.name)
            assert 300 <= w <= 1920, f"{item.name} is {w}x{h}"
            assert 200 <= h <= 1200, f"{item.name} is {w}x{h}"
    # the main window at the size the guide and the app use
    assert _png_size(DOCS / "images" / "wall-demo.png") == (1600, 900)


# --------------------------------------------------------------------------- terminal examples


def test_every_output_block_is_the_captured_output() -> None:
    blocks = _script().guide_output_blocks(_text(GUIDE))
    assert len(blocks) >= 10
    for name, body in blocks.items():
        captured = _text(DOCS / "images" / name)
        assert body.rstrip("\n") == captured.rstrip("\n"), (
            f"the guide's block of {name} differs from docs/images/{name}: "
            "run docs/make_screenshots.py (it refreshes the guide)"
        )
        assert captured.startswith("$ rtcc-wall "), name


def test_no_secret_in_the_docs() -> None:
    """The bad-config example carries a password; only its mask may reach the docs."""
    texts = [_text(p) for p in (DOCS / "images").glob("*.txt")] + [_text(g) for g in _guides()]
    assert not any("hunter2" in t for t in texts)
    assert any("admin:***@" in t for t in texts)  # the redacted form is shown


# --------------------------------------------------------------------------- commands


def _command_lines() -> list[tuple[str, str]]:
    """(where, command line) of every full ``rtcc-wall`` command in a fenced block: the
    ``$ rtcc-wall`` lines of terminal examples, and the lines of shell blocks."""
    out = []
    for guide in _guides():
        for block in FENCE.finditer(_text(guide)):
            for line in block["body"].splitlines():
                s = line.strip()
                if s.startswith("$ "):
                    s = s[2:]
                elif block["lang"] == "text":
                    continue  # a program's output, not a command
                if s.startswith("rtcc-wall ") or s == "rtcc-wall":
                    out.append((guide.name, s.split("  #")[0].strip()))
    return out


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """None if ``parser`` accepts ``argv``, else argparse's complaint."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            parser.parse_args(argv)
    except SystemExit as e:
        return err.getvalue().strip() or f"exit {e.code}"
    return None


def _parser_for(argv: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    subs = cli._sub_parsers()
    if argv and argv[0] in subs:
        return subs[argv[0]][0], argv[1:]
    return cli._gui_parser(), argv


def test_every_command_line_in_the_guide_parses() -> None:
    lines = _command_lines()
    assert len(lines) >= 20
    bad = []
    for where, line in lines:
        argv = cli._join_negative_coords(shlex.split(line)[1:])
        parser, rest = _parser_for(argv)
        problem = _parse(parser, rest)
        if problem:
            bad.append(f"{where}: {line}\n    {problem}")
    assert not bad, "\n".join(bad)


def _subcommand_choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


def _all_parsers() -> list[argparse.ArgumentParser]:
    out = [cli._gui_parser()]
    for parser, _fn in cli._sub_parsers().values():
        out.append(parser)
        out.extend(_subcommand_choices(parser).values())
    return out


def test_every_subcommand_and_option_named_in_the_prose_exists() -> None:
    """In running text, ``rtcc-wall audit verify``, ``export create``, ``rtcc-wall --layout
    1+5``: the subcommand, its verb and every option exist (placeholders like FILE are
    allowed); a lone ``--option`` is an option of some part of the command line."""
    subs = cli._sub_parsers()
    every_option = set().union(*(_options(p) for p in _all_parsers()))
    checked = 0
    bad = []
    for guide in _guides():
        for m in CODE.finditer(_prose(_text(guide))):
            code = m["code"]
            words = code.split()
            if words[0] == "rtcc-wall":
                words = words[1:]
            elif words[0] not in subs:
                if words[0].startswith("--") and re.fullmatch(r"--[a-z][a-z0-9-]*", words[0]):
                    checked += 1
                    if words[0] not in every_option:
                        bad.append(f"{guide.name}: `{code}`: no such option")
                continue
            checked += 1
            if words and words[0] in subs:
                parser = subs[words[0]][0]
                verbs = _subcommand_choices(parser)
                if verbs:
                    if len(words) < 2 or words[1] not in verbs:
                        bad.append(f"{guide.name}: `{code}`: {words[0]} has no verb {words[1:2]}")
                        continue
                    parser = verbs[words[1]]
            elif words and not words[0].startswith("-"):
                bad.append(f"{guide.name}: `{code}`: no subcommand {words[0]!r}")
                continue
            else:
                parser = cli._gui_parser()
            for w in words:
                if w.startswith("--") and w.split("=")[0] not in _options(parser):
                    bad.append(f"{guide.name}: `{code}`: no option {w}")
    assert checked >= 20
    assert not bad, "\n".join(bad)


def test_every_subcommand_is_documented() -> None:
    text = "\n".join(_text(g) for g in _guides())
    missing = [name for name in cli._sub_parsers() if f"rtcc-wall {name}" not in text]
    assert not missing, f"subcommands the guide never shows: {missing}"


# --------------------------------------------------------------------------- the script


@pytest.mark.parametrize("flag", ["--help", "--list"])
def test_the_screenshot_script_runs_without_qt(flag: str) -> None:
    code = (
        "import runpy, sys\n"
        f"sys.argv = [{str(SCRIPT)!r}, {flag!r}]\n"
        "try:\n"
        f"    runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "assert 'PySide6' not in sys.modules, 'the script imported Qt for ' + sys.argv[1]\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    if flag == "--list":
        listed = [ln.split()[0] for ln in r.stdout.splitlines() if ln.strip()]
        assert listed == [i.name for i in _script().ITEMS]
    else:
        assert "docs/images" in r.stdout


def test_refresh_guide_fills_output_blocks(tmp_path: Path) -> None:
    mod = _script()
    (tmp_path / "a.txt").write_text("$ rtcc-wall audit verify\nOK: 3 events, last seq 3\n")
    guide = tmp_path / "guide.md"
    guide.write_text(
        "x\n<!-- output: a.txt -->\n```text\nold\n```\n<!-- output: missing.txt -->\n```text\n```\n"
    )
    assert mod.refresh_guide(tmp_path, guide) == ["a.txt"]
    blocks = mod.guide_output_blocks(guide.read_text())
    assert blocks == {
        "a.txt": "$ rtcc-wall audit verify\nOK: 3 events, last seq 3\n",
        "missing.txt": "",
    }
