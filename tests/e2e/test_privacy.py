"""Private cameras on the real app: dark without an incident, live while one is open, gone after.

The app is built as ``rtcc-wall`` builds it (operator, audit log and incident
store in a fresh HOME), on the demo town with its simulated cameras.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from rtcc_wall.core import audit as A
from rtcc_wall.core.cameras import CameraState


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("RTCC_WALL_CONFIG", raising=False)
    monkeypatch.delenv("RTCC_WALL_AUDIT_DB", raising=False)
    monkeypatch.delenv("RTCC_WALL_INCIDENTS_DB", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / ".local" / "share"))
    monkeypatch.setenv("RTCC_WALL_OPERATOR", "officer.test")
    return tmp_path


def test_private_camera_only_while_incident_open(qtbot: QtBot, home: Path) -> None:
    from rtcc_wall.app import create_window, load_for_gui, open_access

    args = argparse.Namespace(
        config=None, demo=True, screenshot=None, after=3.0, layout=None, incident_at=None
    )
    loaded, demo = load_for_gui(args)
    access = open_access(loaded)
    assert str(access.audit.path).startswith(str(home))
    window, manager = create_window(loaded, demo=demo, access=access)
    qtbot.addWidget(window)
    try:
        window.resize(1600, 900)
        window.show()
        qtbot.waitExposed(window)
        cam = loaded.cameras["priv-04"]
        window.wall.set_layout("2x2")
        window.wall.set_cameras(["city-01", cam.id])
        private_tile = window.wall.tiles()[1]
        assert private_tile.state is CameraState.DENIED
        assert "no open incident" in private_tile.status_text()
        assert cam.id not in manager.running_ids()  # nothing decoded for a refused view
        qtbot.waitUntil(lambda: window.wall.tiles()[0].has_live_picture, timeout=15_000)

        # mark the incident next to the camera and open it with a reason
        window.set_incident(cam.x + 30, cam.y)
        assert window.panel.open_button.isEnabled()
        window.panel.case_edit.setText("2026-004711")
        window.panel.reason_edit.setText("Robbery in progress, suspect on foot")
        window.panel.open_button.click()
        qtbot.waitUntil(lambda: private_tile.has_live_picture, timeout=15_000)
        assert window.panel.close_button.isEnabled()

        # closing the incident takes the private camera off the wall within 5 s
        closed_at = time.monotonic()
        window.close_formal_incident("suspect arrested")
        qtbot.waitUntil(lambda: private_tile.state is CameraState.DENIED, timeout=5_000)
        assert time.monotonic() - closed_at < 5
        assert private_tile.current_frame_source_size() is None  # no picture kept on screen
        qtbot.waitUntil(lambda: cam.id not in manager.running_ids(), timeout=5_000)
    finally:
        window.close()
        manager.shutdown()
        access.close()

    events = list(A.read_events(access.audit.path))
    kinds = [e.kind for e in events]
    assert kinds[0] == A.APP_START
    assert kinds[-1] == A.APP_STOP
    assert A.INCIDENT_OPEN in kinds
    assert A.INCIDENT_CLOSE in kinds
    private = [e for e in events if e.camera_id == cam.id]
    assert [e.kind for e in private][:2] == [A.VIEW_DENY, A.VIEW_START]
    assert any(e.kind == A.VIEW_STOP and e.outcome == "incident_closed" for e in private)
    assert all(e.operator == "officer.test" for e in events)
    assert A.verify(access.audit.path).ok


def test_revoked_waiver_stops_the_view_within_5_s(
    qtbot: QtBot, home: Path, demo_config_path: Path
) -> None:
    from rtcc_wall.app import create_window, load_for_gui, open_access

    roads = (demo_config_path.parent / "resources/demo/roads.geojson").resolve()
    text = demo_config_path.read_text().replace(
        "road_network: resources/demo/roads.geojson", f"road_network: {roads}"
    )
    cfg = home / "site.yaml"
    cfg.write_text(text)
    args = argparse.Namespace(
        config=str(cfg), demo=False, screenshot=None, after=3.0, layout=None, incident_at=None
    )
    loaded, demo = load_for_gui(args)
    access = open_access(loaded)
    window, manager = create_window(loaded, demo=demo, access=access)
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitExposed(window)
        cam = loaded.cameras["priv-04"]
        window.wall.set_layout("1x1")
        window.wall.set_cameras([cam.id])
        tile = window.wall.tiles()[0]
        window.set_incident(cam.x + 30, cam.y)
        window.panel.case_edit.setText("2026-1")
        window.panel.reason_edit.setText("Shots fired near the shop")
        window.panel.open_button.click()
        qtbot.waitUntil(lambda: tile.has_live_picture, timeout=15_000)

        # the owner revokes: the administrator edits the config (or imports the registry)
        block = text.index("id: priv-04")
        at = text.index("revoked: false", block)
        cfg.write_text(text[:at] + "revoked: true" + text[at + len("revoked: false") :])
        revoked_at = time.monotonic()
        qtbot.waitUntil(lambda: tile.state is CameraState.DENIED, timeout=5_000)
        assert time.monotonic() - revoked_at < 5
        assert "revoked" in tile.status_text()
    finally:
        window.close()
        manager.shutdown()
        access.close()
    kinds = [e.kind for e in A.read_events(access.audit.path)]
    assert A.CONFIG_CHANGE in kinds


def _site_with(home: Path, demo_config_path: Path, extra_camera_lines: str, access: str) -> Path:
    roads = (demo_config_path.parent / "resources/demo/roads.geojson").resolve()
    text = demo_config_path.read_text().replace(
        "road_network: resources/demo/roads.geojson", f"road_network: {roads}"
    )
    block = text.index("id: priv-04")
    at = text.index("\n", text.index("waiver:", block)) + 1
    text = text[:at] + extra_camera_lines + text[at:]
    # the test's access section replaces the demo's (a key written twice is a config error)
    start = text.index("\naccess:\n") + 1
    end = text.index("\n# ---", start) + 1
    text = text[:start] + access + "\n" + text[end:]
    cfg = home / "site.yaml"
    cfg.write_text(text)
    return cfg


def test_masks_burned_in_and_lifted_by_a_supervisor(
    qtbot: QtBot, home: Path, demo_config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtcc_wall.app import create_window, load_for_gui, open_access
    from rtcc_wall.video.masks import is_mask_colour

    cfg = _site_with(
        home,
        demo_config_path,
        "    masks: [[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]]\n",
        "access:\n  operators:\n    - {name: sup.test, role: supervisor}\n"
        "    - {name: op.test, role: operator}\n",
    )
    monkeypatch.setenv("RTCC_WALL_OPERATOR", "sup.test")
    args = argparse.Namespace(
        config=str(cfg), demo=False, screenshot=None, after=3.0, layout=None, incident_at=None
    )
    loaded, demo = load_for_gui(args)
    access = open_access(loaded)
    window, manager = create_window(loaded, demo=demo, access=access)
    qtbot.addWidget(window)
    cam = loaded.cameras["priv-04"]

    def left_half_masked() -> bool:
        w = manager.worker(cam.id)
        f = w.latest.get() if w is not None else None
        if f is None:
            return False
        m = is_mask_colour(f.image)
        half = f.image.shape[1] // 2
        # (a few scene pixels may happen to share the mask's grey: compare fractions)
        return bool(m[:, : half - 2].all()) and float(m[:, half + 2 :].mean()) < 0.001

    try:
        window.show()
        qtbot.waitExposed(window)
        window.wall.set_layout("1x1")
        window.wall.set_cameras([cam.id])
        window.set_incident(cam.x + 30, cam.y)
        window.panel.case_edit.setText("2026-2")
        window.panel.reason_edit.setText("Robbery")
        window.panel.open_button.click()
        tile = window.wall.tiles()[0]
        qtbot.waitUntil(lambda: tile.has_live_picture, timeout=15_000)
        qtbot.waitUntil(left_half_masked, timeout=5_000)

        assert window.lift_masks(cam.id, "suspect hid in the masked driveway")
        qtbot.waitUntil(lambda: not left_half_masked(), timeout=5_000)
        w = manager.worker(cam.id)
        assert w is not None
        img = w.latest.get().image  # type: ignore[union-attr]
        # the left half shows the scene again (a few scene pixels may share the mask's grey)
        assert float(is_mask_colour(img)[:, : img.shape[1] // 2 - 2].mean()) < 0.05
        window.restore_masks(cam.id)
        qtbot.waitUntil(left_half_masked, timeout=5_000)
    finally:
        window.close()
        manager.shutdown()
        access.close()
    lifts = [e for e in A.read_events(access.audit.path) if e.kind == A.MASK_LIFT]
    assert len(lifts) == 1
    assert lifts[0].operator == "sup.test"
    assert lifts[0].reason == "suspect hid in the masked driveway"
    assert A.verify(access.audit.path).ok


def test_operator_cannot_lift_masks(
    qtbot: QtBot, home: Path, demo_config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtcc_wall.app import create_window, load_for_gui, open_access

    cfg = _site_with(
        home,
        demo_config_path,
        "    masks: [[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0]]]\n",
        "access:\n  operators:\n    - {name: op.test, role: operator}\n",
    )
    monkeypatch.setenv("RTCC_WALL_OPERATOR", "op.test")
    args = argparse.Namespace(
        config=str(cfg), demo=False, screenshot=None, after=3.0, layout=None, incident_at=None
    )
    loaded, demo = load_for_gui(args)
    access = open_access(loaded)
    window, manager = create_window(loaded, demo=demo, access=access)
    qtbot.addWidget(window)
    try:
        assert not window.lift_masks("priv-04", "curious")
        assert "supervisor" in window.messages.history[-1][1].lower() or any(
            "supervisor" in m.lower() for _lvl, m in window.messages.history
        )
    finally:
        window.close()
        manager.shutdown()
        access.close()
    assert not [e for e in A.read_events(access.audit.path) if e.kind == A.MASK_LIFT]
