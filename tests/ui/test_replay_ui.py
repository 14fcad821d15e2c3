"""The replay viewer on a real camera: gst-rtsp-server -> StreamManager -> ring -> ReplayDialog.

Nothing is faked: the camera is the test RTSP server's 640x360 clip, the ring
is filled by the real worker, pictures are decoded by PyAV on the dialog's
thread and the dialog is a real (offscreen) Qt window driven by keys and
clicks.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from rtcc_wall.core import audit as A
from rtcc_wall.core.cameras import Camera, CameraState, MaskPolygons, Ownership
from rtcc_wall.ui.replay import (
    ReplayDialog,
    ReplayUnavailable,
    open_replay,
    replay_status_text,
    replay_unavailable,
)
from rtcc_wall.video.manager import StreamManager
from rtcc_wall.video.masks import MASK_BGRA, is_mask_colour
from tests.helpers import qt_objects_reachable, refuse_audit_writes, stream_camera
from tests.servers.rtsp import RtspServer

#: The right third of the picture, top to bottom.
RIGHT_THIRD: MaskPolygons = (((2 / 3, 0.0), (1.0, 0.0), (1.0, 1.0), (2 / 3, 1.0)),)


def camera(
    url: str, *, cid: str = "cam-r", ownership: Ownership = "city", masks: MaskPolygons = ()
) -> Camera:
    return stream_camera(cid, url, name=f"Replay test {cid}", ownership=ownership, masks=masks)


@pytest.fixture
def running(rtsp_server_shared: RtspServer) -> Iterator[tuple[StreamManager, Camera]]:
    """A real manager playing the server's /cam clip with masks, ring of 8 s holding >= 3 s."""
    cam = camera(rtsp_server_shared.url("/cam"), masks=RIGHT_THIRD)
    m = StreamManager({cam.id: cam}, network_provider=None, replay_seconds=8.0)
    try:
        m.acquire(cam.id, "tile")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            ring = m.replay(cam.id)
            if ring is not None and ring.seconds_held >= 3.0:
                break
            time.sleep(0.05)  # a plain thread fills it; no Qt event loop needed yet
        ring = m.replay(cam.id)
        assert ring is not None
        assert ring.seconds_held >= 3.0
        yield m, cam
    finally:
        assert m.shutdown()


@pytest.fixture
def dialogs() -> Iterator[list[ReplayDialog]]:
    """Replay dialogs a test opened; those still open are closed after it (they delete
    themselves when closed, so they are not handed to ``qtbot.addWidget``)."""
    opened: list[ReplayDialog] = []
    yield opened
    for d in opened:
        if not d.is_closed:
            d.reject()


def has_replay(manager: StreamManager, camera_id: str) -> bool:
    ring = manager.replay(camera_id)
    return ring is not None and ring.snapshot() is not None


def playing(dialog: ReplayDialog) -> bool:
    """(A function, so that mypy does not narrow the property between key presses.)"""
    return dialog.playing


def _grab(widget: QWidget) -> np.ndarray:
    """The widget as rendered, (h, w, 4) BGRA, copied out of the QImage it was drawn into."""
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes())
    rows = arr.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 4]
    return rows.reshape(img.height(), img.width(), 4).copy()


