"""The layers stay apart: core/config import no Qt and no cv2; only ui/ imports Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "rtcc_wall"
FORBIDDEN = {
    "core": {"PySide6", "cv2", "av", "rtcc_wall.ui", "rtcc_wall.video"},
    "config": {"PySide6", "cv2", "av", "rtcc_wall.ui", "rtcc_wall.video"},
    "video": {"PySide6", "rtcc_wall.ui"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer: str) -> None:
    bad = []
    for f in sorted((PKG / layer).rglob("*.py")):
        for mod in _imports(f):
            if any(mod == b or mod.startswith(b + ".") for b in FORBIDDEN[layer]):
                bad.append(f"{f.relative_to(PKG.parent)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_qt_only_in_ui() -> None:
    bad = [
        str(f.relative_to(PKG.parent))
        for f in PKG.rglob("*.py")
        if "ui" not in f.relative_to(PKG).parts[:1]
        and f.name != "app.py"  # imports Qt lazily, in phase two of the start
        and any(m.split(".")[0] == "PySide6" for m in _imports(f))
    ]
    assert not bad


def test_core_runs_without_qt_or_cv2() -> None:
    """Importing the core and config never pulls Qt or cv2 into the process."""
    code = (
        "import sys, rtcc_wall.core.spatial, rtcc_wall.core.roads, rtcc_wall.core.incidents, "
        "rtcc_wall.config.loader, rtcc_wall.cli\n"
        "bad = [m for m in ('PySide6', 'cv2', 'av') if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
