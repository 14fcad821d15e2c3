"""The About dialog tells the installed truth: versions, licences, map-data attribution."""

from __future__ import annotations

import importlib.metadata as md

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from rtcc_wall import __version__
from rtcc_wall.ui.about import (
    MAIN_DEPENDENCIES,
    OSM_ATTRIBUTION,
    AboutDialog,
    components,
    licence_of,
)


def ffmpeg_build() -> tuple[str, str]:
    """What the running PyAV reports about its FFmpeg (tests may import av; the ui may not)."""
    import av._core

    meta = av._core.library_meta["libavcodec"]
    return str(av._core.ffmpeg_version_info), str(meta["license"])


def test_header_and_attribution(qtbot: QtBot) -> None:
    d = AboutDialog()
    qtbot.addWidget(d)
    assert __version__ == md.version("rtcc-wall")
    assert d.version_label.text() == f"Version {__version__} · licence Apache-2.0"
    body = d.body.toPlainText()
    assert "Map data © OpenStreetMap contributors, ODbL" in body
    assert OSM_ATTRIBUTION in body
    assert "Open Database License" in body
    assert "synthetic" in body
    assert "https://www.openstreetmap.org/copyright" in d.body.toHtml()


def test_every_main_dependency_with_its_installed_version_and_licence(qtbot: QtBot) -> None:
    d = AboutDialog(ffmpeg=ffmpeg_build())
    qtbot.addWidget(d)
    body = d.body.toPlainText()
    listed = {c.name: c for c in d.components}
    for dist, label, _role in MAIN_DEPENDENCIES:
        assert label in listed, label
        assert listed[label].version == md.version(dist)
        assert label in body
    assert "LGPL-3.0" in listed["Qt for Python (PySide6)"].licence
    assert "Apache" in listed["OpenCV"].licence
    assert "BSD" in listed["NumPy"].licence
    assert "BSD" in listed["SciPy"].licence  # a full licence text in metadata: the classifier
    assert "BSD" in listed["Shapely"].licence
    assert listed["PyYAML"].licence == "MIT"
    assert listed["pydantic"].licence == "MIT"
    assert listed["platformdirs"].licence == "MIT"
    version, licence = ffmpeg_build()
    assert listed["FFmpeg (in PyAV)"].version == version
    assert listed["FFmpeg (in PyAV)"].licence == licence
    assert "GPL" in licence  # LGPL or GPL, whichever this build is
    assert "GEOS (in Shapely)" in listed


def test_ffmpeg_without_the_video_layer_names_the_range() -> None:
    ff = {c.name: c for c in components()}["FFmpeg (in PyAV)"]
    assert "LGPL" in ff.licence
    assert "GPL" in ff.licence.replace("LGPL", "")


def test_unknown_package() -> None:
    assert licence_of("no-such-package-rtcc") == "not installed"


def test_copy(qtbot: QtBot) -> None:
    d = AboutDialog()
    qtbot.addWidget(d)
    qtbot.mouseClick(d.copy_button, Qt.MouseButton.LeftButton)
    clip = QGuiApplication.clipboard()
    assert clip is not None
    text = clip.text()
    assert text.startswith(f"rtcc-wall {__version__} (licence Apache-2.0)")
    assert OSM_ATTRIBUTION in text
    assert f"PyYAML {md.version('PyYAML')}: MIT" in text
    assert d.copy_button.text() == "Copied"


@pytest.mark.parametrize("size", [(800, 600), (560, 420)])
def test_renders(qtbot: QtBot, size: tuple[int, int]) -> None:
    d = AboutDialog()
    qtbot.addWidget(d)
    d.resize(*size)
    d.show()
    qtbot.waitExposed(d)
    img = d.grab().toImage()
    assert not img.isNull()
    assert img.width() >= 500
    # the body scrolls rather than pushing the buttons off the dialog
    assert d.copy_button.geometry().bottom() <= d.height()
