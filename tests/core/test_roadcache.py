"""The on-disk road network cache: hits, invalidation, damage, read-only folders."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rtcc_wall.core import roadcache
from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.roadcache import CACHE_SUFFIX, cached_load, load_network_cached
from rtcc_wall.core.roads import RoadNetwork, load_network
from rtcc_wall.errors import ConfigError
from tests.core.test_roads_osm import geojson_text, osm_text

ROOT = Path(__file__).resolve().parents[2]
DEMO_ROADS = ROOT / "resources" / "demo" / "roads.geojson"
DEMO_PROJ = LocalProjection(-90.1848, 32.2988)
PROJ = LocalProjection(0.0, 0.0)


def assert_same_network(a: RoadNetwork, b: RoadNetwork) -> None:
    assert a.projection == b.projection
    assert a.source == b.source
    for name in (
        "nodes_xy",
        "edge_from",
        "edge_to",
        "edge_segment",
        "edge_forward",
        "edge_length_m",
        "edge_speed_mps",
    ):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert len(a.segments) == len(b.segments)
    for s, t in zip(a.segments, b.segments, strict=True):
        np.testing.assert_array_equal(s.coords, t.coords)
        assert (s.highway, s.name, s.oneway, s.speed_mps, s.feature_index) == (
            t.highway,
            t.name,
            t.oneway,
            t.speed_mps,
            t.feature_index,
        )


@pytest.fixture
def roads(tmp_path: Path) -> Path:
    p = tmp_path / "maps" / "town.geojson"
    p.parent.mkdir()
    p.write_text(geojson_text(), encoding="utf-8")
    return p


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "user-cache"


def beside(path: Path) -> Path:
    return path.with_name(path.name + CACHE_SUFFIX)


def test_second_load_hits_the_cache(roads: Path, cache_dir: Path) -> None:
    first = cached_load(roads, PROJ, cache_dir=cache_dir)
    assert not first.hit
    assert first.cache_path == beside(roads)
    mtime = beside(roads).stat().st_mtime_ns
    second = cached_load(roads, PROJ, cache_dir=cache_dir)
    assert second.hit
    assert second.cache_path == beside(roads)
    assert beside(roads).stat().st_mtime_ns == mtime  # read, not rewritten
    assert_same_network(second.network, load_network(roads, PROJ))
    assert not cache_dir.exists()  # the folder was writable: nothing in the user cache


def test_content_change_invalidates(roads: Path, cache_dir: Path) -> None:
    before = load_network_cached(roads, PROJ, cache_dir=cache_dir)
    roads.write_text(geojson_text().replace('"Oak St"', '"Pine St"'), encoding="utf-8")
    after = cached_load(roads, PROJ, cache_dir=cache_dir)
    assert not after.hit
    assert "Pine St" in {s.name for s in after.network.segments}
    assert "Oak St" in {s.name for s in before.segments}
    assert cached_load(roads, PROJ, cache_dir=cache_dir).hit


def test_other_projection_invalidates(roads: Path, cache_dir: Path) -> None:
    load_network_cached(roads, PROJ, cache_dir=cache_dir)
    other = LocalProjection(0.001, 0.0)
    got = cached_load(roads, other, cache_dir=cache_dir)
    assert not got.hit
    assert got.network.projection == other
    assert_same_network(got.network, load_network(roads, other))


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _flip_bytes(p: Path) -> None:
    data = bytearray(p.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])
    p.write_bytes(bytes(data))


def _inconsistent(p: Path) -> None:
    """A well-formed file with the right key whose arrays do not fit together."""
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["edge_to"] = arrays["edge_to"] + 1000
    with p.open("wb") as f:
        np.savez(f, **arrays)


def _pickled(p: Path) -> None:
    with np.load(p, allow_pickle=False) as z:
        arrays: dict[str, Any] = {k: z[k] for k in z.files}
    arrays["seg_highway"] = np.array([{"evil": 1}], dtype=object)
    with p.open("wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(b"not a zip file at all"),
        _truncate,
        _flip_bytes,
        _inconsistent,
        _pickled,
    ],
    ids=["empty", "garbage", "truncated", "flipped", "inconsistent", "pickled"],
)
def test_damaged_cache_is_rebuilt(roads: Path, cache_dir: Path, damage: Any) -> None:
    fresh = load_network(roads, PROJ)
    load_network_cached(roads, PROJ, cache_dir=cache_dir)
    damage(beside(roads))
    got = cached_load(roads, PROJ, cache_dir=cache_dir)
    assert not got.hit
    assert_same_network(got.network, fresh)
    again = cached_load(roads, PROJ, cache_dir=cache_dir)  # rewritten whole
    assert again.hit
    assert_same_network(again.network, fresh)


@pytest.fixture
def read_only(roads: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The folder of ``roads`` made read-only; for root, writes there fail as they would."""
    folder = roads.parent
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:  # permission bits do not stop root: refuse like the OS would
        real = roadcache._write_atomic

        def refuse(target: Path, arrays: dict[str, Any]) -> None:
            if target.parent == folder:
                raise PermissionError(13, "Permission denied", str(target))
            real(target, arrays)

        monkeypatch.setattr(roadcache, "_write_atomic", refuse)
    yield folder
    folder.chmod(stat.S_IRWXU)


