"""Renders the application icon's PNG sizes and the Windows .ico from rtcc-wall.svg.

Run after changing the SVG, and commit what it writes:

    QT_QPA_PLATFORM=offscreen python3 resources/icons/render_icons.py

Writes ``rtcc-wall-<N>.png`` for N in SIZES (the freedesktop hicolor sizes)
and ``rtcc-wall.ico`` (16-256 px, PNG-compressed entries, as Windows Vista
and later read them) beside this script. ``--check`` renders into memory and
exits 1 if a committed file is missing or its pixels differ, so a test can
tell a stale PNG from a fresh one.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SVG = HERE / "rtcc-wall.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def png_path(size: int, folder: Path = HERE) -> Path:
    return folder / f"rtcc-wall-{size}.png"


def render(renderer: QSvgRenderer, size: int) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return img.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(img: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, "PNG"):  # type: ignore[call-overload]  # the stub wants bytes
        raise OSError("cannot encode PNG")
    buf.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO file whose entries are PNG images (width/height 0 means 256)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries = b""
    blobs = b""
    for s in sizes:
        blob = pngs[s]
        dim = 0 if s >= 256 else s
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    return header + entries + blobs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files")
    ap.add_argument("--out", type=Path, default=HERE, help="folder to write into")
    args = ap.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"{SVG}: not a valid SVG", file=sys.stderr)
        return 2
    images = {s: render(renderer, s) for s in SIZES}
    if args.check:
        stale = []
        for s, img in images.items():
            committed = QImage(str(png_path(s, args.out)))
            if committed.isNull() or committed.convertToFormat(QImage.Format.Format_ARGB32) != img:
                stale.append(png_path(s, args.out).name)
        if not (args.out / "rtcc-wall.ico").is_file():
            stale.append("rtcc-wall.ico")
        if stale:
            print("stale or missing, re-run render_icons.py: " + ", ".join(stale), file=sys.stderr)
            return 1
        print(f"{len(images)} PNGs match {SVG.name}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    encoded = {s: png_bytes(img) for s, img in images.items()}
    for s, data in encoded.items():
        png_path(s, args.out).write_bytes(data)
    (args.out / "rtcc-wall.ico").write_bytes(ico_bytes({s: encoded[s] for s in ICO_SIZES}))
    print(f"wrote {len(encoded)} PNGs and rtcc-wall.ico to {args.out}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
