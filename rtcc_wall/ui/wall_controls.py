"""Toolbar controls of a wall: layout, named views, pages and the camera tour."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from rtcc_wall.core.layouts import FOCUS, GRIDS
from rtcc_wall.core.views import View, ViewError, ViewLibrary, WallSlate
from rtcc_wall.ui.wall import WallWidget


class WallControls(QObject):
    """Layout menu, views menu, page buttons and tour switch for one wall."""

    def __init__(
        self,
        host: QWidget,
        toolbar: QToolBar,
        wall: WallWidget,
        views: ViewLibrary | None,
        *,
        post: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__(host)
        self.host = host
        self.wall = wall
        self.views = views
        self._post = post or (lambda _level, _text: None)

        # layout: one menu with every layout, the current one checked
        self.layout_button = QToolButton(host)
        self.layout_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.layout_button.setToolTip("Wall layout (keys 1-8: grids, 9: focus layouts)")
        menu = QMenu(self.layout_button)
        group = QActionGroup(self)
        self.layout_actions: dict[str, QAction] = {}
        for i, lay in enumerate([*GRIDS, *FOCUS]):
            if i == len(GRIDS):
                menu.addSeparator()
            act = QAction(lay.title, self)
            act.setCheckable(True)
            act.triggered.connect(lambda _c=False, n=lay.name: self.wall.set_layout(n))
            group.addAction(act)
            menu.addAction(act)
            self.layout_actions[lay.name] = act
        self.layout_button.setMenu(menu)
        toolbar.addWidget(self.layout_button)

        # named views
        self.views_button = QToolButton(host)
        self.views_button.setText("Views")
        self.views_button.setToolTip("Open a shared or personal view; save the wall as a view")
        self.views_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.views_menu = QMenu(self.views_button)
        self.views_menu.aboutToShow.connect(self._fill_views_menu)
        self.views_button.setMenu(self.views_menu)
        toolbar.addWidget(self.views_button)

        # pages
        self.prev_button = QToolButton(host)
        self.prev_button.setText("◀")
        self.prev_button.setToolTip("Previous page (Page Up)")
        self.prev_button.clicked.connect(lambda: self.wall.previous_page())
        self.page_label = QLabel(host)
        self.page_label.setObjectName("hint")
        self.next_button = QToolButton(host)
        self.next_button.setText("▶")
        self.next_button.setToolTip("Next page (Page Down)")
        self.next_button.clicked.connect(lambda: self.wall.next_page())
        for w in (self.prev_button, self.page_label, self.next_button):
            toolbar.addWidget(w)

        # tour
        self.tour_button = QToolButton(host)
        self.tour_button.setText("Tour")
        self.tour_button.setCheckable(True)
        self.tour_button.setToolTip(
            "Camera tour: turn the pages every N seconds (T starts/stops, Space pauses)"
        )
        self.tour_button.toggled.connect(self._tour_toggled)
        self.tour_seconds = QSpinBox(host)
        self.tour_seconds.setRange(2, 3600)
        self.tour_seconds.setValue(10)
        self.tour_seconds.setSuffix(" s")
        self.tour_seconds.setToolTip("Seconds per page of the tour")
        self.tour_seconds.valueChanged.connect(self._tour_seconds_changed)
        toolbar.addWidget(self.tour_button)
        toolbar.addWidget(self.tour_seconds)

        wall.layout_changed.connect(lambda _n: self.sync())
        wall.page_changed.connect(lambda _p, _n: self.sync())
        wall.tour_changed.connect(self.sync)
        wall.cameras_changed.connect(self.sync)
        self.sync()

    # --- state -> widgets -----------------------------------------------------
    def sync(self) -> None:
        w = self.wall
        lay = w.wall_layout
        self.layout_button.setText(f"Layout: {lay.title}")
        act = self.layout_actions.get(lay.name)
        if act is not None:
            act.setChecked(True)
        pages = w.page_count
        self.page_label.setText(f" Page {w.page + 1}/{pages} ")
        for b in (self.prev_button, self.next_button):
            b.setEnabled(pages > 1)
        running = w.tour_seconds is not None
        self.tour_button.blockSignals(True)
        self.tour_button.setChecked(running)
        self.tour_button.blockSignals(False)
        if running:
            self.tour_button.setText("Tour (paused)" if w.tour_paused else "Tour ▶")
            if w.tour_seconds is not None:
                self.tour_seconds.blockSignals(True)
                self.tour_seconds.setValue(round(w.tour_seconds))
                self.tour_seconds.blockSignals(False)
        else:
            self.tour_button.setText("Tour")

    def _tour_toggled(self, on: bool) -> None:
        self.wall.set_tour(float(self.tour_seconds.value()) if on else None)
        if on and self.wall.page_count <= 1:
            self._post(
                "info",
                "Tour on: it turns pages once the view has more cameras than tiles "
                "(drag more cameras in, or pick a smaller layout)",
            )

    def _tour_seconds_changed(self, value: int) -> None:
        if self.wall.tour_seconds is not None:
            self.wall.set_tour(float(value))

    # --- views ------------------------------------------------------------------
    def _fill_views_menu(self) -> None:
        m = self.views_menu
        m.clear()
        lib = self.views
        if lib is None:
            m.addAction("Views are not available").setEnabled(False)
            return
        head = m.addAction("Shared views (site configuration)")
        head.setEnabled(False)
        if not lib.shared:
            m.addAction("   none configured").setEnabled(False)
        for v in lib.shared:
            m.addAction(f"   {v.name}").triggered.connect(lambda _c=False, v=v: self.open_view(v))
        m.addSeparator()
        head = m.addAction("My views")
        head.setEnabled(False)
        if not lib.personal.views:
            m.addAction("   none saved yet").setEnabled(False)
        for v in lib.personal.views:
            m.addAction(f"   {v.name}").triggered.connect(lambda _c=False, v=v: self.open_view(v))
        m.addSeparator()
        m.addAction("Save this wall as a view…").triggered.connect(self.ask_save)
        if lib.personal.views:
            sub = m.addMenu("Delete one of my views")
            for v in lib.personal.views:
                sub.addAction(v.name).triggered.connect(
                    lambda _c=False, n=v.name: self.delete_view(n)
                )

    def open_view(self, view: View) -> None:
        self.wall.apply_slate(WallSlate.from_view(view))
        self._post("info", f"View {view.name!r}: {len(view.cameras)} camera(s), {view.layout}")

    def current_view(self, name: str) -> View:
        s = self.wall.slate()
        return View(name, s.layout, s.cameras, s.tour_seconds)

    def save_view(self, name: str) -> bool:
        if self.views is None:
            return False
        try:
            self.views.save(self.current_view(name.strip()))
        except (ViewError, OSError) as e:
            QMessageBox.warning(self.host, "View not saved", str(e))
            return False
        self._post("info", f"View {name.strip()!r} saved in {self.views.personal.path}")
        return True

    def ask_save(self) -> None:
        name, ok = QInputDialog.getText(
            self.host, "Save view", "Name of the view (your personal views):",
            text=self.wall.view_name or "",
        )  # fmt: skip
        if ok and name.strip():
            self.save_view(name)

    def delete_view(self, name: str) -> None:
        if self.views is None:
            return
        try:
            if self.views.delete(name):
                self._post("info", f"View {name!r} deleted")
        except OSError as e:
            QMessageBox.warning(self.host, "View not deleted", str(e))
