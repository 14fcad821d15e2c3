"""The export dialog on a real camera: gst-rtsp-server -> StreamManager -> ring -> ExportDialog.

The dialog is driven as an operator would (type a reason, pick options, click
Export or Cancel); the export runs on its thread for real and the folder it
reports is checked with the verifier, the audit log and PyAV.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from rtcc_wall.core import audit as A
from rtcc_wall.core import export as E
from rtcc_wall.core.access import AccessPolicy, Incident, Operator
from rtcc_wall.core.cameras import Camera, MaskPolygons, Ownership, WaiverInfo
from rtcc_wall.core.session import AccessSession
from rtcc_wall.ui.export_dialog import ExportDialog, ExportUnavailable, open_export
from rtcc_wall.video.manager import StreamManager
from rtcc_wall.video.replay import PictureEncoder, ReplayRing, ReplaySnapshot
from tests.helpers import qt_objects_reachable, stream_camera
from tests.servers.rtsp import RtspServer

LEFT_HALF: MaskPolygons = (((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)),)
INCIDENT = Incident(
    "INC-20261127-0009", 10.0, 0.0, dt.datetime(2026, 11, 27, tzinfo=dt.UTC), "C-9", "theft", "r"
)


def camera(
    url: str, *, cid: str = "cam-x", ownership: Ownership = "city", masks: MaskPolygons = LEFT_HALF
) -> Camera:
    return stream_camera(
        cid, url, name=f"Export test {cid}", ownership=ownership, masks=masks,
        waiver=WaiverInfo("W-9", "2020-01-01", None, False) if ownership == "private" else None,
    )  # fmt: skip


@pytest.fixture
def log(tmp_path: Path) -> Iterator[A.AuditLog]:
    with A.AuditLog(tmp_path / "audit.sqlite3") as lg:
        yield lg


def session(
    log: A.AuditLog, cam: Camera, role: str = "operator", incident: bool = True
) -> AccessSession:
    s = AccessSession(
        operator=Operator(f"j.{role}", role),  # type: ignore[arg-type]
        policy=AccessPolicy(), audit=log, cameras={cam.id: cam},
    )  # fmt: skip
    s.set_incident(INCIDENT if incident else None, "theft in progress")
    return s


@pytest.fixture
def running(rtsp_server_shared: RtspServer) -> Iterator[tuple[StreamManager, Camera]]:
    """A real manager playing the server's /cam clip, its replay ring holding >= 2 s."""
    cam = camera(rtsp_server_shared.url("/cam"))
    m = StreamManager({cam.id: cam}, network_provider=None, replay_seconds=8.0)
    try:
        m.acquire(cam.id, "tile")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            ring = m.replay(cam.id)
            if ring is not None and ring.seconds_held >= 2.0:
                break
            time.sleep(0.05)  # the worker thread fills it; no Qt event loop needed
        yield m, cam
    finally:
        assert m.shutdown()


def finished(d: ExportDialog) -> bool:
    return not d.running and (d.outcome is not None or d.error is not None)


def test_masked_clip_from_the_wall_with_progress_and_verification(
    qtbot: QtBot, running: tuple[StreamManager, Camera], log: A.AuditLog, tmp_path: Path
) -> None:
    manager, cam = running
    d = open_export(cam, manager, session(log, cam), site_name="Testville")
    qtbot.addWidget(d)
    d.dir_edit.setText(str(tmp_path / "out"))
    assert not d.export_button.isEnabled()  # no reason yet
    assert d.export_button.toolTip() == "State a reason for the export"
    assert d.masked_radio.isChecked()
    assert not d.unmasked_radio.isEnabled()  # an operator, not a supervisor
    qtbot.keyClicks(d.reason_edit, "Suspect's car passes the camera")
    assert d.export_button.isEnabled()
    progress: list[int] = []
    d.progress.valueChanged.connect(progress.append)
    with qtbot.waitSignal(d.exported, timeout=30_000):
        qtbot.mouseClick(d.export_button, Qt.MouseButton.LeftButton)
    res = d.outcome
    assert res is not None
    assert progress[-1] == 1000
    assert "verified: every file matches its SHA-256" in d.status_label.text()
    assert str(res.path) in d.status_label.text()
    assert d.open_button.isVisible()
    assert E.verify(res.path) == []
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["files"][0]["masked"] is True
    assert meta["incident"]["id"] == INCIDENT.id
    assert meta["site"] == "Testville"
    with av.open(str(res.path / "data/clip.mp4")) as c:
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    assert len(frames) >= 20
    left, right = frames[-1][:, 8:300], frames[-1][:, 340:]
    assert left.std() < 12  # the masked half: flat grey with a faint hatch
    assert right.std() > 40  # the test pattern
    ev = list(A.read_events(log.path))[-1]
    assert (ev.kind, ev.operator, ev.reason) == (
        A.EXPORT,
        "j.operator",
        "Suspect's car passes the camera",
    )


