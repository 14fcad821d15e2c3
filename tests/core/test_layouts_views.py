"""Layouts, pages, named views and the remembered wall state (no Qt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtcc_wall.core.layouts import (
    FOCUS,
    GRIDS,
    LAYOUTS,
    MAX_TILES,
    get_layout,
    page_count,
    page_slice,
)
from rtcc_wall.core.views import (
    PersonalViews,
    View,
    ViewError,
    ViewLibrary,
    WallSlate,
    WallState,
    view_from_dict,
)


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_layout_covers_its_grid_exactly_once(name: str) -> None:
    lay = get_layout(name)
    covered: list[tuple[int, int]] = []
    for c in lay.cells:
        assert c.row >= 0
        assert c.row + c.rowspan <= lay.rows
        assert c.col >= 0
        assert c.col + c.colspan <= lay.cols
        covered += [
            (r, k)
            for r in range(c.row, c.row + c.rowspan)
            for k in range(c.col, c.col + c.colspan)
        ]
    assert sorted(covered) == [(r, k) for r in range(lay.rows) for k in range(lay.cols)]


def test_layout_catalogue() -> None:
    assert [g.name for g in GRIDS] == [f"{n}x{n}" for n in range(1, 9)]
    assert {f.name: f.tiles for f in FOCUS} == {"1+5": 6, "1+7": 8, "2+8": 10, "1+12": 13}
    assert MAX_TILES == 64
    # the large tiles come first: the first cameras of a view get the big pictures
    assert get_layout("1+7").cells[0].rowspan == 3
    two = get_layout("2+8").cells
    assert two[0].rowspan == two[1].rowspan == 2
    assert two[2].rowspan == 1
    assert get_layout("1+12").cells[0].row == 1  # the big tile is in the middle
    with pytest.raises(ValueError, match="unknown layout '5x4'.*1x1"):
        get_layout("5x4")


def test_pages() -> None:
    cams = [f"c{i}" for i in range(10)]
    assert page_count(10, 4) == 3
    assert page_count(0, 4) == 1
    assert page_count(4, 4) == 1
    assert page_slice(cams, 4, 0) == ["c0", "c1", "c2", "c3"]
    assert page_slice(cams, 4, 2) == ["c8", "c9", None, None]
    assert page_slice(cams, 4, 3) == page_slice(cams, 4, 0)  # wraps around
    assert page_slice([], 4, 0) == [None] * 4


def test_view_validation_names_the_problem() -> None:
    with pytest.raises(ViewError, match=r"f.yaml: views\[2\]: view 'x': unknown layout 'big'"):
        view_from_dict({"name": "x", "layout": "big"}, where="f.yaml: views[2]")
    with pytest.raises(ViewError, match="cameras must be a list"):
        view_from_dict({"name": "x", "cameras": "cam-1"}, where="w")
    with pytest.raises(ViewError, match="unknown key.*colour"):
        view_from_dict({"name": "x", "colour": 1}, where="w")
    with pytest.raises(ViewError, match="tour_seconds must be between 2 and 3600"):
        view_from_dict({"name": "x", "tour_seconds": 1}, where="w")
    assert View("v", "2x2", ("a", "zz")).problems(["a"]) == ["unknown camera id 'zz'"]


def test_personal_views_round_trip_and_shared_names_are_protected(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "views.yaml"
    store = PersonalViews.load(path)
    assert store.views == []
    assert store.problems == []
    shared = [View("Downtown", "3x3", ("a",), shared=True)]
    lib = ViewLibrary(shared, store)
    lib.save(View("Bridge", "1+5", ("a", "b", "c"), 8.0))
    with pytest.raises(ViewError, match="shared view"):
        lib.save(View("Downtown", "2x2", ()))
    again = PersonalViews.load(path)
    assert again.views == [View("Bridge", "1+5", ("a", "b", "c"), 8.0)]
    assert [v.name for v in ViewLibrary(shared, again).all()] == ["Downtown", "Bridge"]
    lib.save(View("Bridge", "2x2", ("b",)))  # replaces by name
    assert PersonalViews.load(path).views == [View("Bridge", "2x2", ("b",))]
    assert lib.delete("Bridge")
    assert not lib.delete("Bridge")
    assert PersonalViews.load(path).views == []
    assert not list(path.parent.glob(".views.yaml.*"))  # no temporary files left


def test_damaged_personal_views_are_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "views.yaml"
    path.write_text("views:\n  - {name: ok, layout: 2x2}\n  - {name: bad, layout: 9x9}\n  - 3\n")
    store = PersonalViews.load(path)
    assert [v.name for v in store.views] == ["ok"]
    assert len(store.problems) == 2
    assert all(str(path) in p for p in store.problems)
    path.write_text("views: [unclosed")
    store = PersonalViews.load(path)
    assert store.views == []
    assert "cannot read personal views" in store.problems[0]


def test_wall_state_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state" / "wall-state.json"
    state = WallState(path)
    state.slates["console"] = WallSlate("1+5", ("a", "b", "gone"), 1, 12.0, True, "Mine")
    state.slates["screen:DP-2"] = WallSlate.from_view(View("V", "8x8", ("b",)))
    state.save()
    back = WallState.load(path, known_cameras=["a", "b"])
    assert back.problems == []
    assert back.slates["console"] == WallSlate("1+5", ("a", "b"), 1, 12.0, True, "Mine")
    assert back.slates["screen:DP-2"].layout == "8x8"


def test_wall_state_damage_is_ignored_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "wall-state.json"
    path.write_text("{not json")
    assert "cannot read" in WallState.load(path).problems[0]
    path.write_text(json.dumps({"windows": {"console": {"layout": "nope", "cameras": []}}}))
    st = WallState.load(path)
    assert st.slates == {}
    assert "unusable entry" in st.problems[0]