def test_replay_dialog_scrubs_steps_plays_and_masks(
    qtbot: QtBot, running: tuple[StreamManager, Camera], dialogs: list[ReplayDialog]
) -> None:
    manager, cam = running
    dialog = open_replay(cam, manager, lambda: RIGHT_THIRD)
    dialogs.append(dialog)
    dialog.resize(1000, 700)
    qtbot.waitExposed(dialog)
    n = len(dialog.times)
    assert n >= 3 * 15 - 2
    assert dialog.snapshot.packets[0].keyframe
    # the decode thread holds no Qt object (it could be the last holder, see gui_thread)
    assert qt_objects_reachable(dialog._decoder._thread._target) == []  # type: ignore[attr-defined]

    # opens playing, 10 s before the newest picture (here: the oldest, the ring is short)
    assert playing(dialog)
    qtbot.waitUntil(lambda: dialog.shown_index >= 0, timeout=5000)
    assert "REPLAY — NOT LIVE" in dialog.banner.text()
    assert "behind live" in dialog.banner.text()
    assert "NOT LIVE" in dialog.windowTitle()

    # Space pauses; the slider scrubs to the end, then to the middle
    qtbot.keyClick(dialog, Qt.Key.Key_Space)
    assert not playing(dialog)
    dialog.slider.setValue(n - 1)
    qtbot.waitUntil(lambda: dialog.shown_index == n - 1, timeout=5000)
    dialog.slider.setValue(n // 2)
    qtbot.waitUntil(lambda: dialog.shown_index == n // 2, timeout=5000)
    shown = dialog.shown_time()
    assert shown == dialog.times[n // 2]
    behind = dialog.behind_live()
    assert behind is not None
    assert behind >= dialog.times[-1] - shown
    assert time.strftime("%H:%M:%S", time.localtime(shown)) in dialog.banner.text()

    # Left / Right step one frame, also across a GOP boundary (decoded from its key frame)
    qtbot.keyClick(dialog, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: dialog.shown_index == n // 2 - 1, timeout=5000)
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: dialog.shown_index == n // 2 + 1, timeout=5000)
    first_key_gop_end = next(i for i, p in enumerate(dialog.snapshot.packets) if i and p.keyframe)
    dialog.slider.setValue(first_key_gop_end)
    qtbot.waitUntil(lambda: dialog.shown_index == first_key_gop_end, timeout=5000)
    qtbot.keyClick(dialog, Qt.Key.Key_Left)  # back into the previous GOP
    qtbot.waitUntil(lambda: dialog.shown_index == first_key_gop_end - 1, timeout=5000)
    assert dialog.slider.value() == first_key_gop_end - 1

    # the picture on screen has the camera's masks burned in
    pic = dialog.view.picture
    assert pic is not None
    assert pic.shape[:2] == (360, 640)
    masked = is_mask_colour(pic)
    assert masked[:, 432:].all()  # right third (grown by a pixel)
    assert masked[:, :420].mean() < 0.01
    screen = _grab(dialog.view)
    r = dialog.view.picture_rect()
    cx, cy = r.left() + r.width() * 5 // 6, r.center().y()
    b, g, red = (int(v) for v in screen[cy, cx, :3])
    assert max(b, g, red) <= 70
    assert max(b, g, red) - min(b, g, red) <= 4  # the mask's grey, not the test pattern
    assert (b, g, red) != (0, 0, 0)
    assert MASK_BGRA[0] - 2 <= min(b, g, red)

    # play at 2x: the picture moves on by itself
    dialog.set_speed(2.0)
    qtbot.keyClick(dialog, Qt.Key.Key_Space)
    assert playing(dialog)
    start = dialog.shown_index
    qtbot.waitUntil(lambda: dialog.shown_index >= start + 10, timeout=5000)

    # Esc: back to live, the decode thread ends
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: dialog.is_closed, timeout=2000)
    assert not dialog.decoder_running


def test_buttons_step_and_back_to_live(
    qtbot: QtBot, running: tuple[StreamManager, Camera], dialogs: list[ReplayDialog]
) -> None:
    manager, cam = running
    dialog = ReplayDialog(cam, manager, None)  # no provider: the configured masks still apply
    dialogs.append(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.play_button.click()
    assert not playing(dialog)
    assert dialog.play_button.text().endswith("Play")
    dialog.slider.setValue(5)
    qtbot.waitUntil(lambda: dialog.shown_index == 5, timeout=5000)
    dialog.back_button.click()
    qtbot.waitUntil(lambda: dialog.shown_index == 4, timeout=5000)
    dialog.forward_button.click()
    dialog.forward_button.click()
    qtbot.waitUntil(lambda: dialog.shown_index == 6, timeout=5000)
    pic = dialog.view.picture
    assert pic is not None
    assert is_mask_colour(pic)[:, 432:].all()
    assert "privacy masks applied" in dialog.info_label.text()
    dialog.live_button.click()
    qtbot.waitUntil(lambda: dialog.is_closed, timeout=2000)
    assert not dialog.decoder_running


def test_private_replay_closes_when_the_view_ends(
    qtbot: QtBot, rtsp_server_shared: RtspServer, dialogs: list[ReplayDialog]
) -> None:
    cam = camera(rtsp_server_shared.url("/cam"), cid="priv-r", ownership="private")
    m = StreamManager({cam.id: cam}, network_provider=None, replay_seconds=5.0)
    try:
        m.acquire(cam.id, "tile")
        qtbot.waitUntil(lambda: (r := m.replay(cam.id)) is not None and r.snapshot() is not None,
                        timeout=10_000)  # fmt: skip
        ring = m.replay(cam.id)
        assert ring is not None
        dialog = open_replay(cam, m, lambda: ())
        dialogs.append(dialog)
        qtbot.waitUntil(lambda: dialog.shown_index >= 0, timeout=5000)
        reasons: list[str] = []
        dialog.closed_for_privacy.connect(reasons.append)
        m.release(cam.id, "tile")  # the incident closed: the tile let go of the camera
        assert ring.total_bytes == 0  # at once, before the dialog even noticed
        qtbot.waitUntil(lambda: dialog.is_closed, timeout=2000)
        assert reasons
        assert "ended" in reasons[0]
        assert dialog.view.picture is None
        assert not dialog.decoder_running
        assert m.replay_total_bytes() == 0
    finally:
        assert m.shutdown()


def test_nothing_to_replay_says_why(qtbot: QtBot, rtsp_server_shared: RtspServer) -> None:
    cam = camera(rtsp_server_shared.url("/cam"))
    off = StreamManager({cam.id: cam}, network_provider=None, replay_seconds=0)
    on = StreamManager({cam.id: cam}, network_provider=None, replay_seconds=30)
    try:
        assert replay_status_text(off) == "Replay off"
        assert "wall.replay_seconds is 0" in (replay_unavailable(cam, off) or "")
        with pytest.raises(ReplayUnavailable, match="not playing on the wall"):
            open_replay(cam, on, None)
        assert replay_status_text(on) == "Replay 30 s · 0.0 MB"
        w = on.acquire(cam.id, "tile")
        qtbot.waitUntil(lambda: w.state is CameraState.LIVE, timeout=10_000)
        qtbot.waitUntil(lambda: on.replay_total_bytes() > 100_000, timeout=10_000)
        mb = on.replay_total_bytes() / 2**20
        assert replay_status_text(on) in (
            f"Replay 30 s · {mb:.1f} MB",
            f"Replay 30 s · {mb + 0.1:.1f} MB",
        )
    finally:
        assert off.shutdown()
        assert on.shutdown()


def test_private_camera_in_the_app_keeps_nothing_after_the_incident_closes(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialogs: list[ReplayDialog]
) -> None:
    """The app as ``rtcc-wall --demo`` builds it: the private camera's ring exists only
    while the incident allows the view, and is empty the moment the view ends."""
    from rtcc_wall.app import create_window, load_for_gui, open_access

    for var in ("RTCC_WALL_CONFIG", "RTCC_WALL_AUDIT_DB", "RTCC_WALL_INCIDENTS_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / ".local" / "share"))
    monkeypatch.setenv("RTCC_WALL_OPERATOR", "officer.test")
    args = argparse.Namespace(
        config=None, demo=True, screenshot=None, after=3.0, layout=None, incident_at=None
    )
    loaded, demo = load_for_gui(args)
    assert loaded.config.wall.replay_seconds == 60
    access = open_access(loaded)
    window, manager = create_window(loaded, demo=demo, access=access)
    qtbot.addWidget(window)
    try:
        window.resize(1400, 800)
        window.show()
        qtbot.waitExposed(window)
        cam = loaded.cameras["priv-04"]
        window.wall.set_layout("1x1")
        window.wall.set_cameras([cam.id])
        tile = window.wall.tiles()[0]
        assert tile.state is CameraState.DENIED
        assert manager.replay(cam.id) is None  # nothing buffered of a refused view
        window.set_incident(cam.x + 30, cam.y)
        window.panel.case_edit.setText("2026-0815")
        window.panel.reason_edit.setText("Burglary alarm at the corner store")
        window.panel.open_button.click()
        qtbot.waitUntil(lambda: tile.has_live_picture, timeout=15_000)
        # the app's camera threads hold no Qt object (their on_state is a poster)
        assert manager._workers
        assert manager._watchdog is not None
        for worker in [*manager._workers.values()]:
            assert qt_objects_reachable(worker._thread) == []
        assert qt_objects_reachable(manager._watchdog) == []
        ring = manager.replay(cam.id)
        assert ring is not None
        qtbot.waitUntil(lambda: ring.snapshot() is not None, timeout=10_000)
        snap = ring.snapshot()
        assert snap is not None
        assert snap.encoded_here  # a sim camera: pictures encoded for the ring
        opened = window.open_replay(cam.id)  # as the tile menu's "Instant replay…" does
        assert isinstance(opened, ReplayDialog)
        dialog = opened
        dialogs.append(dialog)
        qtbot.waitUntil(lambda: dialog.shown_index >= 0, timeout=5000)
        ev = list(A.read_events(access.audit.path))[-1]
        formal = access.session.incident
        assert formal is not None
        assert (ev.kind, ev.camera_id, ev.incident_id, ev.ownership, ev.outcome) == (
            A.REPLAY_OPEN, cam.id, formal.id, "private", "opened",
        )  # fmt: skip
        assert ev.reason == "Burglary alarm at the corner store"
        span = A.parse_ts(ev.detail["buffer_to"]) - A.parse_ts(ev.detail["buffer_from"])
        assert abs(span.total_seconds() - (dialog.times[-1] - dialog.times[0])) < 0.001

        window.close_formal_incident("alarm was false")
        qtbot.waitUntil(lambda: tile.state is CameraState.DENIED, timeout=5_000)
        assert ring.total_bytes == 0
        assert ring.snapshot() is None
        assert manager.replay(cam.id) is None
        qtbot.waitUntil(lambda: dialog.is_closed, timeout=2_000)
        assert dialog.view.picture is None
        closes = [e for e in A.read_events(access.audit.path) if e.kind == A.REPLAY_CLOSE]
        assert [(e.camera_id, e.outcome, e.detail["replay_id"]) for e in closes] == [
            (cam.id, "view_ended", ev.detail["replay_id"])
        ]

        # no audit log, no replay (here a city camera's, the log refusing every write)
        city = loaded.cameras["city-06"]
        window.wall.set_cameras([city.id])
        qtbot.waitUntil(lambda: has_replay(manager, city.id), timeout=15_000)
        refuse_audit_writes(access.audit.path)
        assert window.open_replay(city.id) is None
        assert window.messages.history[-1] == ("error", "Audit log unavailable: replay refused")
        assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, ReplayDialog)
                    and w.isVisible()]  # fmt: skip

        # the log writable again: a replay open when the app stops closes as app_stop
        raw = sqlite3.connect(access.audit.path)
        raw.execute("DROP TRIGGER no_more")
        raw.commit()
        raw.close()
        assert isinstance(window.open_replay(city.id), ReplayDialog)
    finally:
        window.close()
        manager.shutdown()
        access.close()
    last = [e for e in A.read_events(access.audit.path) if e.kind == A.REPLAY_CLOSE][-1]
    assert (last.camera_id, last.outcome) == (city.id, "app_stop")
