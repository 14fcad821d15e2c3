"""The evidence export dialog: a clip or snapshot of a camera's replay buffer, with a reason.

Opened from a tile's menu (``open_export``) with an immutable snapshot of the
camera's replay ring, so the buffer can move on while the operator decides.
The operator picks what (MP4 clip or PNG snapshot), which part of the
buffer (the last N seconds, or from-to), states a reason (required: it goes
into the audit log and the export's metadata), masked (default) or
unmasked (enabled for supervisors only) and the destination folder (default:
``exports`` in the user data folder).

The export itself -- access check, pictures, BagIt bag, audit event -- is
``video.export_media.export_replay``; it runs on a thread of its own with a
progress bar and a Cancel button (HOUSE_STYLE 4), and the dialog reports the
folder and its verification. Refusals (role, access policy) are shown as
the policy words them; they are recorded in the audit log by the core.
``revoke(message)`` cancels and disables the dialog when the camera's view
ends (a private camera's pictures must go with its view).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import threading
from pathlib import Path

import platformdirs
from PySide6.QtCore import QDateTime, Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateTimeEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.export import (
    UNMASK_ROLE,
    ExportCancelled,
    ExportDenied,
    ExportError,
    ExportKind,
    ExportResult,
)
from rtcc_wall.core.redact import redact
from rtcc_wall.core.session import AccessSession
from rtcc_wall.ui import theme
from rtcc_wall.ui.gui_thread import gui_poster
from rtcc_wall.video.export_media import export_replay
from rtcc_wall.video.manager import StreamManager
from rtcc_wall.video.replay import ReplaySnapshot

log = logging.getLogger(__name__)

#: What "last N seconds" starts with (clamped to what the buffer holds).
DEFAULT_LAST_S = 30


def default_export_dir() -> Path:
    """``exports`` in the per-user data folder (beside the audit log's default)."""
    return Path(platformdirs.user_data_dir("rtcc-wall", appauthor=False)) / "exports"


class ExportUnavailable(Exception):
    """Nothing to export for this camera now; the message says why (for the status bar)."""


def open_export(
    camera: Camera,
    manager: StreamManager,
    session: AccessSession,
    *,
    site_name: str = "",
    parent: QWidget | None = None,
) -> ExportDialog:
    """Shows (non-modal) the export dialog for ``camera``'s replay buffer.

    Raises :class:`ExportUnavailable` when the camera has no replay buffer or
    nothing in it yet.
    """
    if manager.replay_seconds <= 0:
        raise ExportUnavailable("Export needs the replay buffer (wall.replay_seconds is 0)")
    ring = manager.replay(camera.id)
    if ring is None:
        raise ExportUnavailable(f"Nothing to export from {camera.name}: it is not on the wall")
    snap = ring.snapshot()
    if snap is None:
        raise ExportUnavailable(f"Nothing to export from {camera.name} yet (no key frame)")
    dialog = ExportDialog(camera, snap, session, site_name=site_name, parent=parent)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def _clock(t: float) -> str:
    return dt.datetime.fromtimestamp(t).astimezone().strftime("%H:%M:%S")


def _qdt(t: float) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(round(t * 1000))


def _epoch(q: QDateTime) -> float:
    return float(q.toMSecsSinceEpoch()) / 1000.0


class ExportDialog(QDialog):
    """Exports part of a replay snapshot as evidence; see the module docstring."""

    #: emitted with the ``ExportResult`` of a finished export
    exported = Signal(object)

    def __init__(
        self,
        camera: Camera,
        snapshot: ReplaySnapshot,
        session: AccessSession,
        *,
        site_name: str = "",
        out_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        if not snapshot.packets:
            raise ExportUnavailable(f"Nothing to export from {camera.name}: the buffer is empty")
        if snapshot.camera_id != camera.id:
            raise ValueError(f"the snapshot is of {snapshot.camera_id}, not {camera.id}")
        super().__init__(parent)
        self.camera = camera
        self.snapshot: ReplaySnapshot | None = snapshot
        self.session = session
        self.site_name = site_name
        self.first = snapshot.packets[0].wall_time
        self.last = snapshot.packets[-1].wall_time
        self.outcome: ExportResult | None = None  # the finished export
        self.error: str | None = None
        self._cancel: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._revoked = False
        self.setWindowTitle(f"Export evidence — {camera.name}")
        self.setStyleSheet(_STYLE)
        self.setModal(False)
        self.setMinimumWidth(560)
        self._build(out_dir or default_export_dir())
        self._update()

    # ------------------------------------------------------------------ layout
    def _build(self, out_dir: Path) -> None:
        cam = self.camera
        op = self.session.operator
        inc = self.session.incident
        badge_bg = theme.CITY.name() if cam.ownership == "city" else theme.PRIVATE.name()
        badge_fg = "white" if cam.ownership == "city" else "#111"
        self.camera_label = QLabel(
            f"<span style='background:{badge_bg}; color:{badge_fg}; font-weight:bold;'>"
            f"&nbsp;{'CITY' if cam.ownership == 'city' else 'PRIVATE'}&nbsp;</span>"
            f"&nbsp;&nbsp;<b>{html.escape(cam.name)}</b>&nbsp;&nbsp;"
            f"<span style='color:{theme.TEXT_DIM};'>{html.escape(cam.id)}</span>"
        )
        if inc is not None:
            case = getattr(inc, "case_number", None)
            text = f"Incident <b>{html.escape(inc.id)}</b>"
            if case:
                text += f" · case {html.escape(str(case))}"
        else:
            text = (
                f"<span style='color:{theme.STATE_COLORS['stale'].name()};'>No incident is "
                "being worked: the export will not be tied to one</span>"
            )
        self.incident_label = QLabel(text)
        self.operator_label = QLabel(
            f"Exported by <b>{html.escape(op.name)}</b> ({html.escape(op.role)})"
        )
        self.buffer_label = QLabel(
            f"Replay buffer {_clock(self.first)} – {_clock(self.last)} "
            f"({self.last - self.first:.0f} s)"
        )
        for lab in (self.operator_label, self.buffer_label):
            lab.setObjectName("hint")

        # what
        self.clip_radio = QRadioButton("MP4 clip")
        self.snapshot_radio = QRadioButton("PNG snapshot (the picture at the end of the range)")
        self.clip_radio.setChecked(True)
        self._kind_group = QButtonGroup(self)
        for b in (self.clip_radio, self.snapshot_radio):
            self._kind_group.addButton(b)
            b.toggled.connect(self._update)
        what = QVBoxLayout()
        what.addWidget(self.clip_radio)
        what.addWidget(self.snapshot_radio)

        # when
        held = max(1, int(self.last - self.first + 0.999))
        self.last_radio = QRadioButton("Last")
        self.last_spin = QSpinBox()
        self.last_spin.setRange(1, held)
        self.last_spin.setValue(min(DEFAULT_LAST_S, held))
        self.last_spin.setSuffix(" s")
        self.range_radio = QRadioButton("From")
        self.from_edit = QDateTimeEdit(_qdt(max(self.first, self.last - DEFAULT_LAST_S)))
        self.to_edit = QDateTimeEdit(_qdt(self.last))
        for e in (self.from_edit, self.to_edit):
            e.setDisplayFormat("HH:mm:ss")
            e.setDateTimeRange(_qdt(self.first), _qdt(self.last))
            e.dateTimeChanged.connect(self._update)
        self.last_radio.setChecked(True)
        self._when_group = QButtonGroup(self)
        for b in (self.last_radio, self.range_radio):
            self._when_group.addButton(b)
            b.toggled.connect(self._update)
        self.last_spin.valueChanged.connect(self._update)
        last_row = QHBoxLayout()
        last_row.addWidget(self.last_radio)
        last_row.addWidget(self.last_spin)
        last_row.addWidget(QLabel("of the buffer"))
        last_row.addStretch(1)
        range_row = QHBoxLayout()
        range_row.addWidget(self.range_radio)
        range_row.addWidget(self.from_edit)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.to_edit)
        range_row.addStretch(1)
        self.range_hint = QLabel()
        self.range_hint.setObjectName("hint")
        self.range_hint.setWordWrap(True)
        when = QVBoxLayout()
        when.addLayout(last_row)
        when.addLayout(range_row)
        when.addWidget(self.range_hint)

        # why
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(
            "Required: why this is exported (recorded in the audit log)"
        )
        self.reason_edit.textChanged.connect(self._update)

        # privacy
        self.masked_radio = QRadioButton("Masked: privacy masks burned in")
        self.unmasked_radio = QRadioButton(f"Unmasked ({UNMASK_ROLE}s only; audited)")
        self.masked_radio.setChecked(True)
        self._mask_group = QButtonGroup(self)
        for b in (self.masked_radio, self.unmasked_radio):
            self._mask_group.addButton(b)
        supervisor = op.role == UNMASK_ROLE
        self.unmasked_radio.setEnabled(supervisor)
        if not supervisor:
            self.unmasked_radio.setToolTip(f"Only a {UNMASK_ROLE} may export without masks")
        self.privacy_hint = QLabel()
        self.privacy_hint.setObjectName("hint")
        self.privacy_hint.setWordWrap(True)
        if not cam.masks:
            self.privacy_hint.setText(
                "This camera has no privacy masks: the clip carries its video as recorded."
            )
            self.masked_radio.setEnabled(False)
            self.unmasked_radio.setEnabled(False)
        self.privacy_hint.setVisible(bool(self.privacy_hint.text()))
        privacy = QVBoxLayout()
        privacy.addWidget(self.masked_radio)
        privacy.addWidget(self.unmasked_radio)
        privacy.addWidget(self.privacy_hint)

        # where
        self.dir_edit = QLineEdit(str(out_dir))
        self.dir_edit.textChanged.connect(self._update)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setAutoDefault(False)
        self.browse_button.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.dir_edit, 1)
        where.addWidget(self.browse_button)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.addRow("Export", what)
        form.addRow("Time", when)
        form.addRow("Reason", self.reason_edit)
        form.addRow("Privacy", privacy)
        form.addRow("Folder", where)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setMinimumHeight(2 * self.status_label.fontMetrics().lineSpacing() + 4)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("primary")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.open_button = QPushButton("Open folder")
        self.open_button.setAutoDefault(False)
        self.open_button.setVisible(False)
        self.open_button.clicked.connect(self._open_folder)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet(f"color: {theme.BORDER};")
        root = QVBoxLayout(self)
        root.setContentsMargins(14, 12, 14, 12)
        root.setSpacing(8)
        root.addWidget(self.camera_label)
        root.addWidget(self.incident_label)
        root.addWidget(self.operator_label)
        root.addWidget(self.buffer_label)
        root.addWidget(line)
        root.addLayout(form)
        root.addWidget(self.progress)
        root.addWidget(self.status_label)
        root.addLayout(buttons)

    # ------------------------------------------------------------------ state
    @property
    def kind(self) -> ExportKind:
        return "snapshot" if self.snapshot_radio.isChecked() else "clip"

    @property
    def masked(self) -> bool:
        return not self.unmasked_radio.isChecked()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def time_range(self) -> tuple[float, float]:
        """(start, end) wall times the operator chose, within the buffer."""
        if self.last_radio.isChecked():
            end = self.last
            return max(self.first, end - self.last_spin.value()), end
        t0, t1 = _epoch(self.from_edit.dateTime()), _epoch(self.to_edit.dateTime())
        return max(self.first, t0), min(self.last, t1)

    def problem(self) -> str | None:
        """Why Export is disabled now, or None."""
        if self._revoked:
            return "The camera's view ended; its pictures can no longer be exported"
        if self.snapshot is None:
            return "Nothing to export"
        t0, t1 = self.time_range()
        if t1 < t0:
            return "The range ends before it starts"
        if not self.reason_edit.text().strip():
            return "State a reason for the export"
        if not self.dir_edit.text().strip():
            return "Choose a folder"
        return None

    def _update(self) -> None:
        is_range = self.range_radio.isChecked()
        self.from_edit.setEnabled(is_range)
        self.to_edit.setEnabled(is_range)
        self.last_spin.setEnabled(not is_range)
        t0, t1 = self.time_range()
        if self.kind == "snapshot":
            self.range_hint.setText(f"Snapshot of the picture at {_clock(t1)}")
        elif t1 >= t0:
            self.range_hint.setText(
                f"{_clock(t0)} – {_clock(t1)}, {t1 - t0:.0f} s (from the key frame before)"
            )
        else:
            self.range_hint.setText("The range ends before it starts")
        busy = self.running
        problem = self.problem()
        self.export_button.setEnabled(problem is None and not busy)
        self.export_button.setToolTip(problem or "")
        for w in (self.clip_radio, self.snapshot_radio, self.last_radio, self.range_radio,
                  self.reason_edit, self.dir_edit, self.browse_button):  # fmt: skip
            w.setEnabled(not busy and not self._revoked)
        self.cancel_button.setText("Cancel" if busy else "Close")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.dir_edit.text())
        if folder:
            self.dir_edit.setText(folder)

    # ------------------------------------------------------------------ the export
    def start_export(self) -> bool:
        """Starts the export on its own thread; False when it cannot start (see the status)."""
        snap = self.snapshot
        if self.running or snap is None or self.problem() is not None:
            return False
        out = Path(self.dir_edit.text().strip()).expanduser()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self._show_error(redact(f"Cannot create the folder {out}: {e.strerror or e}"))
            return False
        if not os.access(out, os.W_OK | os.X_OK):
            self._show_error(redact(f"The folder {out} is not writable"))
            return False
        t0, t1 = self.time_range()
        cancel = threading.Event()
        # The thread gets plain values and posters, never the dialog or another Qt
        # object: holding the last reference, it would destroy one on its thread
        # (see gui_thread).
        camera, kind, s = self.camera, self.kind, self.session
        operator, incident, policy, audit = s.operator, s.incident, s.policy, s.audit
        reason, masked, site_name = self.reason_edit.text().strip(), self.masked, self.site_name
        progress, done, failed = (
            gui_poster(self._on_progress), gui_poster(self._on_done), gui_poster(self._on_failed)
        )  # fmt: skip

        def run() -> None:
            try:
                result = export_replay(
                    snap,
                    camera=camera,
                    operator=operator,
                    incident=incident,
                    reason=reason,
                    kind=kind,
                    out_dir=out,
                    policy=policy,
                    audit=audit,
                    masked=masked,
                    start=t0,
                    end=t1,
                    site_name=site_name,
                    progress=progress,
                    cancel=cancel,
                )
                done(result)
            except ExportDenied as e:
                failed("denied", str(e))
            except ExportCancelled:
                failed("cancelled", "Export cancelled; nothing was written")
            except ExportError as e:
                failed("error", str(e))
            except Exception as e:  # noqa: BLE001 - boundary: the dialog must hear of any failure
                log.exception("export of %s failed", camera.id)
                failed("error", redact(f"Export failed: {e!r}"))

        self.outcome, self.error = None, None
        self._cancel = cancel
        # deleted without being closed (with its parent, say): the export stops too
        self.destroyed.connect(cancel.set)
        self._thread = threading.Thread(target=run, name=f"export-{self.camera.id}", daemon=True)
        self.progress.setValue(0)
        self.open_button.setVisible(False)
        self._set_status(f"Exporting {'a clip' if self.kind == 'clip' else 'a snapshot'}…")
        self._thread.start()
        self._update()
        return True

    def cancel_export(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._set_status("Cancelling…")

    def _cancel_or_close(self) -> None:
        if self.running:
            self.cancel_export()
        else:
            self.close()

    def _on_progress(self, fraction: float) -> None:
        self.progress.setValue(round(max(0.0, min(1.0, fraction)) * 1000))

    def _on_done(self, result: object) -> None:
        assert isinstance(result, ExportResult)
        self._finish()
        self.outcome = result
        self.progress.setValue(1000)
        check = (
            "<span style='color:#2ecc71;'>verified: every file matches its SHA-256</span>"
            if not result.problems
            else "<span style='color:#e5484d;'>verification failed: "
            + html.escape("; ".join(result.problems))
            + "</span>"
        )
        self._set_status(
            f"Exported to <b>{html.escape(str(result.path))}</b><br>{check}", rich=True
        )
        self.open_button.setVisible(True)
        self.exported.emit(result)

    def _on_failed(self, kind: str, message: str) -> None:
        self._finish()
        self.progress.setValue(0)
        self.error = message
        if kind == "cancelled":
            self._set_status(message)
        else:
            prefix = "Refused" if kind == "denied" else "Export failed"
            self._show_error(f"{prefix}: {message}")

    def _finish(self) -> None:
        self._thread = None
        self._cancel = None
        self._update()

    def _set_status(self, text: str, *, rich: bool = False) -> None:
        self.status_label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        self.status_label.setStyleSheet("")
        self.status_label.setText(text)

    def _show_error(self, text: str) -> None:
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setStyleSheet(f"color: {theme.STATE_COLORS['offline'].name()};")
        self.status_label.setText(text)

    def _open_folder(self) -> None:
        if self.outcome is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.outcome.path)))

    # ------------------------------------------------------------------ privacy
    def revoke(self, message: str) -> None:
        """The camera's view ended: cancel a running export and drop the pictures."""
        self._revoked = True
        self.cancel_export()
        self.snapshot = None
        self._show_error(message)
        self._update()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt naming
        self.cancel_export()  # a running export stops between pictures and leaves nothing
        self.snapshot = None
        super().closeEvent(event)


