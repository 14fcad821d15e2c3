"""The camera list: every enrolled camera, filterable, draggable onto the wall."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rtcc_wall.core.cameras import Camera
from rtcc_wall.ui.dnd import CameraDrag, camera_mime

_ID_ROLE = Qt.ItemDataRole.UserRole


class _DragList(QListWidget):
    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt naming
        from rtcc_wall.ui.dnd import CAMERA_MIME

        return [CAMERA_MIME, "text/plain"]

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:  # noqa: N802
        cid = str(items[0].data(_ID_ROLE)) if items else ""
        return camera_mime(CameraDrag(cid))


class CameraList(QWidget):
    """Filter box + list. Double-click or Enter puts a camera on the wall; drag it to a tile."""

    camera_activated = Signal(str)

    def __init__(self, cameras: Iterable[Camera], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter by name, id or owner…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.list = _DragList(self)
        self.list.setDragEnabled(True)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.itemActivated.connect(
            lambda item: self.camera_activated.emit(str(item.data(_ID_ROLE)))
        )
        hint = QLabel("Drag a camera onto a tile, or double-click it to put it on the wall.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(self.filter)
        box.addWidget(self.list, 1)
        box.addWidget(hint)
        self.set_cameras(cameras)

    def set_cameras(self, cameras: Iterable[Camera]) -> None:
        self.list.clear()
        for cam in sorted(cameras, key=lambda c: (c.ownership != "city", c.name.lower())):
            tag = "city" if cam.ownership == "city" else "private"
            item = QListWidgetItem(f"{cam.name}   ·  {cam.id}  ·  {tag}")
            item.setData(_ID_ROLE, cam.id)
            item.setToolTip(f"{cam.name} ({cam.id}), {tag} camera")
            self.list.addItem(item)
        self._apply_filter(self.filter.text())

    def listed_ids(self) -> list[str]:
        return [
            str(self.list.item(i).data(_ID_ROLE))
            for i in range(self.list.count())
            if not self.list.item(i).isHidden()
        ]

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())
