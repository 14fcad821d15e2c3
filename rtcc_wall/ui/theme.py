"""Dark control-room theme: low glare, high contrast for states that matter."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BG = "#14171c"
PANEL = "#1c2027"
PANEL_2 = "#232832"
BORDER = "#323946"
TEXT = "#d7dce4"
TEXT_DIM = "#8b94a3"
ACCENT = "#3d8bfd"

CITY = QColor("#3d8bfd")
PRIVATE = QColor("#f0a32a")
INCIDENT = QColor("#ff4d4f")

STATE_COLORS: dict[str, QColor] = {
    "live": QColor("#2ecc71"),
    "stale": QColor("#ff8c1a"),
    "connecting": QColor("#8b94a3"),
    "reconnecting": QColor("#e0b000"),
    "offline": QColor("#e5484d"),
    "auth_failed": QColor("#e5484d"),
    "unsupported": QColor("#e5484d"),
    "denied": QColor("#b04bff"),
    "idle": QColor("#5a6270"),
}

STYLESHEET = f"""
QWidget {{ background: {BG}; color: {TEXT}; font-size: 10pt; }}
QMainWindow::separator {{ background: {BORDER}; width: 2px; height: 2px; }}
QSplitter::handle {{ background: {BORDER}; }}
QToolBar {{ background: {PANEL}; border: none; border-bottom: 1px solid {BORDER}; spacing: 4px;
            padding: 3px; }}
QToolButton {{ background: {PANEL_2}; border: 1px solid {BORDER}; border-radius: 4px;
               padding: 4px 10px; color: {TEXT}; }}
QToolButton:checked {{ background: {ACCENT}; border-color: {ACCENT}; color: white; }}
QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton {{ background: {PANEL_2}; border: 1px solid {BORDER}; border-radius: 4px;
               padding: 5px 12px; }}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:disabled {{ color: {TEXT_DIM}; }}
QPushButton#primary {{ background: {ACCENT}; border-color: {ACCENT}; color: white;
                       font-weight: bold; }}
QPushButton#primary:disabled {{ background: {PANEL_2}; border-color: {BORDER};
                                color: {TEXT_DIM}; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; color: {TEXT_DIM}; }}
QLabel#demoBanner {{ background: #f0a32a; color: #111; font-weight: bold; padding: 3px 10px;
                     border-radius: 3px; }}
QLabel#siteName {{ font-weight: bold; padding: 0 8px; }}
QLabel#panelTitle {{ font-weight: bold; font-size: 11pt; color: white; }}
QLabel#hint {{ color: {TEXT_DIM}; }}
QTreeWidget {{ background: {PANEL}; alternate-background-color: {PANEL_2};
               border: 1px solid {BORDER}; }}
QHeaderView::section {{ background: {PANEL_2}; color: {TEXT_DIM}; border: none;
                        border-right: 1px solid {BORDER}; padding: 4px; }}
QSpinBox {{ background: {PANEL_2}; border: 1px solid {BORDER}; border-radius: 3px;
            padding: 2px 4px; }}
QGraphicsView {{ border: 1px solid {BORDER}; background: #0f1216; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QMenu::item:selected {{ background: {ACCENT}; }}
QToolTip {{ background: {PANEL_2}; color: {TEXT}; border: 1px solid {BORDER}; }}
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(BG))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Base, QColor(PANEL))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(PANEL_2))
    pal.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Button, QColor(PANEL_2))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("white"))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(PANEL_2))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(TEXT))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)
