"""The bundled demo town (resources/demo) is reproducible and usable for the simulation."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely import STRtree
from shapely.geometry import LineString, Point

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo"
GENERATOR = DEMO / "generate_demo.py"
ROADS = DEMO / "roads.geojson"
CONFIG = REPO / "config.example.yaml"

LON0, LAT0 = -90.1848, 32.2988
R = 6_371_008.8
KX = math.radians(1.0) * R * math.cos(math.radians(LAT0))
KY = math.radians(1.0) * R
MOTORWAY_CLASSES = {"motorway", "motorway_link"}


def xy(lon: float, lat: float) -> tuple[float, float]:
    return ((lon - LON0) * KX, (lat - LAT0) * KY)


@pytest.fixture(scope="module")
def features() -> list[dict[str, Any]]:
    data = json.loads(ROADS.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    return data["features"]


@pytest.fixture(scope="module")
def lines(features: list[dict[str, Any]]) -> list[LineString]:
    return [LineString([xy(*c) for c in f["geometry"]["coordinates"]]) for f in features]


@pytest.fixture(scope="module")
def cameras() -> list[dict[str, Any]]:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["cameras"]


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    cfg = tmp_path / "config.example.yaml"
    shutil.copyfile(CONFIG, cfg)
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out-dir", str(tmp_path), "--config", str(cfg)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert (tmp_path / "roads.geojson").read_bytes() == ROADS.read_bytes()
    assert cfg.read_bytes() == CONFIG.read_bytes()


def test_road_classes_and_directions(features: list[dict[str, Any]]) -> None:
    assert 2000 <= len(features) <= 5000
    for f in features:
        assert f["geometry"]["type"] == "LineString"
        p = f["properties"]
        assert set(p) == {"highway", "oneway", "maxspeed", "name"}
        assert all(isinstance(v, str) for v in p.values())
        assert p["oneway"] in ("yes", "no")
        assert p["maxspeed"].endswith(" mph")
    classes = Counter(f["properties"]["highway"] for f in features)
    required = {
        "motorway",
        "motorway_link",
        "primary",
        "secondary",
        "tertiary",
        "residential",
        "service",
    }
    assert required <= set(classes)
    assert set(classes) <= required
    oneway_streets = {
        f["properties"]["name"]
        for f in features
        if f["properties"]["oneway"] == "yes" and f["properties"]["highway"] not in MOTORWAY_CLASSES
    }
    assert len(oneway_streets) >= 4
    for f in features:
        if f["properties"]["highway"] in MOTORWAY_CLASSES:
            assert f["properties"]["oneway"] == "yes"
    ramps = [f for f in features if "ramp" in f["properties"]["name"]]
    assert len(ramps) >= 8  # at least two diamond interchanges


def test_lines_meet_only_at_shared_endpoints(
    features: list[dict[str, Any]], lines: list[LineString]
) -> None:
    ends = [
        {tuple(f["geometry"]["coordinates"][0]), tuple(f["geometry"]["coordinates"][-1])}
        for f in features
    ]
    bridged = [f["properties"]["highway"] in MOTORWAY_CLASSES for f in features]
    tree = STRtree(lines)
    left, right = tree.query(lines, predicate="intersects")
    bad = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        inter = lines[i].intersection(lines[j])
        shared_xy = {xy(*c) for c in ends[i] & ends[j]}
        parts = getattr(inter, "geoms", [inter])
        ok = all(isinstance(g, Point) and (g.x, g.y) in shared_xy for g in parts)
        if not ok and not (bridged[i] or bridged[j]):
            bad.append((features[i]["properties"]["name"], features[j]["properties"]["name"]))
    assert not bad, f"{len(bad)} crossings without a shared node, e.g. {bad[:5]}"
    # a line ending on (or within 1 m of) another line ends exactly on one of its endpoints
    near_misses = []
    for i, f in enumerate(features):
        for c in (f["geometry"]["coordinates"][0], f["geometry"]["coordinates"][-1]):
            p = Point(xy(*c))
            for j in tree.query(p, predicate="dwithin", distance=1.0).tolist():
                if j != i and tuple(c) not in ends[j]:
                    near_misses.append((f["properties"]["name"], features[j]["properties"]["name"]))
    assert not near_misses, f"{len(near_misses)} unsplit junctions, e.g. {near_misses[:5]}"


def test_network_is_strongly_connected(features: list[dict[str, Any]]) -> None:
    index: dict[tuple[float, float], int] = {}
    src, dst = [], []
    for f in features:
        coords = f["geometry"]["coordinates"]
        a = index.setdefault(tuple(coords[0]), len(index))
        b = index.setdefault(tuple(coords[-1]), len(index))
        src.append(a)
        dst.append(b)
        if f["properties"]["oneway"] == "no":
            src.append(b)
            dst.append(a)
    n = len(index)
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=True, connection="strong")
    largest = np.bincount(labels).max()
    assert largest >= 0.98 * n


def test_cameras_watch_roads(cameras: list[dict[str, Any]], lines: list[LineString]) -> None:
    assert len(cameras) == 28
    ids = [c["id"] for c in cameras]
    assert len(set(ids)) == 28
    assert sum(c["ownership"] == "city" for c in cameras) == 14
    assert sum(c["ownership"] == "private" for c in cameras) == 14
    assert ids[:14] == [f"city-{k:02d}" for k in range(1, 15)]
    assert ids[14:] == [f"priv-{k:02d}" for k in range(1, 15)]
    tree = STRtree(lines)
    for c in cameras:
        assert c["stream"].startswith("sim://")
        assert 0.0 <= c["heading_deg"] < 360.0
        if c["ownership"] == "private":
            assert c["owner"]["name"]
            assert c["owner"]["contact"]
            assert c["waiver"]["id"]
            assert c["waiver"]["signed"]
            assert c["waiver"]["revoked"] is False
        x, y = xy(c["location"]["lon"], c["location"]["lat"])
        pos = Point(x, y)
        assert lines[tree.nearest(pos)].distance(pos) <= 40.0, c["id"]
        h = math.radians(c["heading_deg"])
        half = Point(x + 0.5 * c["range_m"] * math.sin(h), y + 0.5 * c["range_m"] * math.cos(h))
        assert lines[tree.nearest(half)].distance(half) <= 25.0, c["id"]