_STYLE = f"""
QRadioButton {{ spacing: 8px; }}
QRadioButton:disabled {{ color: {theme.TEXT_DIM}; }}
QRadioButton::indicator {{ width: 12px; height: 12px; border-radius: 8px;
                           border: 2px solid {theme.TEXT_DIM}; background: {theme.PANEL_2}; }}
QRadioButton::indicator:checked {{ border-color: {theme.ACCENT};
    background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5,
                                stop:0 {theme.ACCENT}, stop:0.55 {theme.ACCENT},
                                stop:0.65 {theme.PANEL_2}, stop:1 {theme.PANEL_2}); }}
QRadioButton::indicator:disabled {{ border-color: {theme.BORDER}; background: {theme.BG}; }}
QLineEdit, QDateTimeEdit {{ background: {theme.PANEL_2}; border: 1px solid {theme.BORDER};
                            border-radius: 3px; padding: 3px 5px; }}
QLineEdit:focus, QDateTimeEdit:focus, QSpinBox:focus {{ border-color: {theme.ACCENT}; }}
QDateTimeEdit:disabled, QSpinBox:disabled {{ color: {theme.TEXT_DIM}; }}
QProgressBar {{ background: {theme.PANEL_2}; border: 1px solid {theme.BORDER}; border-radius: 3px;
                height: 10px; }}
QProgressBar::chunk {{ background: {theme.ACCENT}; border-radius: 2px; }}
"""
