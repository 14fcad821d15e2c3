"""The operator's main window: the wall, the map and the incident panel."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QToolBar,
    QWidget,
)

from rtcc_wall import __version__
from rtcc_wall.config.loader import LoadedConfig
from rtcc_wall.core.incidents import Incident
from rtcc_wall.core.layouts import layout_for as _grid_for
from rtcc_wall.core.masks import MaskController
from rtcc_wall.core.routing import EscapeAnalysis
from rtcc_wall.core.session import AccessSession
from rtcc_wall.core.spatial import CameraIndex
from rtcc_wall.core.views import ViewLibrary, WallState
from rtcc_wall.errors import ConfigError, RtccError
from rtcc_wall.ui.camera_list import CameraList
from rtcc_wall.ui.escape import EscapeRunner, RoutesPanel, polyline_between, route_colour
from rtcc_wall.ui.incident_panel import IncidentPanel
from rtcc_wall.ui.map_view import MapView
from rtcc_wall.ui.messages import MessageBridge
from rtcc_wall.ui.shortcuts import install_wall_keys, install_window_keys
from rtcc_wall.ui.wall import WallWidget
from rtcc_wall.ui.wall_controls import WallControls
from rtcc_wall.video.manager import StreamManager

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from rtcc_wall.core.incident_store import IncidentStore


#: the console wall's key in the saved wall state
CONSOLE_KEY = "console"

#: the console's wall picks at most this many tiles by itself; more cameras make pages
CONSOLE_AUTO_TILES = 16


def layout_for(count: int) -> str:
    """Smallest grid that holds ``count`` cameras, capped at 4x4 (more make pages)."""
    return _grid_for(min(count, CONSOLE_AUTO_TILES))


class MainWindow(QMainWindow):
    def __init__(
        self,
        loaded: LoadedConfig,
        manager: StreamManager,
        *,
        demo: bool,
        layout: str | None = None,
        messages: MessageBridge | None = None,
        session: AccessSession | None = None,
        incidents: IncidentStore | None = None,
        masks: MaskController | None = None,
        views: ViewLibrary | None = None,
        wall_state: WallState | None = None,
    ) -> None:
        super().__init__()
        self.masks = masks
        #: shared + personal named views; None in tests that need none
        self.views = views
        #: what the walls showed at the last exit; saved again at close
        self.wall_state = wall_state
        #: the access gate; None only in tests that exercise the wall without policy
        self.session = session
        self.incidents = incidents
        self.messages = messages or MessageBridge(self)
        self.messages.posted.connect(self._show_message)
        self.loaded = loaded
        self.manager = manager
        self.demo = demo
        self.index = CameraIndex(loaded.cameras.values())
        self.incident: Incident | None = None
        self._focus_incident = False
        self._sized = False
        #: a config reload running on a worker thread (the file changed)
        self._reload: Future[LoadedConfig] | None = None
        self._reload_again = False
        self._reload_pool: ThreadPoolExecutor | None = None
        #: open replay/export dialogs by camera id (closed when a view is revoked)
        self._evidence_dialogs: list[tuple[str, QWidget]] = []
        #: the selected route's arrival windows by camera id (on every wall)
        self._windows: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        #: wall-mode monitors' walls governed by this console (see attach_wall)
        self._attached_walls: list[WallWidget] = []
        cfg = loaded.config
        title = f"rtcc-wall — {cfg.site.name}"
        self.setWindowTitle(title + (" — DEMO, simulated cameras" if demo else ""))

        self.wall = WallWidget(
            manager,
            loaded.cameras,
            layout=layout or cfg.wall.layout,
            display_fps=cfg.wall.display_fps,
            substream_below_px=cfg.wall.substream_below_px,
            gate=session,
        )
        last = wall_state.slates.get(CONSOLE_KEY) if wall_state is not None else None
        if last is not None and last.cameras:
            self.wall.apply_slate(last)
            if layout:
                self.wall.set_layout(layout)
        else:
            start = cfg.wall.cameras or list(loaded.cameras)[: self.wall.tile_count]
            self.wall.set_cameras(start)

        self.wall.tile_menu_requested.connect(self._tile_menu)
        if masks is not None:
            self.wall.set_mask_note(self._mask_note)
        self.map = MapView(
            loaded.network,
            loaded.cameras.values(),
            attribution=cfg.site.attribution_for(cfg.site.road_network),
        )
        self.map.camera_clicked.connect(self._camera_clicked)
        self.map.incident_requested.connect(self.set_incident)

        self.panel = IncidentPanel(cfg.incident.radius_m)
        self.panel.radius_changed.connect(self._radius_changed)
        self.panel.show_on_wall.connect(self.show_incident_on_wall)
        self.panel.clear_requested.connect(self.clear_incident)
        self.panel.camera_activated.connect(self._camera_clicked)
        self.panel.open_requested.connect(self.open_formal_incident)
        self.panel.close_requested.connect(self._close_clicked)
        self.panel.renew_requested.connect(self.renew_reason)

        self.routes_panel = RoutesPanel()
        self.routes_panel.minutes_changed.connect(self._minutes_changed)
        self.routes_panel.ignore_oneway_changed.connect(lambda _on: self._start_escape())
        self.routes_panel.route_selected.connect(self._route_selected)
        self.routes_panel.route_to_wall.connect(self.route_order_on_wall)
        self.escape = EscapeRunner(loaded.network, list(loaded.cameras.values()), self)
        self.escape.finished.connect(self._escape_ready)
        self.escape.failed.connect(self._escape_failed)
        self.camera_list = CameraList(loaded.cameras.values())
        self.camera_list.camera_activated.connect(self._camera_clicked)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.panel, "Nearby cameras")
        self.tabs.addTab(self.routes_panel, "Escape routes")
        self.tabs.addTab(self.camera_list, "Cameras")

        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.map)
        side.addWidget(self.tabs)
        side.setStretchFactor(0, 3)
        side.setStretchFactor(1, 2)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.wall)
        main.addWidget(side)
        # the wall gets about two thirds of the width: pictures first
        main.setStretchFactor(0, 2)
        main.setStretchFactor(1, 1)
        main.setChildrenCollapsible(False)
        self.setCentralWidget(main)
        self._splitter = main

        self._build_toolbar()
        self._build_menus()
        self._status = QLabel()
        self.statusBar().addPermanentWidget(self._status)
        self.statusBar().showMessage(
            f"{len(loaded.cameras)} cameras, {len(loaded.network.segments)} road segments loaded "
            f"from {loaded.path.name}",
            8000,
        )
        self._config_seen = self._config_stamp()
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(1000)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.timeout.connect(self._access_tick)
        self._status_timer.start()
        self._refresh_formal()
        self.resize(1600, 900)
        self.wall.cameras_changed.connect(self._update_status)
        install_wall_keys(self.wall)
        install_window_keys(self, lambda: self.wall, toggle_full_screen=self.toggle_full_screen)

    # --- chrome ------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        tb = QToolBar("Wall")
        tb.setMovable(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        name = QLabel(self.loaded.config.site.name)
        name.setObjectName("siteName")
        tb.addWidget(name)
        if self.demo:
            self.demo_banner = QLabel("DEMO — simulated cameras")
            self.demo_banner.setObjectName("demoBanner")
            self.demo_banner.setToolTip(
                "This is the bundled simulated town (no configuration was found, or the "
                "given one had problems — see the status bar). "
                "Start with --config FILE (or set RTCC_WALL_CONFIG) to use your cameras."
            )
            tb.addWidget(self.demo_banner)
        tb.addSeparator()
        tb.addSeparator()
        self.wall_controls = WallControls(
            self, tb, self.wall, self.views, post=self.messages.post
        )
        self.layout_actions = self.wall_controls.layout_actions
        tb.addSeparator()
        fit = QAction("Fit map", self)
        fit.setToolTip("Show the whole road network on the map")
        fit.triggered.connect(self.map.fit_city)
        tb.addAction(fit)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        ver = QLabel(f"rtcc-wall {__version__}  ")
        ver.setObjectName("hint")
        tb.addWidget(ver)

    def _build_menus(self) -> None:
        from rtcc_wall.ui.shortcuts import ShortcutSheet

        help_menu = self.menuBar().addMenu("&Help")
        keys = help_menu.addAction("Keyboard shortcuts")
        keys.setShortcut("F1")  # shown in the menu; F1 itself is bound by install_window_keys
        keys.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        keys.triggered.connect(lambda: ShortcutSheet(self).exec())
        help_menu.addSeparator()
        help_menu.addAction("About rtcc-wall…").triggered.connect(self.show_about)

    def show_about(self) -> None:
        from rtcc_wall.ui.about import AboutDialog
        from rtcc_wall.video.decode import ffmpeg_build

        try:
            ffmpeg: tuple[str, str] | None = ffmpeg_build()
        except Exception:  # noqa: BLE001 - the dialog then names the licence range
            ffmpeg = None
        AboutDialog(self, ffmpeg=ffmpeg).exec()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt naming
        if not self._sized:
            # the wall gets about 60 % of the width, whatever the map's size hint says
            self._sized = True
            width = max(self._splitter.width(), self.width())
            self._splitter.setSizes([round(width * 0.6), width - round(width * 0.6)])
        QTimer.singleShot(0, self._initial_map_view)

    def _initial_map_view(self) -> None:
        inc = self.incident
        if inc is not None and self._focus_incident:
            self.map.center_on_xy(inc.x, inc.y, width_m=inc.radius_m * 3)
        else:
            self.map.fit_city()

    def _update_status(self) -> None:
        tiles = [t for t in self.wall.visible_tiles() if t.camera is not None]
        live = sum(1 for t in tiles if t.state.value == "live")
        denied = sum(1 for t in tiles if t.state.value == "denied")
        problems = sum(
            1 for t in tiles if t.state.value not in ("live", "connecting", "idle", "denied")
        )
        text = f"{len(tiles)} on wall · {live} live"
        if denied:
            text += f" · {denied} not permitted"
        if problems:
            text += f" · {problems} with problems"
        from rtcc_wall.ui.replay import replay_status_text

        self._status.setText(f"{text} · {replay_status_text(self.manager)}  ")

    def _show_message(self, level: str, text: str) -> None:
        prefix = {"error": "⛔ ", "warning": "⚠ "}.get(level, "")
        self.statusBar().showMessage(prefix + text, 10_000)

    # --- actions -------------------------------------------------------------------
    def _camera_clicked(self, camera_id: str) -> None:
        idx = self.wall.place_camera(camera_id)
        cam = self.loaded.cameras[camera_id]
        self.statusBar().showMessage(f"{cam.name} on tile {idx + 1}", 4000)

    def set_incident(self, x: float, y: float, at: dt.datetime | None = None) -> None:
        lon, lat = self.loaded.projection.to_lonlat(x, y)
        self.incident = Incident(
            x=x, y=y, lon=lon, lat=lat, radius_m=float(self.panel.radius.value())
        )
        if at is not None:
            self.incident.at = at
        self._refresh_incident()
        self._start_escape()

    # --- escape routes ---------------------------------------------------------------
    def _start_escape(self) -> None:
        inc = self.incident
        if inc is None:
            return
        self.map.clear_escape()
        self._set_windows({})  # the old analysis's windows are no longer true
        self.routes_panel.start_incident(inc.at)
        self.escape.request(
            inc.x, inc.y, inc.at, ignore_oneway=self.routes_panel.ignore_oneway.isChecked()
        )

    def _escape_ready(self, analysis: EscapeAnalysis) -> None:
        self.routes_panel.show_analysis(analysis)
        self._minutes_changed(self.routes_panel.minutes)
        self._route_selected(self.routes_panel.selected_route())

    def _escape_failed(self, text: str) -> None:
        self.routes_panel.show_error(text)
        self.messages.post("warning", text)

    def _minutes_changed(self, minutes: float) -> None:
        a = self.routes_panel.analysis
        if a is None:
            return
        edges, t0, _t1 = a.area.edges_within(minutes)
        graph = a.area.graph
        self.map.show_reachable([graph.edge_coords(int(e)) for e in edges], t0, minutes)

    def _route_selected(self, index: int) -> None:
        a = self.routes_panel.analysis
        if a is None:
            return
        self.map.show_routes([(r.coords, route_colour(r)) for r in a.routes], index)
        gaps: list[np.ndarray] = []
        if 0 <= index < len(a.routes):
            r = a.routes[index]
            gaps = [
                polyline_between(r.coords, r.cum_m, g.start_m, g.end_m) for g in r.coverage_gaps
            ]
        self.map.show_gaps(gaps)

    def route_order_on_wall(self, index: int) -> None:
        """Puts a route's cameras on the wall in arrival order, each with its window."""
        a = self.routes_panel.analysis
        if a is None or not 0 <= index < len(a.routes):
            return
        route = a.routes[index]
        ids: list[str] = []
        windows: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        for c in route.cameras:
            if c.camera.id not in windows:
                ids.append(c.camera.id)
                windows[c.camera.id] = (c.earliest_at, c.latest_at)
        if not ids:
            self.statusBar().showMessage(f"Route {index + 1} passes no camera", 6000)
            return
        self.wall.set_layout(layout_for(len(ids)))
        self.wall.set_cameras(ids, view_name=f"Route {index + 1}")
        self._set_windows(windows)
        self.statusBar().showMessage(
            f"Route {index + 1}: {len(ids)} camera(s) on the wall in arrival order", 6000
        )

    def set_incident_lonlat(self, lon: float, lat: float) -> None:
        x, y = self.loaded.projection.to_xy(lon, lat)
        self.set_incident(x, y)
        self.focus_incident()

    def focus_incident(self) -> None:
        """Brings an incident set from outside the map (command line, scenario) into view."""
        if self.incident is not None:
            self._focus_incident = True
            self.map.center_on_xy(
                self.incident.x, self.incident.y, width_m=self.incident.radius_m * 3
            )

    def _radius_changed(self, radius: float) -> None:
        if self.incident is not None:
            self.incident.radius_m = radius
            self._refresh_incident()

    # --- formal incidents and access ----------------------------------------------------
    def _refresh_formal(self) -> None:
        inc = self.session.incident if self.session is not None else None
        who = self.session.operator if self.session is not None else None
        if inc is not None and inc.closed_at is None:
            opened = getattr(inc, "opened_at", None)
            when = f" at {opened.astimezone():%H:%M}" if opened else ""
            text = (
                f"Working incident {inc.id}{when} — private cameras within "
                f"{self.session.policy.settings.private_radius_m:.0f} m may be viewed"  # type: ignore[union-attr]
            )
            self.panel.show_formal(text, is_open=True, can_open=False)
        else:
            role = f" ({who.name}, {who.role})" if who is not None else ""
            self.panel.show_formal(
                f"No open incident: private cameras stay dark{role}.",
                is_open=False,
                can_open=self.incident is not None and self.incidents is not None,
            )

    def open_formal_incident(self, kind: str, case_number: str, reason: str) -> None:
        """Opens an incident at the marked point (audited); private cameras near it may show."""
        if self.session is None or self.incidents is None:
            return
        if self.incident is None:
            self.messages.post("warning", "Mark the incident on the map first")
            return
        inc = self.incident
        try:
            opened = self.incidents.open(
                x=inc.x, y=inc.y, lon=inc.lon, lat=inc.lat, type=kind, case_number=case_number,
                reason=reason, operator=self.session.operator, now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        except (ValueError, RtccError) as e:
            self.messages.post("warning", f"Incident not opened: {e}")
            return
        self.session.set_incident(opened, reason)
        self.messages.post("info", f"Incident {opened.id} opened ({kind}, case {case_number})")
        self._refresh_formal()
        for wall in self.walls():
            wall.recheck_access()

    def renew_reason(self, reason: str) -> None:
        """A new reason for the working incident's views: expired private views may resume."""
        if self.session is None or self.session.incident is None:
            return
        if not reason.strip():
            self.messages.post("warning", "Type the new reason first")
            return
        self.session.set_incident(self.session.incident, reason.strip())
        self.messages.post("info", "New reason recorded; expired private views may resume")
        for wall in self.walls():
            wall.recheck_access()

    def _close_clicked(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        text, ok = QInputDialog.getText(self, "Close incident", "Reason for closing:")
        if ok:
            self.close_formal_incident(text)

    def close_formal_incident(self, reason: str) -> None:
        """Closes the working incident (audited); its private views stop at once."""
        if self.session is None or self.incidents is None or self.session.incident is None:
            return
        try:
            closed = self.incidents.close(
                self.session.incident.id,
                operator=self.session.operator,
                reason=reason.strip() or "closed",
                now=dt.datetime.now(dt.UTC),
            )
        except (KeyError, ValueError, RtccError) as e:
            self.messages.post("warning", f"Incident not closed: {e}")
            return
        self.session.set_incident(closed, None)
        self._access_tick()
        self.session.set_incident(None, None)
        self.messages.post("info", f"Incident {closed.id} closed")
        self._refresh_formal()

    def _config_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.loaded.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def reload_enrollment(self) -> None:
        """The config file changed: take over enrollment changes (waivers!) without a restart.

        Synchronous (loads on this thread); the app's once-a-second check loads
        on a worker thread instead (``_start_reload``), so a big road network
        never stalls the wall. A file that no longer validates changes nothing;
        its problems go to the status bar.
        """
        from rtcc_wall.config.loader import load_config

        try:
            fresh = load_config(self.loaded.path)
        except ConfigError as e:
            self._apply_reload(e)
            return
        self._apply_reload(fresh)

    def _start_reload(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from rtcc_wall.config.loader import load_config

        if self._reload is not None and not self._reload.done():
            self._reload_again = True  # changed again while loading: load once more after
            return
        if self._reload_pool is None:
            self._reload_pool = ThreadPoolExecutor(1, thread_name_prefix="config-reload")
        self._reload = self._reload_pool.submit(load_config, self.loaded.path)

    def _poll_reload(self) -> None:
        fut = self._reload
        if fut is None or not fut.done():
            return
        self._reload = None
        try:
            result: LoadedConfig | ConfigError = fut.result()
        except ConfigError as e:
            result = e
        except Exception as e:  # noqa: BLE001 - a bug in loading must not end the session
            self.messages.post("error", f"Config reload failed: {e}")
            return
        self._apply_reload(result)
        if self._reload_again:
            self._reload_again = False
            self._start_reload()

    def _apply_reload(self, fresh: LoadedConfig | ConfigError) -> None:
        from rtcc_wall.core.enrollment import apply_enrollment

        if isinstance(fresh, ConfigError):
            self.messages.post(
                "warning", f"Config changed but is invalid, not applied: {fresh.problems[0]}"
            )
            return
        change = apply_enrollment(self.loaded.cameras, fresh.cameras)
        if change.empty:
            return
        if self.session is not None:
            self.session.log_config_change(change.summary())
        self.messages.post("info", f"Configuration reloaded: {change.summary()}")
        self._access_tick()

    def lift_masks(self, camera_id: str, reason: str) -> bool:
        """A supervisor lifts a camera's privacy masks for a while (audited, reverts itself)."""
        if self.masks is None or self.session is None:
            return False
        inc = self.session.incident
        try:
            lift = self.masks.lift(
                camera_id,
                self.session.operator,
                reason,
                dt.datetime.now(dt.UTC),
                incident_id=inc.id if inc is not None else None,
            )
        except (PermissionError, ValueError, KeyError, RtccError) as e:
            self.messages.post("warning", f"Masks not lifted: {e}")
            return False
        self.messages.post(
            "warning",
            f"Privacy masks of {camera_id} lifted until {lift.until.astimezone():%H:%M:%S}",
        )
        return True

    def _mask_note(self, camera_id: str) -> str | None:
        if self.masks is None:
            return None
        lift = self.masks.current_lift(camera_id, dt.datetime.now(dt.UTC))
        return f"UNMASKED until {lift.until.astimezone():%H:%M}" if lift else None

    def restore_masks(self, camera_id: str) -> None:
        if self.masks is None or self.session is None:
            return
        try:
            self.masks.restore(camera_id, self.session.operator, dt.datetime.now(dt.UTC))
        except RtccError as e:
            self.messages.post("warning", f"Masks restored, but not yet logged: {e}")

    def _tile_menu(self, tile: object, pos: object) -> None:
        from PySide6.QtWidgets import QInputDialog, QMenu

        from rtcc_wall.ui.tile import CameraTile

        if not isinstance(tile, CameraTile) or tile.camera is None:
            return
        cam = tile.camera
        menu = QMenu(self)
        replay = menu.addAction("Instant replay…")
        replay.triggered.connect(lambda: self.open_replay(cam.id))
        replay.setEnabled(self.session is not None)  # (it is audited)
        export = menu.addAction("Export evidence…")
        export.triggered.connect(lambda: self.open_export(cam.id))
        export.setEnabled(self.session is not None)
        menu.addSeparator()
        masks = self.masks
        if masks is None:
            pass  # a wall without access control (tests): no mask actions
        elif not getattr(cam, "masks", ()):
            menu.addAction("No privacy masks on this camera").setEnabled(False)
        elif masks.current_lift(cam.id, dt.datetime.now(dt.UTC)) is None:

            def ask() -> None:
                text, ok = QInputDialog.getText(
                    self, "Lift privacy masks", f"Reason to lift the masks of {cam.name}:"
                )
                if ok:
                    self.lift_masks(cam.id, text)

            menu.addAction("Lift privacy masks… (supervisor)").triggered.connect(ask)
        else:
            menu.addAction("Restore privacy masks now").triggered.connect(
                lambda: self.restore_masks(cam.id)
            )
        menu.exec(pos)  # type: ignore[call-overload]

    def open_replay(self, camera_id: str) -> QWidget | None:
        """The replay viewer of a camera on the wall (its masks burned in); None if unavailable.

        Opening and closing it are audited (``replay_open`` / ``replay_close``, with
        the span of pictures the buffer held); no audit log, no replay.
        """
        from rtcc_wall.ui.replay import ReplayDialog, ReplayUnavailable

        cam = self.loaded.cameras.get(camera_id)
        session = self.session
        if cam is None or session is None:  # no session, no audit: no replay (as export)
            return None
        provider = self.masks.provider(camera_id) if self.masks is not None else None
        try:
            dlg = ReplayDialog(cam, self.manager, provider, self)
        except ReplayUnavailable as e:
            self.messages.post("warning", str(e))
            return None
        replay_id = session.open_replay(camera_id, dlg.times[0], dlg.times[-1])
        if replay_id is None:
            dlg.reject()  # nothing was shown; the dialog lets go of every picture
            self.messages.post("error", "Audit log unavailable: replay refused")
            return None
        dlg.closed_for_privacy.connect(
            lambda _m, r=replay_id: session.close_replay(r, code="view_ended")
        )
        dlg.finished.connect(lambda _r, r=replay_id: session.close_replay(r))
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        self._evidence_dialogs.append((camera_id, dlg))
        dlg.finished.connect(lambda _r, d=dlg: self._forget_dialog(d))
        return dlg

    def open_export(self, camera_id: str) -> QWidget | None:
        """The evidence export dialog for a camera's replay buffer; None if unavailable."""
        from rtcc_wall.ui.export_dialog import ExportUnavailable, open_export

        cam = self.loaded.cameras.get(camera_id)
        if cam is None or self.session is None:
            return None
        try:
            dlg = open_export(
                cam, self.manager, self.session, site_name=self.loaded.site_name, parent=self
            )
        except ExportUnavailable as e:
            self.messages.post("warning", str(e))
            return None
        dlg.exported.connect(lambda r: self.messages.post("info", f"Exported to {r.path}"))
        self._evidence_dialogs.append((camera_id, dlg))
        dlg.finished.connect(lambda _r, d=dlg: self._forget_dialog(d))
        return dlg

    def _forget_dialog(self, dialog: object) -> None:
        self._evidence_dialogs = [(c, d) for c, d in self._evidence_dialogs if d is not dialog]

    def _access_tick(self) -> None:
        """Every second: views the policy no longer allows leave the wall, saying why."""
        stamp = self._config_stamp()
        self._poll_reload()
        if stamp is not None and stamp != self._config_seen:
            self._config_seen = stamp
            self._start_reload()
        if self.masks is not None:
            for lift in self.masks.expire(dt.datetime.now(dt.UTC)):
                self.messages.post("info", f"Privacy masks of {lift.camera_id} are back")
        if self.session is None:
            return
        for r in self.session.tick():
            for wall in self.walls():
                wall.revoke(r.holder, r.message)
            for cid, dlg in list(self._evidence_dialogs):
                if cid == r.camera_id and hasattr(dlg, "revoke"):
                    dlg.revoke(r.message)

    def _refresh_incident(self) -> None:
        inc = self.incident
        if inc is None:
            return
        inc.refresh(self.index)
        emphasis = {n.camera.id: (2 if n.covers_point else 1) for n in inc.nearby}
        self.map.show_incident(inc.x, inc.y, inc.radius_m, emphasis)
        self.panel.show_incident(inc)
        self._refresh_formal()
        self.statusBar().showMessage(
            f"Incident marked: {len(inc.nearby)} camera(s) within {inc.radius_m:.0f} m", 6000
        )

    def show_incident_on_wall(self) -> None:
        if self.incident is None or not self.incident.nearby:
            return
        ids = self.incident.best_camera_ids(CONSOLE_AUTO_TILES)
        self.wall.set_layout(layout_for(len(ids)))
        self.wall.set_cameras(ids, view_name="Incident")
        self.statusBar().showMessage(f"{len(ids)} incident camera(s) on the wall, best first", 6000)

    def clear_incident(self) -> None:
        self.incident = None
        self.escape.cancel_all()
        self.map.clear_incident()
        self.map.clear_escape()
        self.panel.show_incident(None)
        self._refresh_formal()
        self.routes_panel.clear()
        self._set_windows({})

    def _set_windows(self, windows: dict[str, tuple[dt.datetime, dt.datetime]]) -> None:
        """The route's arrival windows on every wall: a route camera put on a wall
        monitor shows (and highlights) its window there too."""
        self._windows = windows
        for wall in self.walls():
            wall.set_windows(windows)

    # --- wall mode hook (rtcc_wall/ui/wall_mode.py) -------------------------------------
    def attach_wall(self, wall: WallWidget) -> None:
        """Another wall (a wall-mode monitor) this console governs: the access ticks revoke
        and recheck its views, its tiles get this console's tile menu and mask notes."""
        if wall not in self._attached_walls:
            self._attached_walls.append(wall)
            wall.tile_menu_requested.connect(self._tile_menu)
            if self.masks is not None:
                wall.set_mask_note(self._mask_note)
            wall.set_windows(self._windows)

    def detach_wall(self, wall: WallWidget) -> None:
        if wall in self._attached_walls:
            self._attached_walls.remove(wall)

    def walls(self) -> list[WallWidget]:
        """The console's wall, then every attached wall."""
        return [self.wall, *self._attached_walls]

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def save_wall_state(self) -> None:
        """Remembers what the wall shows, for the next start (problems reach the status bar)."""
        if self.wall_state is None:
            return
        self.wall_state.slates[CONSOLE_KEY] = self.wall.slate()
        try:
            self.wall_state.save()
        except OSError as e:
            self.messages.post("warning", f"The wall's views were not saved: {e}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.session is not None:  # before Qt closes the replay windows ("closed")
            for replay_id in self.session.open_replays():
                self.session.close_replay(replay_id, code="app_stop")
        self.save_wall_state()
        self._status_timer.stop()
        if self._reload_pool is not None:
            self._reload_pool.shutdown(wait=False, cancel_futures=True)
        self.escape.shutdown()
        self.wall.shutdown()
        super().closeEvent(event)
