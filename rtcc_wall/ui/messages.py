"""One message path: everything the operator should read reaches the status bar here.

Camera state changes (from camera threads), warnings logged anywhere in
rtcc_wall, and uncaught exceptions all go through ``MessageBridge.post``.
Worker threads reach it through posters (``gui_thread``: the call runs on the
GUI thread, the worker holds no Qt object); ``post`` itself is also safe from
any thread (it emits a Qt signal, queued to the GUI thread). Every text is
redacted on the way in.
"""

from __future__ import annotations

import logging
from collections import deque

from PySide6.QtCore import QObject, Signal

from rtcc_wall.core.cameras import CameraState
from rtcc_wall.core.redact import redact
from rtcc_wall.ui.gui_thread import gui_poster

#: States worth telling the operator about in the status bar (LIVE is shown on the tile).
_NOTEWORTHY = {
    CameraState.OFFLINE: "warning",
    CameraState.AUTH_FAILED: "error",
    CameraState.UNSUPPORTED: "error",
    CameraState.STALE: "warning",
    CameraState.DENIED: "warning",
}


class MessageBridge(QObject):
    posted = Signal(str, str)  # level ("info" / "warning" / "error"), text

    def __init__(self, parent: QObject | None = None, history: int = 200) -> None:
        super().__init__(parent)
        self.history: deque[tuple[str, str]] = deque(maxlen=history)
        self.posted.connect(self._remember)

    def post(self, level: str, text: str) -> None:
        """Thread-safe: may be called from any thread."""
        self.posted.emit(level, redact(text))

    def _remember(self, level: str, text: str) -> None:
        self.history.append((level, text))

    def camera_state(self, camera_id: str, state: CameraState, detail: str) -> None:
        """A ``StreamManager`` ``on_state`` callback; thread-safe, but give the manager
        ``gui_poster(bridge.camera_state)`` so camera threads do not hold the bridge."""
        level = _NOTEWORTHY.get(state)
        if level is not None:
            suffix = f": {detail}" if detail else ""
            self.post(level, f"Camera {camera_id} {state.label.lower()}{suffix}")


class BridgeLogHandler(logging.Handler):
    """Sends WARNING and worse log records to the status bar."""

    def __init__(self, bridge: MessageBridge) -> None:
        super().__init__(logging.WARNING)
        # records come from any thread: hold a poster, not the bridge (see gui_thread)
        self._post = gui_poster(bridge.post)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        self._post("error" if record.levelno >= logging.ERROR else "warning", text)