def test_supervisor_snapshot_unmasked(
    qtbot: QtBot, running: tuple[StreamManager, Camera], log: A.AuditLog, tmp_path: Path
) -> None:
    manager, cam = running
    d = open_export(cam, manager, session(log, cam, "supervisor"))
    qtbot.addWidget(d)
    d.dir_edit.setText(str(tmp_path / "out"))
    assert d.unmasked_radio.isEnabled()
    d.snapshot_radio.setChecked(True)
    d.unmasked_radio.setChecked(True)
    d.reason_edit.setText("plate readable without the mask")
    with qtbot.waitSignal(d.exported, timeout=30_000):
        d.export_button.click()
    res = d.outcome
    assert res is not None
    assert res.name.endswith("_snapshot-unmasked")
    assert (res.path / "data/snapshot.png").is_file()
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["privacy_masks"]["masked"] is False
    ev = list(A.read_events(log.path))[-1]
    assert (ev.kind, ev.detail["masked"], ev.detail["kind"]) == (A.EXPORT, False, "snapshot")


def encoded_snapshot(cam_id: str, seconds: int, size: tuple[int, int]) -> ReplaySnapshot:
    """A ring filled by the real x264 encoder with moving noise (hard to compress, slow)."""
    ring = ReplayRing(cam_id, seconds + 10)
    enc = PictureEncoder(ring, fps=10, box=size, bitrate=4_000_000)
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    t0 = time.time() - seconds
    for i in range(seconds * 10):
        enc.encode(np.roll(noise, 7 * i, axis=1), t0 + i / 10)
    snap = ring.snapshot()
    assert snap is not None
    return snap


def test_refusal_is_shown_and_nothing_written(
    qtbot: QtBot, log: A.AuditLog, tmp_path: Path
) -> None:
    cam = camera("sim://", cid="priv-9", ownership="private")
    d = ExportDialog(
        cam, encoded_snapshot(cam.id, 2, (320, 180)), session(log, cam, incident=False),
        out_dir=tmp_path / "out",
    )  # fmt: skip
    qtbot.addWidget(d)
    assert "No incident is being worked" in d.incident_label.text()
    d.reason_edit.setText("curious")
    d.export_button.click()
    qtbot.waitUntil(lambda: finished(d), timeout=10_000)
    assert d.outcome is None
    assert d.status_label.text() == "Refused: priv-9: Private camera: no open incident"
    assert list((tmp_path / "out").iterdir()) == []
    ev = list(A.read_events(log.path))[-1]
    assert (ev.kind, ev.outcome) == (A.EXPORT_DENY, "no_incident")


def test_cancel_stops_the_export_and_leaves_nothing(
    qtbot: QtBot, log: A.AuditLog, tmp_path: Path
) -> None:
    cam = camera("sim://")
    d = ExportDialog(cam, encoded_snapshot(cam.id, 20, (1280, 720)), session(log, cam),
                     out_dir=tmp_path / "out")  # fmt: skip
    qtbot.addWidget(d)
    d.reason_edit.setText("evidence")
    d.last_spin.setValue(20)
    assert d.start_export()
    assert d.cancel_button.text() == "Cancel"
    assert not d.export_button.isEnabled()
    assert not d.reason_edit.isEnabled()
    qtbot.waitUntil(lambda: d.progress.value() > 0, timeout=20_000)
    qtbot.mouseClick(d.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: finished(d), timeout=20_000)
    assert d.outcome is None
    assert d.status_label.text() == "Export cancelled; nothing was written"
    assert d.cancel_button.text() == "Close"
    assert list((tmp_path / "out").iterdir()) == []
    assert A.EXPORT not in [e.kind for e in A.read_events(log.path)]


