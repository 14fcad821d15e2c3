"""The replay viewer: the last minute of one camera, scrubbed and played, never mistaken for live.

A ``ReplayDialog`` takes a snapshot of the camera's replay ring
(``video/replay.py``) and shows it in a non-modal window, so the wall keeps
playing behind it. The app opens it through ``MainWindow.open_replay``, which
audits the opening and the closing (``replay_open`` / ``replay_close``).

* **Unmistakably not live.** A red banner across the top says "REPLAY — NOT
  LIVE" with the wall-clock time of the picture on screen and how far behind
  live it is (counting on while paused); the picture has a red frame and a
  REPLAY tag in its corner, so a screenshot of the picture alone says it too.
* **Off the GUI thread.** Pictures are decoded by ``ReplayPlayer`` on a thread
  of the dialog's own; the GUI asks for a frame index and the newest request
  wins (a scrub across a minute decodes only where the slider stops), and the
  decoded picture comes back through a poster (``gui_thread``; HOUSE_STYLE 4, 5).
  Decoded pictures are cached up to a fixed number of bytes, not kept all.
* **Masked like the live tile, at least.** The ring holds the camera's own
  pictures; the player burns in the masks of ``mask_provider`` for every
  picture shown (the camera's configured masks when there is no provider), so
  a lift or restore shows at once and a failing provider masks everything.
* **A private view that ends takes its replay with it.** When the camera's
  last stream stops (the view was revoked or ended), the manager empties the
  ring, and the dialog of a private camera closes and drops its pictures.
  ``revoke(message)`` does the same at once.

Keyboard: Space play/pause, Left/Right one frame back/forward, Esc back to live.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.masks import MaskPolygon
from rtcc_wall.ui import theme
from rtcc_wall.ui.gui_thread import Poster, gui_poster
from rtcc_wall.video.frames import BGRImage
from rtcc_wall.video.manager import StreamManager
from rtcc_wall.video.replay import ReplayDecodeError, ReplayPlayer, ReplaySnapshot

log = logging.getLogger(__name__)

MaskSource = Callable[[], Sequence[MaskPolygon]]

#: Pictures are decoded fitted into this box (the view scales them to its size).
DECODE_BOX = (1280, 720)
#: Bytes of decoded pictures the player keeps for stepping and scrubbing back.
CACHE_BYTES = 128 * 2**20
#: Where the replay starts: this many seconds before the newest picture.
START_BEFORE_END_S = 10.0
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
REPLAY_RED = "#d83a3f"


class ReplayUnavailable(Exception):
    """Nothing to replay for this camera; the message says why (for the status bar)."""


def replay_unavailable(camera: Camera, manager: StreamManager) -> str | None:
    """Why ``camera`` has no replay right now, or None when it has one."""
    if manager.replay_seconds <= 0:
        return "Replay is off (wall.replay_seconds is 0 in the configuration)"
    ring = manager.replay(camera.id)
    if ring is None:
        return f"No replay of {camera.name}: it is not playing on the wall"
    if ring.snapshot() is None:
        return f"No replay of {camera.name} yet: waiting for its first key frame"
    return None


def open_replay(
    camera: Camera,
    manager: StreamManager,
    mask_provider: MaskSource | None,
    parent: QWidget | None = None,
) -> ReplayDialog:
    """Opens (shows, non-modal) the replay of ``camera``; raises ``ReplayUnavailable``.

    Not audited: the app opens replays through ``MainWindow.open_replay``.
    """
    dialog = ReplayDialog(camera, manager, mask_provider, parent)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def format_mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def replay_status_text(manager: StreamManager) -> str:
    """For the status bar: how much the replay buffers hold, e.g. "Replay 60 s · 23.4 MB"."""
    if manager.replay_seconds <= 0:
        return "Replay off"
    return f"Replay {manager.replay_seconds:g} s · {format_mb(manager.replay_total_bytes())}"


def format_behind(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s behind live"
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s behind live"


def format_clock(wall_time: float, *, tenths: bool = True) -> str:
    t = dt.datetime.fromtimestamp(wall_time).astimezone()
    return f"{t:%H:%M:%S}.{t.microsecond // 100_000}" if tenths else f"{t:%H:%M:%S}"


# --------------------------------------------------------------------------- decoding thread


class _DecodeThread:
    """Decodes the frame the GUI asked for last; earlier requests not started are dropped."""

    def __init__(self, player: ReplayPlayer, ready: Poster, failed: Poster) -> None:
        """``ready(index, picture or None)``, ``failed(message)``: posters to the GUI thread."""
        self._player = player
        self._ready = ready
        self._failed = failed
        self._cond = threading.Condition()
        self._want: int | None = None
        self._stop = threading.Event()
        self.decoded_requests = 0
        self._thread = threading.Thread(
            target=self._run, name=f"replay-{player.snap.camera_id}", daemon=True
        )
        self._thread.start()

    def request(self, index: int) -> None:
        with self._cond:
            self._want = index
            self._cond.notify()

    def stop(self, timeout_s: float = 2.0) -> bool:
        with self._cond:
            self._stop.set()
            self._cond.notify()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop.is_set() or self._want is not None)
                if self._stop.is_set():
                    return
                index, self._want = self._want, None
            assert index is not None
            try:
                img = self._player.picture(index)
            except ReplayDecodeError as e:
                self._failed(str(e))
                return
            self.decoded_requests += 1
            if self._stop.is_set():
                return  # the dialog is closing: nobody wants the picture
            self._ready(index, img)


# --------------------------------------------------------------------------- widgets


class ReplayView(QWidget):
    """The replayed picture, scaled to fit, with a red frame and a REPLAY tag."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._array: BGRImage | None = None  # keeps the QImage's pixels alive
        self._image: QImage | None = None
        self._note = "Decoding …"
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(960, 540)

    def set_picture(self, img: BGRImage | None, note: str = "") -> None:
        if img is not None:
            h, w = img.shape[:2]
            self._array = img
            self._image = QImage(img.data, w, h, int(img.strides[0]), QImage.Format.Format_RGB32)
        self._note = note
        self.update()

    def clear(self, note: str) -> None:
        self._array = None
        self._image = None
        self._note = note
        self.update()

    @property
    def picture(self) -> BGRImage | None:
        """The BGRA array on screen (masks burned in), or None."""
        return self._array

    def picture_rect(self) -> QRect:
        """Where the picture is drawn inside this widget."""
        inner = self.rect().adjusted(4, 4, -4, -4)
        if self._image is None:
            return inner
        size = self._image.size().scaled(inner.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(QPoint(0, 0), size)
        target.moveCenter(inner.center())
        return target

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#0b0d10"))
        target = self.picture_rect()
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(target, self._image)
        p.setPen(QPen(QColor(REPLAY_RED), 4))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(target.adjusted(-2, -2, 1, 1))
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(max(9.0, min(13.0, target.height() / 30)))
        p.setFont(font)
        fm = p.fontMetrics()
        tag = "↺ REPLAY"
        tag_w, tag_h = fm.horizontalAdvance(tag) + 16, fm.height() + 6
        # bottom right: cameras print their own clock and name at the top
        tag_rect = QRectF(target.right() - tag_w - 8, target.bottom() - tag_h - 8, tag_w, tag_h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(REPLAY_RED))
        p.drawRoundedRect(tag_rect, 4, 4)
        p.setPen(QColor("white"))
        p.drawText(tag_rect, Qt.AlignmentFlag.AlignCenter, tag)
        if self._note:
            note_rect = QRectF(
                target.left() + 8,
                target.bottom() - fm.height() - 14,
                fm.horizontalAdvance(self._note) + 16,
                fm.height() + 6,
            )
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 0, 0, 190))
            p.drawRoundedRect(note_rect, 4, 4)
            p.setPen(QColor(theme.TEXT))
            p.drawText(note_rect, Qt.AlignmentFlag.AlignCenter, self._note)
        p.end()


