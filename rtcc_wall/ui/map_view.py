"""The map: road network, cameras with their fields of view, the incident marker.

Scene units are local metres with y pointing down (scene y = -north). Roads
are drawn as one combined path item per road class group (a few items for a
whole city, not one per segment: measured 70 ms vs over 1 s). Pens are
cosmetic so line widths stay readable at every zoom.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QContextMenuEvent,
    QDrag,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QMenu,
    QWidget,
)

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.roads import RoadNetwork
from rtcc_wall.ui import theme
from rtcc_wall.ui.dnd import CameraDrag, camera_mime

# group -> (colour, cosmetic width px, z)
ROAD_STYLE: dict[str, tuple[str, float, float]] = {
    "local": ("#3a414d", 1.2, 1),
    "collector": ("#5b6575", 1.8, 2),
    "arterial": ("#b59a52", 2.6, 3),
    "motorway": ("#d0763a", 3.4, 4),
}
#: Reachable area bands, by earliest arrival: first quarter of the time ... last quarter.
#: (a single-hue ramp, so the vivid route colours stand out on top of it)
REACH_COLOURS = ("#e6f7ff", "#91d5ff", "#40a9ff", "#1765ad")
CLICK_SLOP_PX = 5
CAMERA_ICON_PX = 9


def scene_point(x: float, y: float) -> QPointF:
    return QPointF(x, -y)


class CameraItem(QGraphicsEllipseItem):
    """A camera icon: a dot in its ownership colour, ignoring zoom."""

    def __init__(self, camera: Camera) -> None:
        r = CAMERA_ICON_PX / 2
        super().__init__(-r, -r, 2 * r, 2 * r)
        self.camera = camera
        self.setPos(scene_point(camera.x, camera.y))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        color = theme.CITY if camera.ownership == "city" else theme.PRIVATE
        self.setBrush(QBrush(color))
        self.setPen(QPen(QColor("#0b0d10"), 1.5))
        self.setZValue(20)
        self.setToolTip(
            f"{camera.name}\n{camera.id} · {camera.ownership}\n"
            f"heading {camera.heading_deg:.0f}°, FOV {camera.fov_deg:.0f}°, "
            f"range {camera.range_m:.0f} m"
        )
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_emphasis(self, level: int) -> None:
        """0 normal, 1 near the incident, 2 sees the incident point."""
        pen = QPen(QColor("#0b0d10"), 1.5)
        if level == 1:
            pen = QPen(QColor("white"), 2.0)
        elif level == 2:
            pen = QPen(theme.INCIDENT, 3.0)
        self.setPen(pen)
        self.setScale(1.35 if level else 1.0)


class MapView(QGraphicsView):
    """Pan with a left drag, zoom with the wheel; click to set an incident or pick a camera."""

    camera_clicked = Signal(str)
    incident_requested = Signal(float, float)  # local metres x, y

    def __init__(
        self,
        network: RoadNetwork,
        cameras: Iterable[Camera],
        parent: QWidget | None = None,
        *,
        attribution: str = "",
    ) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        #: the map data's credit line, always visible in the bottom-right corner
        # a child of the view, not of the viewport: scrolling moves the viewport's children
        self.attribution = QLabel(attribution, self)
        self.attribution.setObjectName("mapAttribution")
        self.attribution.setStyleSheet(
            "QLabel#mapAttribution { background: rgba(15,18,22,200); color: #aab4c0;"
            " padding: 1px 5px; font-size: 8pt; }"
        )
        self.attribution.setVisible(bool(attribution))
        self.attribution.adjustSize()
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setBackgroundBrush(QColor("#0f1216"))
        self._network = network
        self._camera_items: dict[str, CameraItem] = {}
        self._fov_items: dict[str, QGraphicsPathItem] = {}
        self._incident_items: list[QGraphicsItem] = []
        self._reach_items: list[QGraphicsPathItem] = []
        self._route_items: list[QGraphicsPathItem] = []
        self._gap_items: list[QGraphicsPathItem] = []
        self._press: QPointF | None = None
        self._panning = False
        self._press_camera: str | None = None
        self._draw_roads(network)
        for cam in cameras:
            self._add_camera(cam)
        x0, y0, x1, y1 = network.bounds()
        margin = 300.0
        self._world = QRectF(
            x0 - margin, -y1 - margin, (x1 - x0) + 2 * margin, (y1 - y0) + 2 * margin
        )
        self.setSceneRect(self._world.adjusted(-3000, -3000, 3000, 3000))

    # --- building --------------------------------------------------------------
    def _draw_roads(self, network: RoadNetwork) -> None:
        paths: dict[str, QPainterPath] = {g: QPainterPath() for g in ROAD_STYLE}
        for seg in network.segments:
            path = paths.get(seg.group, paths["local"])
            pts = seg.coords
            path.moveTo(pts[0, 0], -pts[0, 1])
            for x, y in pts[1:].tolist():
                path.lineTo(x, -y)
        for group, path in paths.items():
            color, width, z = ROAD_STYLE[group]
            pen = QPen(QColor(color), width)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            item = QGraphicsPathItem(path)
            item.setPen(pen)
            item.setZValue(z)
            item.setData(0, f"roads:{group}")
            self.scene().addItem(item)

    def _add_camera(self, cam: Camera) -> None:
        wedge = QPainterPath()
        poly = cam.fov_polygon.exterior.coords
        wedge.addPolygon(QPolygonF([QPointF(x, -y) for x, y in poly]))
        color = QColor(theme.CITY if cam.ownership == "city" else theme.PRIVATE)
        fill = QColor(color)
        fill.setAlpha(55)
        edge = QColor(color)
        edge.setAlpha(150)
        fov = QGraphicsPathItem(wedge)
        fov.setBrush(QBrush(fill))
        pen = QPen(edge, 1.0)
        pen.setCosmetic(True)
        fov.setPen(pen)
        fov.setZValue(10)
        self.scene().addItem(fov)
        item = CameraItem(cam)
        self.scene().addItem(item)
        self._camera_items[cam.id] = item
        self._fov_items[cam.id] = fov

    # --- view ------------------------------------------------------------------
    def fit_city(self) -> None:
        self.fitInView(self._world, Qt.AspectRatioMode.KeepAspectRatio)

    def center_on_xy(self, x: float, y: float, width_m: float | None = None) -> None:
        if width_m is not None:
            rect = QRectF(x - width_m / 2, -y - width_m / 2, width_m, width_m)
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.centerOn(scene_point(x, y))

    def xy_to_viewport(self, x: float, y: float) -> QPointF:
        return QPointF(self.mapFromScene(scene_point(x, y)))

    def camera_item(self, camera_id: str) -> CameraItem:
        return self._camera_items[camera_id]

    # --- incident --------------------------------------------------------------
    def show_incident(self, x: float, y: float, radius_m: float, emphasis: dict[str, int]) -> None:
        self.clear_incident()
        ring = QGraphicsEllipseItem(x - radius_m, -y - radius_m, 2 * radius_m, 2 * radius_m)
        pen = QPen(theme.INCIDENT, 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        ring.setPen(pen)
        fill = QColor(theme.INCIDENT)
        fill.setAlpha(28)
        ring.setBrush(QBrush(fill))
        ring.setZValue(5)
        marker = QGraphicsPathItem(_marker_path())
        marker.setPos(scene_point(x, y))
        marker.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        marker.setBrush(QBrush(theme.INCIDENT))
        marker.setPen(QPen(QColor("white"), 1.5))
        marker.setZValue(30)
        marker.setData(0, "incident")
        for it in (ring, marker):
            self.scene().addItem(it)
            self._incident_items.append(it)
        for cid, item in self._camera_items.items():
            item.set_emphasis(emphasis.get(cid, 0))

    def clear_incident(self) -> None:
        for it in self._incident_items:
            self.scene().removeItem(it)
        self._incident_items.clear()
        for item in self._camera_items.values():
            item.set_emphasis(0)

    # --- escape routes -----------------------------------------------------------
    def show_reachable(
        self, coords: list[npt.NDArray[np.float64]], t0_s: npt.NDArray[np.float64], minutes: float
    ) -> None:
        """The reachable part of the network, coloured by earliest arrival (4 bands).

        One path item per band: a few items however large the area is.
        """
        for it in self._reach_items:
            self.scene().removeItem(it)
        self._reach_items.clear()
        if minutes <= 0 or not coords:
            return
        limit = minutes * 60.0
        bands = [QPainterPath() for _ in REACH_COLOURS]
        for pts, t in zip(coords, t0_s.tolist(), strict=True):
            band = min(len(bands) - 1, int(len(bands) * t / limit)) if limit > 0 else 0
            path = bands[band]
            path.moveTo(pts[0, 0], -pts[0, 1])
            for x, y in pts[1:].tolist():
                path.lineTo(x, -y)
        for path, colour in zip(bands, REACH_COLOURS, strict=True):
            item = QGraphicsPathItem(path)
            c = QColor(colour)
            c.setAlpha(95)
            pen = QPen(c, 3.5)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            item.setPen(pen)
            item.setZValue(6)
            item.setData(0, "reachable")
            self.scene().addItem(item)
            self._reach_items.append(item)

    def show_routes(
        self, routes: list[tuple[npt.NDArray[np.float64], QColor]], selected: int = -1
    ) -> None:
        """Route polylines in their colours; the selected one drawn on top, thicker."""
        for it in self._route_items:
            self.scene().removeItem(it)
        self._route_items.clear()
        for i, (coords, colour) in enumerate(routes):
            path = QPainterPath()
            path.moveTo(coords[0, 0], -coords[0, 1])
            for x, y in coords[1:].tolist():
                path.lineTo(x, -y)
            if i == selected:
                # a dark casing under the selected route keeps it readable on any background
                casing = QGraphicsPathItem(path)
                cpen = QPen(QColor("#05070a"), 9.0)
                cpen.setCosmetic(True)
                cpen.setCapStyle(Qt.PenCapStyle.RoundCap)
                cpen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
                casing.setPen(cpen)
                casing.setZValue(8.5)
                self.scene().addItem(casing)
                self._route_items.append(casing)
            item = QGraphicsPathItem(path)
            pen = QPen(colour, 5.0 if i == selected else 3.0)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            if selected >= 0 and i != selected:
                faded = QColor(colour)
                faded.setAlpha(110)
                pen.setColor(faded)
            item.setPen(pen)
            item.setZValue(8 if i != selected else 9)
            item.setData(0, f"route:{i}")
            item.setToolTip(f"Route {i + 1}")
            self.scene().addItem(item)
            self._route_items.append(item)

    def show_gaps(self, stretches: list[npt.NDArray[np.float64]]) -> None:
        """Stretches of the selected route that no camera sees, dashed over the route."""
        for it in self._gap_items:
            self.scene().removeItem(it)
        self._gap_items.clear()
        if not stretches:
            return
        path = QPainterPath()
        for pts in stretches:
            path.moveTo(pts[0, 0], -pts[0, 1])
            for x, y in pts[1:].tolist():
                path.lineTo(x, -y)
        item = QGraphicsPathItem(path)
        pen = QPen(QColor("#f0f0f0"), 2.0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        item.setPen(pen)
        item.setZValue(10)
        item.setData(0, "gaps")
        item.setToolTip("No camera sees this stretch")
        self.scene().addItem(item)
        self._gap_items.append(item)

    @property
    def gap_items(self) -> list[QGraphicsPathItem]:
        return list(self._gap_items)

    def clear_escape(self) -> None:
        self.show_reachable([], np.zeros(0), 0.0)
        self.show_routes([])
        self.show_gaps([])

    @property
    def route_items(self) -> list[QGraphicsPathItem]:
        return list(self._route_items)

    @property
    def reachable_items(self) -> list[QGraphicsPathItem]:
        return list(self._reach_items)

    @property
    def incident_marker(self) -> QGraphicsItem | None:
        return next((i for i in self._incident_items if i.data(0) == "incident"), None)

    # --- mouse -----------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt naming
        # QGraphicsView hints at its whole scene (thousands of pixels for a city): the
        # splitter would then starve the wall. The map is happy with any size.
        return QSize(480, 360)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt naming
        super().resizeEvent(event)
        a = self.attribution
        a.adjustSize()
        m = self.contentsMargins()
        size = event.size()
        a.move(
            max(0, size.width() - m.right() - a.width() - 2),
            max(0, size.height() - m.bottom() - a.height() - 2),
        )
        a.raise_()

    def camera_at(self, pos: QPointF) -> CameraItem | None:
        for item in self.items(pos.toPoint()):
            if isinstance(item, CameraItem):
                return item
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt naming
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            self._panning = False
            # pressing on a camera and moving drags it (onto a wall tile); elsewhere pans
            cam = self.camera_at(event.position())
            self._press_camera = cam.camera.id if cam is not None else None
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            delta = event.position() - self._press
            moved = math.hypot(delta.x(), delta.y()) > CLICK_SLOP_PX
            if moved and not self._panning and self._press_camera is not None:
                camera_id, self._press, self._press_camera = self._press_camera, None, None
                self._drag_camera(camera_id)
                event.accept()
                return
            if self._panning or moved:
                self._panning = True
                self.setCursor(Qt.CursorShape.ClosedHandCursor)
                h, v = self.horizontalScrollBar(), self.verticalScrollBar()
                h.setValue(h.value() - round(delta.x()))
                v.setValue(v.value() - round(delta.y()))
                self._press = event.position()
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._press is not None:
            was_pan = self._panning
            self._press = None
            self._panning = False
            self.unsetCursor()
            if not was_pan:
                self._click(event.position())
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _drag_camera(self, camera_id: str) -> None:
        drag = QDrag(self)
        drag.setMimeData(camera_mime(CameraDrag(camera_id)))
        drag.exec(Qt.DropAction.CopyAction)

    def _click(self, pos: QPointF) -> None:
        cam = self.camera_at(pos)
        if cam is not None:
            self.camera_clicked.emit(cam.camera.id)
            return
        sp = self.mapToScene(pos.toPoint())
        self.incident_requested.emit(sp.x(), -sp.y())

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        factor = 1.25**steps
        scale = self.transform().m11() * factor
        if 0.02 <= scale <= 40:
            self.scale(factor, factor)
        event.accept()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        pos = QPointF(event.pos())
        menu = QMenu(self)
        cam = self.camera_at(pos)
        if cam is not None:
            menu.addAction(f"Show {cam.camera.name} on the wall").triggered.connect(
                lambda: self.camera_clicked.emit(cam.camera.id)
            )
        sp = self.mapToScene(event.pos())
        menu.addAction("Incident here").triggered.connect(
            lambda: self.incident_requested.emit(sp.x(), -sp.y())
        )
        menu.addAction("Fit city").triggered.connect(self.fit_city)
        menu.exec(event.globalPos())


def _marker_path() -> QPainterPath:
    """A map pin, 22 px tall, its tip at (0, 0)."""
    p = QPainterPath()
    p.moveTo(0, 0)
    p.cubicTo(-3, -6, -9, -10, -9, -15)
    p.arcTo(-9, -24, 18, 18, 180, -180)
    p.cubicTo(9, -10, 3, -6, 0, 0)
    p.closeSubpath()
    p.addEllipse(QPointF(0, -15), 3.5, 3.5)
    return p