def test_a_dialog_freed_mid_export_is_freed_on_the_gui_thread_and_stops_it(
    qtbot: QtBot, log: A.AuditLog, tmp_path: Path
) -> None:
    """The export thread holds no reference to the dialog: CI crashed when it held the
    last one and destroyed the QDialog on its own thread (in the middle of processEvents).
    A dialog deleted without being closed cancels its export, as closing it does."""
    cam = camera("sim://")
    d = ExportDialog(cam, encoded_snapshot(cam.id, 20, (1280, 720)), session(log, cam),
                     out_dir=tmp_path / "out")  # fmt: skip
    d.reason_edit.setText("evidence")
    d.last_spin.setValue(20)
    assert d.start_export()
    thread = d._thread
    assert thread is not None
    assert qt_objects_reachable(thread) == []
    freed: list[tuple[str, bool]] = []
    weakref.finalize(d, lambda: freed.append((threading.current_thread().name, thread.is_alive())))
    del d  # not closed: the last reference goes
    gc.collect()
    # freed here, while the export ran (20 s of 720p noise take seconds to re-encode)
    assert freed == [("MainThread", True)]
    thread.join(20)
    assert not thread.is_alive()
    qtbot.wait(50)  # its last posts find no dialog and are dropped
    assert list((tmp_path / "out").iterdir()) == []
    assert A.EXPORT not in [e.kind for e in A.read_events(log.path)]


def test_time_range_and_revoke(qtbot: QtBot, log: A.AuditLog, tmp_path: Path) -> None:
    cam = camera("sim://")
    snap = encoded_snapshot(cam.id, 6, (320, 180))
    d = ExportDialog(cam, snap, session(log, cam), out_dir=tmp_path / "out")
    qtbot.addWidget(d)
    first, last = snap.start_time(), snap.end_time()
    assert first is not None
    assert last is not None
    assert d.last_spin.maximum() == 6
    d.last_spin.setValue(3)
    t0, t1 = d.time_range()
    assert (t0, t1) == (pytest.approx(last - 3), last)
    d.range_radio.setChecked(True)
    assert d.from_edit.isEnabled()
    assert not d.last_spin.isEnabled()
    d.to_edit.setDateTime(d.from_edit.minimumDateTime())
    d.from_edit.setDateTime(d.from_edit.maximumDateTime())
    d.reason_edit.setText("r")
    assert not d.export_button.isEnabled()
    assert d.export_button.toolTip() == "The range ends before it starts"
    d.from_edit.setDateTime(d.from_edit.minimumDateTime())
    d.to_edit.setDateTime(d.to_edit.maximumDateTime())
    assert d.export_button.isEnabled()
    d.revoke("The view of cam-x ended")
    assert d.snapshot is None
    assert not d.export_button.isEnabled()
    assert not d.start_export()
    assert d.status_label.text() == "The view of cam-x ended"


def test_camera_without_masks_has_nothing_to_choose(
    qtbot: QtBot, log: A.AuditLog, tmp_path: Path
) -> None:
    cam = camera("sim://", masks=())
    d = ExportDialog(cam, encoded_snapshot(cam.id, 2, (320, 180)), session(log, cam, "supervisor"),
                     out_dir=tmp_path / "out")  # fmt: skip
    qtbot.addWidget(d)
    assert not d.masked_radio.isEnabled()
    assert not d.unmasked_radio.isEnabled()
    assert "no privacy masks" in d.privacy_hint.text()


def test_nothing_to_export_says_why(
    qtbot: QtBot, rtsp_server_shared: RtspServer, log: A.AuditLog
) -> None:
    cam = camera(rtsp_server_shared.url("/cam"))
    off = StreamManager({cam.id: cam}, network_provider=None, replay_seconds=0)
    on = StreamManager({cam.id: cam}, network_provider=None, replay_seconds=30)
    s = session(log, cam)
    try:
        with pytest.raises(ExportUnavailable, match="replay_seconds is 0"):
            open_export(cam, off, s)
        with pytest.raises(ExportUnavailable, match="it is not on the wall"):
            open_export(cam, on, s)
    finally:
        off.shutdown()
        on.shutdown()
