"""Drag and drop of cameras: from the camera list, the map or a tile, onto a tile.

The payload is JSON in our own MIME type, so nothing else on the desktop
mistakes it for text: ``{"camera": ID, "wall": WALL_KEY | null, "tile": INDEX | -1}``.
A drop from a tile of the same wall swaps the two tiles; any other drop puts
the camera on the target tile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QMimeData

CAMERA_MIME = "application/x-rtcc-camera"


@dataclass(frozen=True)
class CameraDrag:
    camera: str
    #: the wall the drag started on (``WallWidget.key``), None from the list or the map
    wall: str | None = None
    #: the tile index it started on, -1 from the list or the map
    tile: int = -1


def camera_mime(drag: CameraDrag) -> QMimeData:
    data = QMimeData()
    payload = {"camera": drag.camera, "wall": drag.wall, "tile": drag.tile}
    data.setData(CAMERA_MIME, QByteArray(json.dumps(payload).encode()))
    data.setText(drag.camera)  # dropping on a text field gives the camera id
    return data


def read_camera_mime(data: QMimeData | None) -> CameraDrag | None:
    """The drag in ``data``, or None when it is not ours or is malformed."""
    if data is None or not data.hasFormat(CAMERA_MIME):
        return None
    try:
        d = json.loads(bytes(data.data(CAMERA_MIME).data()).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(d, dict) or not isinstance(d.get("camera"), str):
        return None
    wall = d.get("wall")
    tile = d.get("tile", -1)
    return CameraDrag(
        d["camera"],
        wall if isinstance(wall, str) else None,
        tile if isinstance(tile, int) else -1,
    )
