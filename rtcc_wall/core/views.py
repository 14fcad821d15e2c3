"""Named views and the wall's remembered state (no Qt).

A *view* is what a wall shows: a layout, an ordered camera list (more cameras
than tiles make pages) and optionally a tour (pages cycle every N seconds).

* **Shared views** come from the config file (``views:``), the same for every
  operator at the site, read-only in the app.
* **Personal views** are the operator's own, saved in their config directory
  (``views.yaml``, see ``paths.user_views_path``); saving one with a shared
  view's name is refused.
* **Wall state** is what each wall window showed when the app closed (layout,
  cameras, page, tour), saved as JSON in the user's state directory and
  restored at the next start.

Files are written atomically (temporary file, fsync, rename): a crash never
leaves half a file. A damaged or foreign file is reported with its path and
ignored -- the app starts with defaults rather than not at all.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from rtcc_wall.core.layouts import LAYOUTS

NAME_MAX = 64
TOUR_MIN_S = 2.0
TOUR_MAX_S = 3600.0


class ViewError(ValueError):
    """A view that cannot be used or saved; the message names what is wrong and where."""


@dataclass(frozen=True)
class View:
    name: str
    layout: str
    cameras: tuple[str, ...] = ()
    #: seconds per page of a tour; None = no tour
    tour_seconds: float | None = None
    #: True for views from the config file (read-only in the app)
    shared: bool = False

    def problems(self, known_cameras: Iterable[str] | None = None) -> list[str]:
        out = []
        if not self.name.strip() or len(self.name) > NAME_MAX:
            out.append(f"a view name must be 1-{NAME_MAX} characters")
        if self.layout not in LAYOUTS:
            out.append(f"unknown layout {self.layout!r}; known: {', '.join(LAYOUTS)}")
        if self.tour_seconds is not None and not (
            TOUR_MIN_S <= self.tour_seconds <= TOUR_MAX_S
        ):
            out.append(f"tour_seconds must be between {TOUR_MIN_S:g} and {TOUR_MAX_S:g}")
        if known_cameras is not None:
            known = set(known_cameras)
            out += [f"unknown camera id {c!r}" for c in self.cameras if c not in known]
        return out

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "name": self.name,
            "layout": self.layout,
            "cameras": list(self.cameras),
        }
        if self.tour_seconds is not None:
            d["tour_seconds"] = self.tour_seconds
        return d


def view_from_dict(d: object, *, where: str, shared: bool = False) -> View:
    """A view from its YAML/JSON form; ViewError naming ``where`` and the field otherwise."""
    if not isinstance(d, Mapping):
        raise ViewError(f"{where}: a view must be a mapping with name, layout, cameras")
    extra = set(d) - {"name", "layout", "cameras", "tour_seconds"}
    if extra:
        raise ViewError(f"{where}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
    name, layout = d.get("name"), d.get("layout", "2x2")
    cams, tour = d.get("cameras", []), d.get("tour_seconds")
    if not isinstance(name, str):
        raise ViewError(f"{where}: name must be text")
    if not isinstance(layout, str):
        raise ViewError(f"{where}: layout must be text")
    if not isinstance(cams, list) or not all(isinstance(c, str) for c in cams):
        raise ViewError(f"{where}: cameras must be a list of camera ids")
    if tour is not None and (isinstance(tour, bool) or not isinstance(tour, (int, float))):
        raise ViewError(f"{where}: tour_seconds must be a number")
    view = View(name, layout, tuple(cams), None if tour is None else float(tour), shared)
    problems = view.problems()
    if problems:
        raise ViewError(f"{where}: view {name!r}: " + "; ".join(problems))
    return view


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class PersonalViews:
    """The operator's own views in ``path`` (YAML list under ``views:``)."""

    path: Path
    views: list[View] = field(default_factory=list)
    #: problems met while loading (each names the file); the bad entries are left out
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> PersonalViews:
        store = cls(path)
        if not path.exists():
            return store
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            store.problems.append(f"{path}: cannot read personal views: {e}")
            return store
        items = data.get("views") if isinstance(data, dict) else None
        if not isinstance(items, list):
            store.problems.append(f"{path}: expected 'views:' with a list of views")
            return store
        seen: set[str] = set()
        for i, item in enumerate(items):
            try:
                v = view_from_dict(item, where=f"{path}: views[{i}]")
            except ViewError as e:
                store.problems.append(str(e))
                continue
            if v.name in seen:
                store.problems.append(f"{path}: views[{i}]: a second view named {v.name!r}")
                continue
            seen.add(v.name)
            store.views.append(v)
        return store

    def get(self, name: str) -> View | None:
        return next((v for v in self.views if v.name == name), None)

    def save_view(self, view: View, shared: Sequence[View] = ()) -> None:
        """Adds or replaces ``view`` (by name) and writes the file; ViewError if not allowed."""
        problems = view.problems()
        if problems:
            raise ViewError(f"view {view.name!r}: " + "; ".join(problems))
        if any(s.name == view.name for s in shared):
            raise ViewError(
                f"{view.name!r} is a shared view from the site configuration; "
                "save yours under another name"
            )
        mine = replace(view, shared=False)
        views = [v for v in self.views if v.name != view.name] + [mine]
        self._write(views)
        self.views = views

    def delete(self, name: str) -> bool:
        views = [v for v in self.views if v.name != name]
        if len(views) == len(self.views):
            return False
        self._write(views)
        self.views = views
        return True

    def _write(self, views: list[View]) -> None:
        text = "# rtcc-wall personal views (written by the app)\n" + yaml.safe_dump(
            {"views": [v.to_dict() for v in views]}, sort_keys=False, allow_unicode=True
        )
        _atomic_write(self.path, text)