def test_read_only_folder_falls_back_to_cache_dir(
    roads: Path, cache_dir: Path, read_only: Path
) -> None:
    first = cached_load(roads, PROJ, cache_dir=cache_dir)
    assert not first.hit
    assert first.cache_path is not None
    assert first.cache_path.parent == cache_dir
    assert first.cache_path.name.endswith(CACHE_SUFFIX)
    assert not beside(roads).exists()
    second = cached_load(roads, PROJ, cache_dir=cache_dir)
    assert second.hit
    assert second.cache_path == first.cache_path
    assert_same_network(second.network, first.network)


def test_nowhere_writable_still_loads(roads: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(target: Path, arrays: dict[str, Any]) -> None:
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(roadcache, "_write_atomic", refuse)
    got = cached_load(roads, PROJ, cache_dir=roads.parent / "cache")
    assert not got.hit
    assert got.cache_path is None
    assert got.network.edge_count == 11


def test_no_temporary_files_left(roads: Path, cache_dir: Path) -> None:
    load_network_cached(roads, PROJ, cache_dir=cache_dir)
    assert sorted(p.name for p in roads.parent.iterdir()) == [roads.name, beside(roads).name]


def test_same_errors_as_the_loader(tmp_path: Path, cache_dir: Path) -> None:
    with pytest.raises(ConfigError, match="road network file not found"):
        load_network_cached(tmp_path / "missing.geojson", PROJ, cache_dir=cache_dir)
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [}', encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        load_network_cached(bad, PROJ, cache_dir=cache_dir)
    assert ei.value.problems[0].line == 1
    with pytest.raises(ConfigError, match="unsupported road network format"):
        load_network_cached(tmp_path / "roads.shp", PROJ, cache_dir=cache_dir)
    assert not list(tmp_path.glob(f"*{CACHE_SUFFIX}"))


def test_osm_through_the_cache(tmp_path: Path, cache_dir: Path) -> None:
    p = tmp_path / "town.osm"
    p.write_text(osm_text(), encoding="utf-8")
    first = cached_load(p, PROJ, cache_dir=cache_dir)
    second = cached_load(p, PROJ, cache_dir=cache_dir)
    assert (first.hit, second.hit) == (False, True)
    assert_same_network(second.network, load_network(p, PROJ))


def test_demo_network_round_trips(tmp_path: Path, cache_dir: Path) -> None:
    roads = tmp_path / "roads.geojson"
    shutil.copyfile(DEMO_ROADS, roads)
    fresh = load_network(roads, DEMO_PROJ)
    assert not cached_load(roads, DEMO_PROJ, cache_dir=cache_dir).hit
    got = cached_load(roads, DEMO_PROJ, cache_dir=cache_dir)
    assert got.hit
    assert len(fresh.segments) > 2000
    assert_same_network(got.network, fresh)
    assert {s.name for s in got.network.segments} == {s.name for s in fresh.segments}
    assert sum(s.group == "motorway" for s in got.network.segments) > 0
