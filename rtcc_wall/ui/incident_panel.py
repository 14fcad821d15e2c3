"""The incident panel: where it happened, and the cameras around it, best first."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rtcc_wall.core.incidents import Incident
from rtcc_wall.ui import theme

INCIDENT_TYPES = (
    "Robbery",
    "Burglary",
    "Assault",
    "Shooting",
    "Vehicle pursuit",
    "Hit and run",
    "Missing person",
    "Other",
)


class IncidentPanel(QWidget):
    radius_changed = Signal(float)
    open_requested = Signal(str, str, str)  # type, case number, reason
    close_requested = Signal()
    renew_requested = Signal(str)  # a new reason for the incident's views
    show_on_wall = Signal()
    clear_requested = Signal()
    camera_activated = Signal(str)

    def __init__(self, default_radius_m: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)
        self.title = QLabel("Incident")
        self.title.setObjectName("panelTitle")
        self.where = QLabel("Click the map (or right-click → Incident here) to mark an incident.")
        self.where.setObjectName("hint")
        self.where.setWordWrap(True)
        lay.addWidget(self.title)
        lay.addWidget(self.where)

        row = QHBoxLayout()
        row.addWidget(QLabel("Radius"))
        self.radius = QSpinBox()
        self.radius.setRange(50, 5000)
        self.radius.setSingleStep(50)
        self.radius.setSuffix(" m")
        self.radius.setValue(int(default_radius_m))
        self.radius.valueChanged.connect(lambda v: self.radius_changed.emit(float(v)))
        row.addWidget(self.radius)
        row.addStretch(1)
        self.show_button = QPushButton("Show on wall")
        self.show_button.setObjectName("primary")
        self.show_button.setEnabled(False)
        self.show_button.setToolTip("Fill the wall with these cameras, best first")
        self.show_button.clicked.connect(self.show_on_wall)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setEnabled(False)
        self.clear_button.clicked.connect(self.clear_requested)
        row.addWidget(self.show_button)
        row.addWidget(self.clear_button)
        lay.addLayout(row)

        # the formal incident: what makes private cameras viewable, and what the audit log records
        form = QHBoxLayout()
        self.type_box = QComboBox()
        self.type_box.addItems(INCIDENT_TYPES)
        self.type_box.setToolTip("Incident type")
        self.case_edit = QLineEdit()
        self.case_edit.setPlaceholderText("Case number")
        self.case_edit.setMaximumWidth(140)
        form.addWidget(self.type_box)
        form.addWidget(self.case_edit)
        lay.addLayout(form)
        form2 = QHBoxLayout()
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Reason to view cameras (recorded in the audit log)")
        self.open_button = QPushButton("Open incident")
        self.open_button.setObjectName("primary")
        self.open_button.setEnabled(False)
        self.open_button.setToolTip(
            "Opens the incident: private cameras near it may then be viewed"
        )
        self.open_button.clicked.connect(self._open_clicked)
        self.close_button = QPushButton("Close incident")
        self.close_button.setEnabled(False)
        self.close_button.clicked.connect(self.close_requested)
        form2.addWidget(self.reason_edit, 1)
        form2.addWidget(self.open_button)
        self.renew_button = QPushButton("New reason")
        self.renew_button.setEnabled(False)
        self.renew_button.setToolTip(
            "Private views end after the configured minutes: a new reason renews them"
        )
        self.renew_button.clicked.connect(
            lambda: self.renew_requested.emit(self.reason_edit.text().strip())
        )
        form2.addWidget(self.renew_button)
        form2.addWidget(self.close_button)
        lay.addLayout(form2)
        self.formal = QLabel("No open incident: private cameras stay dark.")
        self.formal.setObjectName("hint")
        self.formal.setWordWrap(True)
        lay.addWidget(self.formal)

        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        self.table.setHeaderLabels(["Camera", "Owner", "Dist.", "Sees"])
        header = self.table.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemActivated.connect(
            lambda item, _col: self.camera_activated.emit(item.data(0, Qt.ItemDataRole.UserRole))
        )
        lay.addWidget(self.table, 1)

    def show_incident(self, incident: Incident | None) -> None:
        self.table.clear()
        if incident is None:
            self.title.setText("Incident")
            self.where.setText(
                "Click the map (or right-click → Incident here) to mark an incident."
            )
            self.show_button.setEnabled(False)
            self.clear_button.setEnabled(False)
            return
        local = incident.at.astimezone()
        sees = sum(1 for n in incident.nearby if n.covers_point)
        self.title.setText(f"Incident at {local:%H:%M:%S}")
        self.where.setText(
            f"{incident.lat:.5f}, {incident.lon:.5f} — {len(incident.nearby)} camera(s) within "
            f"{incident.radius_m:.0f} m, {sees} see the point"
        )
        for n in incident.nearby:
            cam = n.camera
            item = QTreeWidgetItem(
                [cam.name, cam.ownership, f"{n.distance_m:.0f} m", "✔" if n.covers_point else ""]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, cam.id)
            item.setToolTip(0, f"{cam.id} — double-click to put on the wall")
            item.setForeground(1, QBrush(theme.CITY if cam.ownership == "city" else theme.PRIVATE))
            if n.covers_point:
                item.setForeground(3, QBrush(QColor("#2ecc71")))
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setTextAlignment(3, Qt.AlignmentFlag.AlignCenter)
            self.table.addTopLevelItem(item)
        self.show_button.setEnabled(bool(incident.nearby))
        self.clear_button.setEnabled(True)

    def _open_clicked(self) -> None:
        self.open_requested.emit(
            self.type_box.currentText(),
            self.case_edit.text().strip(),
            self.reason_edit.text().strip(),
        )

    def show_formal(self, text: str, *, is_open: bool, can_open: bool) -> None:
        """The state of the formal incident, and which of open/close makes sense now."""
        self.formal.setText(text)
        self.open_button.setEnabled(can_open and not is_open)
        self.close_button.setEnabled(is_open)
        self.renew_button.setEnabled(is_open)

    def listed_ids(self) -> list[str]:
        out: list[str] = []
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            if item is not None:
                out.append(str(item.data(0, Qt.ItemDataRole.UserRole)))
        return out
