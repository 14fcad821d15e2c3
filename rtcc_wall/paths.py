"""Where the bundled demo and the user's configuration are found."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "rtcc-wall"
_PKG = Path(__file__).resolve().parent


def bundled_root() -> Path:
    """Folder holding ``config.example.yaml`` and ``resources/``.

    In a wheel they are carried inside the package (``_bundled``); in a source
    checkout or an editable install they sit at the repository root.
    """
    inside = _PKG / "_bundled"
    if (inside / "config.example.yaml").is_file():
        return inside
    return _PKG.parent


def demo_config_path() -> Path:
    return bundled_root() / "config.example.yaml"


def resources_dir() -> Path:
    return bundled_root() / "resources"


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.yaml"


def user_views_path() -> Path:
    """The operator's personal named views (YAML), beside their config file."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "views.yaml"


def user_state_path() -> Path:
    """What the wall showed when the app last closed (JSON), restored at the next start."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "wall-state.json"


def discover_config(explicit: str | None) -> tuple[Path, str]:
    """Which config to use and why: --config, $RTCC_WALL_CONFIG, the user's file, the demo.

    Returns (path, origin) with origin one of "argument", "environment", "user", "demo".
    """
    if explicit:
        return Path(explicit).expanduser(), "argument"
    env = os.environ.get("RTCC_WALL_CONFIG", "").strip()
    if env:  # a launcher or service file may carry a literal "~"
        return Path(env).expanduser(), "environment"
    user = user_config_path()
    if user.is_file():
        return user, "user"
    return demo_config_path(), "demo"
