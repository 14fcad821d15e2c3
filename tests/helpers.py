"""Small builders shared by tests and benchmarks (not a test module)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rtcc_wall.core.cameras import Camera, Ownership, make_camera
from rtcc_wall.core.geo import LocalProjection

#: Every stream-test camera stands at the origin of this projection.
PROJ = LocalProjection(0.0, 0.0)


def stream_camera(
    cid: str, stream: str, *, name: str | None = None, ownership: Ownership = "city", **extra: Any
) -> Camera:
    """A camera at (0, 0) looking north (60°, 50 m) that plays ``stream``.

    ``extra`` goes to ``make_camera`` unchanged (``sub_stream``, ``masks``, ``waiver`` ...).
    """
    return make_camera(
        id=cid,
        name=name or f"Camera {cid}",
        ownership=ownership,
        lon=0.0,
        lat=0.0,
        heading_deg=0.0,
        fov_deg=60.0,
        range_m=50.0,
        stream=stream,
        projection=PROJ,
        **extra,
    )


def stream_cameras(
    urls: Sequence[str], prefix: str = "cam", name: str = "Camera"
) -> dict[str, Camera]:
    """One city camera per URL, ids ``{prefix}00``, ``{prefix}01``, ..., named ``{name} {i}``."""
    return {
        f"{prefix}{i:02d}": stream_camera(f"{prefix}{i:02d}", url, name=f"{name} {i}")
        for i, url in enumerate(urls)
    }


def qt_objects_reachable(root: object) -> list[object]:
    """The Qt objects (any PySide wrapper: QObject, QPixmap, ...) a worker holding
    ``root`` keeps alive, other than the posters' relay.

    Follows strong references (closure cells and defaults of functions, not their
    module globals; not into modules or classes). A worker thread must not hold a Qt
    object: holding the last reference, it would destroy it on its own thread.
    """
    import contextlib
    import gc
    import sys
    import types

    import shiboken6

    from rtcc_wall.ui import gui_thread

    module_dicts = {id(m.__dict__) for m in list(sys.modules.values()) if m is not None}
    seen: set[int] = set()
    found: list[object] = []
    stack = [root]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, type | types.ModuleType) or id(o) in module_dicts:
            continue
        seen.add(id(o))
        if isinstance(o, shiboken6.Object):
            if not isinstance(o, gui_thread._Relay):
                found.append(o)
            continue
        if isinstance(o, types.FunctionType):
            for cell in o.__closure__ or ():
                with contextlib.suppress(ValueError):  # an empty cell
                    stack.append(cell.cell_contents)
            stack.extend(o.__defaults__ or ())
            stack.extend((o.__kwdefaults__ or {}).values())
            continue
        stack.extend(gc.get_referents(o))
    return found


def refuse_audit_writes(db: object) -> None:
    """Makes the audit database at ``db`` refuse every new row (a real write failure)."""
    import sqlite3

    raw = sqlite3.connect(str(db))
    try:
        raw.execute(
            "CREATE TRIGGER no_more BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
        raw.commit()
    finally:
        raw.close()


def rewrite_manifests(bag: object, *names: str) -> None:
    """What a forger does after changing an export's files: recompute the BagIt manifests
    ``names`` (default both; the tag manifest lists the manifest, so it goes second)."""
    import hashlib
    from pathlib import Path

    root = Path(str(bag))
    for name in names or ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        rels = [ln.split("  ", 1)[1] for ln in (root / name).read_text().splitlines()]
        lines = [f"{hashlib.sha256((root / r).read_bytes()).hexdigest()}  {r}\n" for r in rels]
        (root / name).write_text("".join(lines))
