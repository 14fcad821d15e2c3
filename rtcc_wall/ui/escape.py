"""Escape routes in the UI: the analysis off the GUI thread, and the routes panel.

``EscapeRunner`` runs ``core.routing.analyze`` in a worker thread and hands
the result (or the error) back to the GUI thread through a poster (``gui_thread``); a
newer request makes an older result stale, so a slow answer never overwrites
a newer incident (HOUSE_STYLE 4).
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.redact import redact
from rtcc_wall.core.roads import RoadNetwork
from rtcc_wall.core.routing import (
    CameraFovIndex,
    EscapeAnalysis,
    EscapeRoute,
    RoutingError,
    RoutingGraph,
    analyze,
)
from rtcc_wall.ui.gui_thread import gui_poster

#: Colours of the routes, by ``EscapeRoute.colour_index`` (distinct on a dark map).
ROUTE_COLOURS = (
    "#ff4d4f", "#36cfc9", "#ffc53d", "#9254de", "#73d13d", "#ff85c0", "#40a9ff", "#ffa940",
)  # fmt: skip
#: The reachable area is computed this far, for the 0-20 minute slider.
HORIZON_MIN = 20.0
#: Routes look this far ahead of the incident.
ROUTE_MINUTES = 10.0


def polyline_between(
    coords: npt.NDArray[np.float64], cum_m: npt.NDArray[np.float64], start_m: float, end_m: float
) -> npt.NDArray[np.float64]:
    """The part of a polyline between two distances along it (cum_m: distance at each vertex)."""
    inner = (cum_m > start_m) & (cum_m < end_m)
    a = [np.interp(start_m, cum_m, coords[:, 0]), np.interp(start_m, cum_m, coords[:, 1])]
    b = [np.interp(end_m, cum_m, coords[:, 0]), np.interp(end_m, cum_m, coords[:, 1])]
    return np.vstack([a, coords[inner], b])


def route_colour(route: EscapeRoute) -> QColor:
    return QColor(ROUTE_COLOURS[route.colour_index % len(ROUTE_COLOURS)])


class EscapeRunner(QObject):
    """Computes escape analyses on a worker thread; results arrive on the GUI thread."""

    finished = Signal(object)  # EscapeAnalysis
    failed = Signal(str)

    def __init__(self, network: RoadNetwork, cameras: list[Camera], parent: QObject | None = None):
        super().__init__(parent)
        self._graphs = _Graphs(network)
        self._fov = CameraFovIndex(cameras)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="escape")
        self._generation = 0
        self._post = gui_poster(self._deliver)

    def request(self, x: float, y: float, at: dt.datetime, *, ignore_oneway: bool) -> int:
        """Starts an analysis; returns its generation number."""
        self._generation += 1
        gen = self._generation
        # the worker gets plain values and a poster, never ``self`` (see gui_thread)
        graphs, fov, post = self._graphs, self._fov, self._post

        def work() -> EscapeAnalysis:
            return analyze(
                graphs.get(ignore_oneway),
                fov,
                x,
                y,
                at=at,
                minutes=ROUTE_MINUTES,
                horizon_minutes=HORIZON_MIN,
            )

        fut = self._pool.submit(work)
        fut.add_done_callback(lambda f: post(gen, f))
        return gen

    def cancel_all(self) -> None:
        self._generation += 1

    def shutdown(self) -> None:
        self._generation += 1
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, gen: int, fut: Future[EscapeAnalysis]) -> None:
        if gen != self._generation:
            return  # a newer request superseded this one
        try:
            self.finished.emit(fut.result())
        except RoutingError as e:
            self.failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - boundary: background work reports, never crashes
            self.failed.emit(f"escape-route analysis failed: {redact(repr(e))}")


class _Graphs:
    """The routing graphs of a network, built on first use (on the worker thread)."""

    def __init__(self, network: RoadNetwork) -> None:
        self._network = network
        self._built: dict[bool, RoutingGraph] = {}
        self._lock = threading.Lock()

    def get(self, ignore_oneway: bool) -> RoutingGraph:
        with self._lock:
            g = self._built.get(ignore_oneway)
            if g is None:
                g = RoutingGraph.from_network(self._network, ignore_oneway=ignore_oneway)
                self._built[ignore_oneway] = g
            return g


def _mmss(s: float) -> str:
    return f"{int(s // 60)}:{int(s % 60):02d}"


def _clock(t: dt.datetime) -> str:
    return t.astimezone().strftime("%H:%M:%S")


class RoutesPanel(QWidget):
    """Minutes-since-incident slider, route list with camera windows, route-order action."""

    minutes_changed = Signal(float)
    ignore_oneway_changed = Signal(bool)
    route_selected = Signal(int)  # route index, -1 for none
    route_to_wall = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)
        self.summary = QLabel("Mark an incident to see where a fleeing vehicle can be.")
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)

        row = QHBoxLayout()
        row.addWidget(QLabel("Minutes since incident"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, int(HORIZON_MIN * 10))  # tenths of a minute
        self.slider.setPageStep(10)
        self.slider.valueChanged.connect(self._slider_moved)
        row.addWidget(self.slider, 1)
        self.minutes_label = QLabel("0.0 min")
        self.minutes_label.setMinimumWidth(60)
        row.addWidget(self.minutes_label)
        lay.addLayout(row)

        row2 = QHBoxLayout()
        self.follow_clock = QCheckBox("Follow the clock")
        self.follow_clock.setChecked(True)
        self.follow_clock.setToolTip("Grow the reachable area with the time since the incident")
        # dragging the slider means the operator wants to look at another moment
        self.slider.sliderPressed.connect(lambda: self.follow_clock.setChecked(False))
        self.ignore_oneway = QCheckBox("Ignore one-way streets")
        self.ignore_oneway.setToolTip("A fleeing driver may not care about one-way signs")
        self.ignore_oneway.toggled.connect(self.ignore_oneway_changed)
        row2.addWidget(self.follow_clock)
        row2.addWidget(self.ignore_oneway)
        row2.addStretch(1)
        self.wall_button = QPushButton("Route order on wall")
        self.wall_button.setObjectName("primary")
        self.wall_button.setEnabled(False)
        self.wall_button.setToolTip(
            "Put the selected route's cameras on the wall, in arrival order"
        )
        self.wall_button.clicked.connect(self._to_wall)
        row2.addWidget(self.wall_button)
        lay.addLayout(row2)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Route / camera", "Window (min:s)", "Clock time"])
        self.tree.setRootIsDecorated(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._current_changed)
        lay.addWidget(self.tree, 1)
        self.analysis: EscapeAnalysis | None = None
        self._incident_at: dt.datetime | None = None
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._follow)

    # --- state -----------------------------------------------------------------
    @property
    def minutes(self) -> float:
        return self.slider.value() / 10.0

    def set_minutes(self, minutes: float) -> None:
        self.slider.setValue(round(max(0.0, min(HORIZON_MIN, minutes)) * 10))

    def start_incident(self, at: dt.datetime) -> None:
        self._incident_at = at
        self.analysis = None
        self.tree.clear()
        self.wall_button.setEnabled(False)
        self.summary.setText("Computing escape routes …")
        if self.follow_clock.isChecked():
            self._follow()
        self._clock.start()

    def clear(self) -> None:
        self._incident_at = None
        self._clock.stop()
        self.analysis = None
        self.tree.clear()
        self.wall_button.setEnabled(False)
        self.summary.setText("Mark an incident to see where a fleeing vehicle can be.")

    def show_error(self, text: str) -> None:
        self.summary.setText(f"⚠ {text}")
        self.tree.clear()

    def show_analysis(self, a: EscapeAnalysis) -> None:
        self.analysis = a
        self.tree.clear()
        choke = {c.camera.id for c in a.choke_points}
        n_cams = len({c.camera.id for r in a.routes for c in r.cameras})
        self.summary.setText(
            f"{len(a.routes)} distinct routes over the next {a.minutes:g} min, {n_cams} cameras "
            f"along them, {len(choke)} choke point(s). Speeds {a.speed.slow:g}-{a.speed.fast:g}× "
            "the limit" + (", one-way ignored." if a.ignore_oneway else ".")
        )
        for r in a.routes:
            top = QTreeWidgetItem(
                [
                    f"Route {r.index + 1} — {r.length_m / 1000:.1f} km, heading "
                    f"{r.bearing_deg:.0f}°, {len(r.cameras)} camera(s)",
                    f"+{_mmss(r.earliest_s)}–{_mmss(r.latest_s)}",
                    "leaves the map" if r.destination_kind == "exit" else "",
                ]
            )
            top.setData(0, Qt.ItemDataRole.UserRole, ("route", r.index))
            top.setForeground(0, QBrush(route_colour(r)))
            self.tree.addTopLevelItem(top)
            for c in r.cameras:
                name = c.camera.name + ("  ◆ choke point" if c.camera.id in choke else "")
                child = QTreeWidgetItem(
                    [
                        name,
                        f"+{_mmss(c.earliest_s)}–{_mmss(c.latest_s)}",
                        f"{_clock(c.earliest_at)}–{_clock(c.latest_at)}",
                    ]
                )
                child.setData(0, Qt.ItemDataRole.UserRole, ("camera", r.index))
                child.setToolTip(0, f"{c.camera.id} · {c.camera.ownership}")
                top.addChild(child)
            gaps = sum(g.length_m for g in r.coverage_gaps)
            if r.coverage_gaps:
                gap = QTreeWidgetItem([f"unseen: {len(r.coverage_gaps)} stretch(es), {gaps:.0f} m"])
                gap.setForeground(0, QBrush(QColor("#8b94a3")))
                gap.setData(0, Qt.ItemDataRole.UserRole, ("gap", r.index))
                top.addChild(gap)
        first = self.tree.topLevelItem(0)
        if first is not None:
            self.tree.setCurrentItem(first)

    def selected_route(self) -> int:
        item = self.tree.currentItem()
        if item is None:
            return -1
        data = item.data(0, Qt.ItemDataRole.UserRole)
        return int(data[1]) if data else -1

    # --- internals ---------------------------------------------------------------
    def _slider_moved(self, value: int) -> None:
        self.minutes_label.setText(f"{value / 10:.1f} min")
        self.minutes_changed.emit(value / 10.0)

    def _follow(self) -> None:
        if self._incident_at is None or not self.follow_clock.isChecked():
            return
        elapsed = (dt.datetime.now(dt.UTC) - self._incident_at).total_seconds() / 60.0
        self.set_minutes(elapsed)

    def _current_changed(self, *_args: object) -> None:
        idx = self.selected_route()
        self.wall_button.setEnabled(idx >= 0)
        self.route_selected.emit(idx)

    def _to_wall(self) -> None:
        idx = self.selected_route()
        if idx >= 0:
            self.route_to_wall.emit(idx)
