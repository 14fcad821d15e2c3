"""Test setup shared by every test.

Qt runs on the offscreen platform (no display needed). Tests under tests/ui
and tests/e2e are marked ``gui`` automatically, so ``pytest -m "not gui"``
runs the Qt-free core alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("RTCC_WALL_LOG", "WARNING")

#: Real local servers (RTSP, MJPEG, stalling proxies) for the video tests.
pytest_plugins = ["tests.servers.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config.example.yaml"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "ui" in parts or "e2e" in parts:
            item.add_marker(pytest.mark.gui)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _private_state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wall state (what the walls showed at exit) never leaks between tests or from the user."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(scope="session")
def demo_config_path() -> Path:
    return DEMO_CONFIG


@pytest.fixture(scope="session")
def demo_loaded():  # type: ignore[no-untyped-def]
    from rtcc_wall.config.loader import load_config

    return load_config(DEMO_CONFIG)
