"""Wall layouts: uniform grids and focus layouts, as cells on a grid (no Qt).

A layout is a grid of ``rows`` x ``cols`` unit cells and a list of tiles, each
covering a rectangle of cells. Uniform grids ``1x1`` .. ``8x8`` have one tile
per cell. Focus layouts give one or two cameras a large tile and surround them
with small ones, as control rooms use them to follow one scene closely while
keeping an eye on its neighbours:

* ``1+5``  -- 3x3 cells: one 2x2 tile top left, five small tiles around it;
* ``1+7``  -- 4x4 cells: one 3x3 tile top left, seven small tiles around it;
* ``2+8``  -- 4x4 cells: two 2x2 tiles on top, eight small tiles below;
* ``1+12`` -- 4x4 cells: one 2x2 tile in the middle, twelve around it.

Tile order is reading order of the tiles' top-left corners, so the large
tile(s) come first: the first camera of a view gets the big picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """A tile's rectangle on the layout grid (in unit cells)."""

    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1


@dataclass(frozen=True)
class Layout:
    name: str
    rows: int
    cols: int
    cells: tuple[Cell, ...]
    #: what the toolbar and the shortcut help call it
    title: str

    @property
    def tiles(self) -> int:
        return len(self.cells)

    @property
    def is_focus(self) -> bool:
        return any(c.rowspan > 1 or c.colspan > 1 for c in self.cells)


def _grid(n: int) -> Layout:
    cells = tuple(Cell(r, c) for r in range(n) for c in range(n))
    return Layout(f"{n}x{n}", n, n, cells, f"{n}×{n} grid")


def _focus(name: str, rows: int, cols: int, big: list[Cell], title: str) -> Layout:
    covered = {(r, c) for b in big for r in range(b.row, b.row + b.rowspan)
               for c in range(b.col, b.col + b.colspan)}  # fmt: skip
    small = [Cell(r, c) for r in range(rows) for c in range(cols) if (r, c) not in covered]
    cells = sorted([*big, *small], key=lambda c: (c.row, c.col))
    # big tiles first (the first cameras of a view get them), then the rest in reading order
    ordered = tuple(sorted(cells, key=lambda c: (c.rowspan * c.colspan == 1, c.row, c.col)))
    return Layout(name, rows, cols, ordered, title)


GRIDS: tuple[Layout, ...] = tuple(_grid(n) for n in range(1, 9))
FOCUS: tuple[Layout, ...] = (
    _focus("1+5", 3, 3, [Cell(0, 0, 2, 2)], "1 large + 5"),
    _focus("1+7", 4, 4, [Cell(0, 0, 3, 3)], "1 large + 7"),
    _focus("2+8", 4, 4, [Cell(0, 0, 2, 2), Cell(0, 2, 2, 2)], "2 large + 8"),
    _focus("1+12", 4, 4, [Cell(1, 1, 2, 2)], "1 large + 12"),
)
LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in (*GRIDS, *FOCUS)}
#: the most tiles any layout has (8x8)
MAX_TILES = max(lay.tiles for lay in LAYOUTS.values())


def get_layout(name: str) -> Layout:
    """The layout called ``name``; ValueError naming the known ones otherwise."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(
            f"unknown layout {name!r}; known layouts: {', '.join(LAYOUTS)}"
        ) from None


def layout_for(count: int) -> str:
    """Smallest uniform grid that holds ``count`` cameras (8x8 at most)."""
    for lay in GRIDS:
        if count <= lay.tiles:
            return lay.name
    return GRIDS[-1].name


def page_count(cameras: int, tiles: int) -> int:
    """Pages needed to show ``cameras`` on ``tiles`` tiles (at least one)."""
    if tiles <= 0:
        return 1
    return max(1, -(-cameras // tiles))


def page_slice(cameras: Sequence[str | None], tiles: int, page: int) -> list[str | None]:
    """The cameras of ``page`` (wrapped into range), padded with None to ``tiles``."""
    pages = page_count(len(cameras), tiles)
    page %= pages
    part: list[str | None] = list(cameras[page * tiles : (page + 1) * tiles])
    return part + [None] * (tiles - len(part))