def _no_focus(*widgets: QWidget) -> None:
    """Keys belong to the dialog (Space, arrows, Esc), not to whichever button was clicked."""
    for w in widgets:
        w.setFocusPolicy(Qt.FocusPolicy.NoFocus)


class ReplayDialog(QDialog):
    """Replays a snapshot of one camera's last minute; see the module docstring.

    Raises ``ReplayUnavailable`` when the camera has nothing to replay.
    """

    closed_for_privacy = Signal(str)  # why the dialog closed itself

    def __init__(
        self,
        camera: Camera,
        manager: StreamManager,
        mask_provider: MaskSource | None,
        parent: QWidget | None = None,
    ) -> None:
        why = replay_unavailable(camera, manager)
        ring = manager.replay(camera.id)
        snap = ring.snapshot() if ring is not None else None
        if why is not None or ring is None or snap is None:
            raise ReplayUnavailable(why or f"No replay of {camera.name}")
        super().__init__(parent)
        self.camera = camera
        self._manager = manager
        self.snapshot: ReplaySnapshot = snap
        masks: MaskSource | None = mask_provider
        if masks is None and camera.masks:
            configured = camera.masks
            masks = lambda: configured  # noqa: E731 - never less masked than the live tile
        self._masks = masks
        self._player = ReplayPlayer(snap, DECODE_BOX, mask_provider=masks, cache_bytes=CACHE_BYTES)
        self.times: tuple[float, ...] = self._player.times
        self._wanted = -1  # the frame the slider / playback asks for
        self._shown = -1  # the frame on screen
        self._playing = False
        self._speed = 1.0
        self._anchor: tuple[float, float] | None = None  # (monotonic, media wall time) at play

        self.setWindowTitle(f"Replay — {camera.name} — NOT LIVE")
        self.setStyleSheet(_SLIDER_STYLE)
        self.setModal(False)
        self.is_closed = False
        self._build()

        # the decode thread holds no Qt object, only posters (see gui_thread)
        self._decoder = _DecodeThread(
            self._player, gui_poster(self._on_ready), gui_poster(self._on_failed)
        )

        self._play_timer = QTimer(self)
        self._play_timer.setInterval(20)
        self._play_timer.timeout.connect(self._play_tick)
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(250)
        self._clock_timer.timeout.connect(self._clock_tick)
        self._clock_timer.start()

        end = self.times[-1]
        self.seek(self._player.index_at(end - START_BEFORE_END_S))
        self.play()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        cam = self.camera
        self.banner = QLabel()
        self.banner.setObjectName("replayBanner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setStyleSheet(
            f"QLabel#replayBanner {{ background: {REPLAY_RED}; color: white; font-weight: bold;"
            " font-size: 15pt; padding: 8px 14px; border-radius: 4px; }"
        )
        self.camera_label = QLabel()
        badge_bg = theme.CITY.name() if cam.ownership == "city" else theme.PRIVATE.name()
        badge_fg = "white" if cam.ownership == "city" else "#111"
        self.camera_label.setText(
            f"<span style='background:{badge_bg}; color:{badge_fg}; font-weight:bold;'>"
            f"&nbsp;{'CITY' if cam.ownership == 'city' else 'PRIVATE'}&nbsp;</span>"
            f"&nbsp;&nbsp;<b>{_html(cam.name)}</b>&nbsp;&nbsp;"
            f"<span style='color:{theme.TEXT_DIM};'>{_html(cam.id)}</span>"
        )
        self.info_label = QLabel()
        self.info_label.setObjectName("hint")
        self.info_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head = QHBoxLayout()
        head.addWidget(self.camera_label, 1)
        head.addWidget(self.info_label)

        self.view = ReplayView()

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, len(self.times) - 1)
        self.slider.setPageStep(max(1, len(self.times) // 20))
        self.slider.valueChanged.connect(self._on_slider)
        self.start_label = QLabel(format_clock(self.times[0], tenths=False))
        self.end_label = QLabel(format_clock(self.times[-1], tenths=False))
        for lab in (self.start_label, self.end_label):
            lab.setObjectName("hint")
        scrub = QHBoxLayout()
        scrub.addWidget(self.start_label)
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.end_label)

        self.back_button = QPushButton("◀❚ Frame")
        self.back_button.setToolTip("One frame back (Left)")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.play_button = QPushButton("❚❚ Pause")
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setMinimumWidth(110)
        self.play_button.clicked.connect(self.toggle_play)
        self.forward_button = QPushButton("Frame ❚▶")
        self.forward_button.setToolTip("One frame forward (Right)")
        self.forward_button.clicked.connect(lambda: self.step(1))
        self.speed_box = QComboBox()
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g}×", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed")
        self.speed_box.currentIndexChanged.connect(self._on_speed)
        self.live_button = QPushButton("● Back to live  (Esc)")
        self.live_button.setObjectName("primary")
        self.live_button.setAutoDefault(False)
        self.live_button.clicked.connect(self.reject)
        for b in (self.back_button, self.play_button, self.forward_button):
            b.setAutoDefault(False)
        _no_focus(
            self.slider,
            self.back_button,
            self.play_button,
            self.forward_button,
            self.speed_box,
            self.live_button,
        )
        controls = QHBoxLayout()
        controls.addWidget(self.back_button)
        controls.addWidget(self.play_button)
        controls.addWidget(self.forward_button)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Speed"))
        controls.addWidget(self.speed_box)
        controls.addStretch(1)
        self.frame_label = QLabel()
        self.frame_label.setObjectName("hint")
        controls.addWidget(self.frame_label)
        controls.addSpacing(12)
        controls.addWidget(self.live_button)

        root = QVBoxLayout(self)
        root.setContentsMargins(10, 10, 10, 10)
        root.setSpacing(8)
        root.addWidget(self.banner)
        root.addLayout(head)
        root.addWidget(self.view, 1)
        root.addLayout(scrub)
        root.addLayout(controls)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._update_info()
        self._update_banner()

    def _update_info(self) -> None:
        snap = self.snapshot
        info = snap.info
        span = self.times[-1] - self.times[0]
        parts = [
            f"{span:.0f} s buffered",
            f"{format_mb(snap.nbytes)}",
            f"{info.width}×{info.height} {info.codec.upper()}",
        ]
        if snap.encoded_here:
            parts.append("re-encoded by rtcc-wall")
        masks = self._active_masks()
        if masks is None:
            parts.append("privacy masks: error — all masked")
        elif masks:
            parts.append("privacy masks applied")
        elif self.camera.masks:
            parts.append("MASKS LIFTED")
        self.info_label.setText("  ·  ".join(parts))

    def _active_masks(self) -> Sequence[MaskPolygon] | None:
        if self._masks is None:
            return ()
        try:
            return self._masks()
        except Exception:  # noqa: BLE001 - only for the label; the player fails closed itself
            return None

    # ------------------------------------------------------------------ state
    @property
    def shown_index(self) -> int:
        """The frame on screen (-1 before the first picture arrived)."""
        return self._shown

    @property
    def wanted_index(self) -> int:
        return self._wanted

    @property
    def playing(self) -> bool:
        return self._playing

    def shown_time(self) -> float | None:
        return self.times[self._shown] if self._shown >= 0 else None

    def behind_live(self, now: float | None = None) -> float | None:
        """Seconds between the picture on screen and now."""
        t = self.shown_time()
        if t is None:
            return None
        return max(0.0, (time.time() if now is None else now) - t)

    # ------------------------------------------------------------------ actions
    def seek(self, index: int) -> None:
        """Shows frame ``index`` (clamped); playback, if on, goes on from there."""
        index = max(0, min(len(self.times) - 1, index))
        self._wanted = index
        if self._playing:
            self._anchor = (time.monotonic(), self.times[index])
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        self._decoder.request(index)
        self._update_frame_label()

    def step(self, delta: int) -> None:
        """One frame back (-1) or forward (+1); pauses."""
        self.pause()
        base = self._wanted if self._wanted >= 0 else 0
        self.seek(base + delta)

    def play(self) -> None:
        if self._wanted >= len(self.times) - 1:
            self.seek(0)  # at the end of the buffer: play it again from the start
        self._playing = True
        self._anchor = (time.monotonic(), self.times[max(0, self._wanted)])
        self.play_button.setText("❚❚ Pause")
        self._play_timer.start()

    def pause(self) -> None:
        self._playing = False
        self._anchor = None
        self._play_timer.stop()
        self.play_button.setText("▶ Play")

    def toggle_play(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, speed: float) -> None:
        if speed in SPEEDS:
            self.speed_box.setCurrentIndex(SPEEDS.index(speed))

    def revoke(self, message: str) -> None:
        """The view of this camera ended: drop every picture and close, saying why."""
        self._shut_down()
        self.view.clear(message)
        self.closed_for_privacy.emit(message)
        self.reject()

    # ------------------------------------------------------------------ events
    def _on_slider(self, value: int) -> None:
        self.seek(value)

    def _on_speed(self, _index: int) -> None:
        speed = self.speed_box.currentData()
        self._speed = float(speed) if isinstance(speed, int | float) else 1.0
        if self._playing:
            self._anchor = (time.monotonic(), self.times[max(0, self._wanted)])

    def _play_tick(self) -> None:
        if not self._playing or self._anchor is None:
            return
        t_real, t_media = self._anchor
        target = t_media + (time.monotonic() - t_real) * self._speed
        index = self._player.index_at(target)
        if index >= len(self.times) - 1 and target >= self.times[-1]:
            self._request_frame(len(self.times) - 1)
            self.pause()
            self.frame_label.setText(self.frame_label.text() + "  · end of buffer")
            return
        if index != self._wanted:
            self._request_frame(index)

    def _request_frame(self, index: int) -> None:
        self._wanted = index
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self._decoder.request(index)
        self._update_frame_label()

    def _on_ready(self, index: int, img: object) -> None:
        if isinstance(img, np.ndarray):
            self.view.set_picture(img, "")
        else:
            self.view.set_picture(None, f"Frame {index + 1} cannot be decoded")
        self._shown = index
        self._update_banner()

    def _on_failed(self, message: str) -> None:
        self.pause()
        self.view.clear(message)

    def _clock_tick(self) -> None:
        if self.camera.ownership == "private" and self.camera.id not in self._manager.running_ids():
            self.revoke(f"The view of {self.camera.name} ended: its replay was discarded")
            return
        self._update_banner()
        self._update_info()

    def _update_banner(self) -> None:
        t = self.shown_time()
        if t is None:
            self.banner.setText("↺  REPLAY — NOT LIVE")
            return
        behind = self.behind_live() or 0.0
        self.banner.setText(
            f"↺  REPLAY — NOT LIVE   ·   {format_clock(t)}   ·   {format_behind(behind)}"
        )

    def _update_frame_label(self) -> None:
        self.frame_label.setText(f"frame {self._wanted + 1} / {len(self.times)}")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space:
            self.toggle_play()
        elif key == Qt.Key.Key_Left:
            self.step(-1)
        elif key == Qt.Key.Key_Right:
            self.step(1)
        elif key == Qt.Key.Key_Escape:
            self.reject()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def done(self, result: int) -> None:
        """Esc, "Back to live", the window's close button: nothing of the replay stays."""
        self._shut_down()
        super().done(result)
        self.deleteLater()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._shut_down()
        super().closeEvent(event)  # QDialog's: reject() -> done()

    def _shut_down(self) -> None:
        """Stops playing and decoding and lets go of every decoded picture (idempotent)."""
        self.is_closed = True
        self._play_timer.stop()
        self._clock_timer.stop()
        self._playing = False
        if self._decoder.stop():
            self._player.drop_cache()
        else:
            log.warning("replay of %s: decode thread did not stop; abandoned", self.camera.id)

    @property
    def decoder_running(self) -> bool:
        return self._decoder._thread.is_alive()


#: The theme has no slider style; the scrub bar must be easy to see and to grab.
_SLIDER_STYLE = f"""
QSlider::groove:horizontal {{ height: 8px; background: {theme.PANEL_2}; border: 1px solid
                              {theme.BORDER}; border-radius: 4px; }}
QSlider::sub-page:horizontal {{ background: {REPLAY_RED}; border-radius: 4px; }}
QSlider::handle:horizontal {{ background: white; border: 2px solid {REPLAY_RED}; width: 14px;
                              margin: -6px 0; border-radius: 9px; }}
"""


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
