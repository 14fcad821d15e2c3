"""The one message path: camera threads and log records reach the status bar."""

from __future__ import annotations

import logging
import threading

from pytestqt.qtbot import QtBot

from rtcc_wall.core.cameras import CameraState
from rtcc_wall.ui.main_window import MainWindow
from rtcc_wall.ui.messages import BridgeLogHandler, MessageBridge
from tests.helpers import qt_objects_reachable
from tests.ui.conftest import FakeManager


def test_camera_state_from_another_thread_reaches_status_bar(
    qtbot: QtBot, demo_loaded, fake_manager: FakeManager
) -> None:  # type: ignore[no-untyped-def]
    bridge = MessageBridge()
    window = MainWindow(demo_loaded, fake_manager, demo=False, messages=bridge)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    t = threading.Thread(
        target=bridge.camera_state,
        args=("city-03", CameraState.AUTH_FAILED, "rtsp://admin:hunter2x@10.0.0.3/s: 401"),
    )
    with qtbot.waitSignal(bridge.posted, timeout=2000):
        t.start()
    t.join()
    qtbot.waitUntil(lambda: "city-03" in window.statusBar().currentMessage())
    text = window.statusBar().currentMessage()
    assert "auth failed" in text
    assert "hunter2x" not in text
    # LIVE is not news: it is on the tile
    bridge.camera_state("city-03", CameraState.LIVE, "")
    assert all("live" not in m for _lvl, m in bridge.history)


def test_warnings_logged_anywhere_reach_the_bridge(qtbot: QtBot) -> None:
    bridge = MessageBridge()
    log = logging.getLogger("rtcc_wall.test_messages")
    handler = BridgeLogHandler(bridge)
    log.addHandler(handler)
    try:
        with qtbot.waitSignal(bridge.posted, timeout=2000) as blocker:
            log.warning("export to %s failed", "http://u:pw99x@h/")
        assert blocker.args[0] == "warning"
        assert "pw99x" not in blocker.args[1]
        log.info("not shown")
        qtbot.wait(50)
        assert len(bridge.history) == 1
        # records come from any thread: the handler must not hold the bridge
        assert qt_objects_reachable(handler) == []
        t = threading.Thread(target=lambda: log.warning("from a camera thread"))
        with qtbot.waitSignal(bridge.posted, timeout=2000) as blocker:
            t.start()
            t.join()
        assert blocker.args == ["warning", "from a camera thread"]
        # one logged on the GUI thread arrives at once, in order with direct posts
        log.warning("first")
        bridge.post("info", "second")
        assert [t for _l, t in bridge.history][-2:] == ["first", "second"]
    finally:
        log.removeHandler(handler)