# ------------------------------------------------------------------ wall state


@dataclass(frozen=True)
class WallSlate:
    """What one wall window shows: enough to bring it back exactly."""

    layout: str
    cameras: tuple[str, ...]
    page: int = 0
    tour_seconds: float | None = None
    tour_paused: bool = False
    #: the named view it came from, if any (shown in the title)
    view_name: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "layout": self.layout,
            "cameras": list(self.cameras),
            "page": self.page,
            "tour_seconds": self.tour_seconds,
            "tour_paused": self.tour_paused,
            "view_name": self.view_name,
        }

    @classmethod
    def from_view(cls, view: View) -> WallSlate:
        return cls(view.layout, view.cameras, 0, view.tour_seconds, False, view.name)


def _slate_from(d: object) -> WallSlate | None:
    if not isinstance(d, dict):
        return None
    layout, cams = d.get("layout"), d.get("cameras")
    if layout not in LAYOUTS or not isinstance(cams, list):
        return None
    if not all(isinstance(c, str) for c in cams):
        return None
    page = d.get("page", 0)
    tour = d.get("tour_seconds")
    name = d.get("view_name")
    return WallSlate(
        str(layout),
        tuple(cams),
        page if isinstance(page, int) and page >= 0 else 0,
        float(tour) if isinstance(tour, (int, float)) and TOUR_MIN_S <= tour <= TOUR_MAX_S
        else None,
        bool(d.get("tour_paused", False)),
        name if isinstance(name, str) else None,
    )  # fmt: skip


@dataclass
class WallState:
    """Slates by window key ("console", "screen:NAME"), saved at exit, restored at start."""

    path: Path
    slates: dict[str, WallSlate] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path, known_cameras: Iterable[str] | None = None) -> WallState:
        state = cls(path)
        if not path.exists():
            return state
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            state.problems.append(f"{path}: cannot read the last session's walls: {e}")
            return state
        windows = data.get("windows") if isinstance(data, dict) else None
        if not isinstance(windows, dict):
            state.problems.append(f"{path}: not a wall-state file (no 'windows')")
            return state
        known = set(known_cameras) if known_cameras is not None else None
        for key, raw in windows.items():
            slate = _slate_from(raw)
            if slate is None:
                state.problems.append(f"{path}: window {key!r}: unusable entry, ignored")
                continue
            if known is not None:
                # cameras removed from the registry since: drop them, keep the rest
                slate = replace(slate, cameras=tuple(c for c in slate.cameras if c in known))
            state.slates[str(key)] = slate
        return state

    def save(self) -> None:
        text = json.dumps(
            {"version": 1, "windows": {k: s.to_dict() for k, s in self.slates.items()}},
            indent=2,
        )
        _atomic_write(self.path, text + "\n")


@dataclass
class ViewLibrary:
    """Shared views (config file, read-only) and the operator's personal views."""

    shared: list[View]
    personal: PersonalViews

    def all(self) -> list[View]:
        return [*self.shared, *self.personal.views]

    def get(self, name: str) -> View | None:
        return next((v for v in self.all() if v.name == name), None)

    def save(self, view: View) -> None:
        self.personal.save_view(view, self.shared)

    def delete(self, name: str) -> bool:
        return self.personal.delete(name)
