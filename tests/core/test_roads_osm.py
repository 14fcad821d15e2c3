"""OpenStreetMap XML road networks, format dispatch, and GeoJSON geometry errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.roads import (
    RoadNetwork,
    load_geojson,
    load_network,
    load_osm,
    osm_oneway,
    osm_way_drivable,
)
from rtcc_wall.errors import ConfigError

PROJ = LocalProjection(0.0, 0.0)

#: node id -> (lon, lat)
NODES: dict[int, tuple[float, float]] = {
    1: (0.0, 0.0),
    2: (0.001, 0.0),
    3: (0.002, 0.0),
    4: (0.001, -0.001),
    5: (0.001, 0.001),
    6: (0.003, 0.0),
    7: (0.0035, 0.0005),
    8: (0.004, 0.0),
    9: (0.0035, -0.0005),
    10: (0.0, 0.001),
    11: (0.0, -0.002),
    12: (0.002, -0.002),
    13: (0.004, -0.002),
    14: (0.005, 0.0),
    15: (0.0, 0.002),
}

#: (way id, node ids, tags); the drivable ones are mirrored as GeoJSON in ``GEOJSON_FEATURES``
WAYS: list[tuple[int, list[int], dict[str, str]]] = [
    # two-way street, crossing Main St at node 2 and ending on the roundabout at node 6
    (101, [1, 2, 3, 6], {"highway": "residential", "name": "Elm St"}),
    # one-way northbound, sharing node 2 with Elm St
    (102, [4, 2, 5], {"highway": "primary", "oneway": "yes", "maxspeed": "30 mph", "name": "Main"}),
    # roundabout, counter-clockwise, no oneway tag: one-way by junction=roundabout
    (103, [6, 9, 8, 7, 6], {"highway": "tertiary", "junction": "roundabout"}),
    (104, [8, 14], {"highway": "residential", "name": "Oak St"}),
    # motorway without oneway tag: one-way
    (105, [11, 12, 13], {"highway": "motorway", "name": "I-1"}),
    # skipped: footway, parking area, construction, proposed
    (106, [1, 10], {"highway": "footway"}),
    (107, [10, 15, 5, 10], {"highway": "service", "area": "yes"}),
    (108, [3, 12], {"highway": "construction"}),
    (109, [5, 15], {"highway": "proposed"}),
]
SKIPPED = {106, 107, 108, 109}


def osm_text(ways: list[tuple[int, list[int], dict[str, str]]] = WAYS) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    out.append('  <bounds minlat="-0.01" minlon="-0.01" maxlat="0.01" maxlon="0.01"/>')
    for nid, (lon, lat) in NODES.items():
        if nid == 12:  # a tagged node: its tags must not leak into a way
            out.append(f'  <node id="{nid}" lat="{lat}" lon="{lon}" version="1">')
            out.append('    <tag k="highway" v="motorway_junction"/>')
            out.append("  </node>")
        else:
            out.append(f'  <node id="{nid}" lat="{lat}" lon="{lon}" version="1"/>')
    for wid, refs, tags in ways:
        out.append(f'  <way id="{wid}" version="1">')
        out.extend(f'    <nd ref="{r}"/>' for r in refs)
        out.extend(f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append("  </way>")
    out.append('  <relation id="900"><member type="way" ref="101" role=""/>')
    out.append('    <tag k="type" v="route"/></relation>')
    out.append("</osm>")
    return "\n".join(out) + "\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def edges_between(net: RoadNetwork, a: tuple[float, float], b: tuple[float, float]) -> int:
    """Number of directed edges from the node at lon/lat ``a`` to the node at ``b``."""
    na = node_at(net, a)
    nb = node_at(net, b)
    return int(np.sum((net.edge_from == na) & (net.edge_to == nb)))


def node_at(net: RoadNetwork, lonlat: tuple[float, float]) -> int:
    x, y = net.projection.to_xy(*lonlat)
    d = np.hypot(net.nodes_xy[:, 0] - x, net.nodes_xy[:, 1] - y)
    i = int(np.argmin(d))
    assert d[i] < 0.01, f"no graph node at {lonlat}"
    return i


def test_osm_network_counts_and_oneways(tmp_path: Path) -> None:
    net = load_osm(write(tmp_path, "town.osm", osm_text()), PROJ)
    # Elm: 1-2, 2-6 | Main: 4-2, 2-5 | roundabout: 6-8, 8-6 | Oak: 8-14 | motorway: 11-13
    assert len(net.segments) == 8
    assert net.node_count == 9  # nodes 1, 2, 6, 4, 5, 8, 14, 11, 13
    assert net.edge_count == 2 * 2 + 2 + 2 + 2 + 1
    assert {s.feature_index for s in net.segments} == {101, 102, 103, 104, 105}
    n = NODES
    assert edges_between(net, n[1], n[2]) == edges_between(net, n[2], n[1]) == 1  # two-way
    assert edges_between(net, n[4], n[2]) == 1  # Main St northbound only
    assert edges_between(net, n[2], n[4]) == 0
    assert edges_between(net, n[2], n[5]) == 1
    assert edges_between(net, n[5], n[2]) == 0
    assert edges_between(net, n[6], n[8]) == 1  # roundabout in way order only
    assert edges_between(net, n[8], n[6]) == 1
    assert sum(1 for s in net.segments if s.feature_index == 103 and s.oneway == 1) == 2
    assert edges_between(net, n[11], n[13]) == 1  # motorway one-way
    assert edges_between(net, n[13], n[11]) == 0
    main = next(s for s in net.segments if s.name == "Main")
    assert main.speed_mps == pytest.approx(30 * 0.44704)
    assert main.highway == "primary"
    elm = next(s for s in net.segments if s.name == "Elm St")
    assert elm.speed_mps == pytest.approx(40 / 3.6)  # residential default
    out = {int(net.edge_to[e]) for e in net.out_edges(node_at(net, n[2]))}
    assert out == {node_at(net, n[1]), node_at(net, n[6]), node_at(net, n[5])}


def test_deleted_elements_and_node_tags_are_ignored(tmp_path: Path) -> None:
    text = osm_text().replace(
        '<way id="105" version="1">', '<way id="105" version="1" action="delete">'
    )
    net = load_osm(write(tmp_path, "edited.osm", text), PROJ)
    assert 105 not in {s.feature_index for s in net.segments}
    assert {s.highway for s in net.segments} == {"residential", "primary", "tertiary"}


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, 0),
        ({"highway": "residential", "oneway": "yes"}, 1),
        ({"highway": "residential", "oneway": "true"}, 1),
        ({"highway": "residential", "oneway": "1"}, 1),
        ({"highway": "residential", "oneway": "-1"}, -1),
        ({"highway": "residential", "oneway": "reverse"}, -1),
        ({"highway": "residential", "oneway": "no"}, 0),
        ({"highway": "residential", "oneway": "alternating"}, 0),
        ({"highway": "tertiary", "junction": "roundabout"}, 1),
        ({"highway": "tertiary", "junction": "roundabout", "oneway": "no"}, 0),
        ({"highway": "motorway"}, 1),
        ({"highway": "motorway", "oneway": "no"}, 0),
    ],
)
def test_osm_oneway(tags: dict[str, str], expected: int) -> None:
    assert osm_oneway(tags) == expected


@pytest.mark.parametrize(
    ("tags", "drivable"),
    [
        ({"highway": "primary_link"}, True),
        ({"highway": "road"}, True),
        ({"highway": "living_street"}, True),
        ({"highway": "service"}, True),
        ({"highway": "service", "area": "yes"}, False),
        ({"highway": "footway"}, False),
        ({"highway": "track"}, False),
        ({"highway": "track", "motor_vehicle": "yes"}, True),
        ({"highway": "pedestrian", "motor_vehicle": "no"}, False),
        ({"highway": "steps"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "proposed"}, False),
        ({"highway": "bus_stop"}, False),
        ({"building": "yes"}, False),
    ],
)
def test_osm_way_drivable(tags: dict[str, str], drivable: bool) -> None:
    assert osm_way_drivable(tags) is drivable


def test_missing_node_names_way_node_and_line(tmp_path: Path) -> None:
    ways = [*WAYS, (110, [14, 999, 8], {"highway": "residential"})]
    text = osm_text(ways)
    path = write(tmp_path, "cut.osm", text)
    with pytest.raises(ConfigError) as ei:
        load_osm(path, PROJ)
    [problem] = ei.value.problems
    assert problem.file == str(path)
    assert problem.path == "way 110"
    assert "node 999" in problem.message
    assert problem.line == text.splitlines().index('    <nd ref="999"/>') + 1


def test_missing_nodes_in_skipped_ways_do_not_matter(tmp_path: Path) -> None:
    ways = [*WAYS, (111, [1, 998], {"highway": "footway"})]
    net = load_osm(write(tmp_path, "cut.osm", osm_text(ways)), PROJ)
    assert len(net.segments) == 8


def test_many_missing_nodes_are_summarised(tmp_path: Path) -> None:
    ways = [*WAYS, (112, [1, *range(1000, 1030)], {"highway": "residential"})]
    with pytest.raises(ConfigError) as ei:
        load_osm(write(tmp_path, "cut.osm", osm_text(ways)), PROJ)
    problems = ei.value.problems
    assert len(problems) == 21
    assert "10 more missing nodes" in problems[-1].message


def test_malformed_xml_gives_line_and_column(tmp_path: Path) -> None:
    lines = osm_text().splitlines()
    lines[5] = lines[5].replace('lat="', "lat=")  # unquoted attribute on line 6
    path = write(tmp_path, "broken.osm", "\n".join(lines))
    with pytest.raises(ConfigError) as ei:
        load_osm(path, PROJ)
    [problem] = ei.value.problems
    assert problem.line == 6
    assert "not valid XML" in problem.message
    assert "column" in problem.message
    assert str(problem).startswith(f"{path}:6:")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ('<?xml version="1.0"?>\n<gpx version="1.1"></gpx>\n', "expected <osm>"),
        ('<osm>\n<node id="1" lat="north" lon="0"/>\n</osm>\n', "numeric lat and lon"),
        ('<osm>\n<node id="1" lat="95" lon="0"/>\n</osm>\n', "not a valid position"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY a "aaaa">]>\n<osm>&a;</osm>\n',
            "entity",
        ),
    ],
)
def test_bad_osm_files(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError) as ei:
        load_osm(write(tmp_path, "bad.osm", text), PROJ)
    assert words in str(ei.value)
    assert all(p.line is not None for p in ei.value.problems)


def test_no_drivable_roads(tmp_path: Path) -> None:
    ways = [w for w in WAYS if w[0] in SKIPPED]
    with pytest.raises(ConfigError) as ei:
        load_osm(write(tmp_path, "paths.osm", osm_text(ways)), PROJ)
    assert "no drivable roads" in str(ei.value)


def test_osm_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_osm(tmp_path / "nowhere.osm", PROJ)


def geojson_text() -> str:
    features = []
    for wid, refs, tags in WAYS:
        if wid in SKIPPED:
            continue
        props = {k: v for k, v in tags.items() if k != "junction"}
        if tags.get("junction") == "roundabout":
            props["oneway"] = "yes"  # the GeoJSON loader reads oneway only
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "LineString", "coordinates": [list(NODES[r]) for r in refs]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1)


def test_geojson_and_osm_give_the_same_graph(tmp_path: Path) -> None:
    a = load_network(write(tmp_path, "town.geojson", geojson_text()), PROJ)
    b = load_network(write(tmp_path, "town.osm", osm_text()), PROJ)
    assert a.node_count == b.node_count
    assert a.edge_count == b.edge_count
    assert a.edge_length_m.sum() == pytest.approx(b.edge_length_m.sum())
    assert a.edge_length_m.sum() > 1000
    np.testing.assert_allclose(a.nodes_xy, b.nodes_xy)
    np.testing.assert_array_equal(a.edge_from, b.edge_from)
    np.testing.assert_array_equal(a.edge_to, b.edge_to)
    assert [(s.highway, s.name, s.oneway) for s in a.segments] == [
        (s.highway, s.name, s.oneway) for s in b.segments
    ]


@pytest.mark.parametrize("name", ["roads.geojson", "roads.json", "roads.GeoJSON"])
def test_load_network_reads_geojson(tmp_path: Path, name: str) -> None:
    net = load_network(write(tmp_path, name, geojson_text()), PROJ)
    assert net.edge_count == 11


@pytest.mark.parametrize(("name", "hint"), [("roads.txt", ""), ("city.osm.pbf", "osmium")])
def test_load_network_unsupported_format(tmp_path: Path, name: str, hint: str) -> None:
    with pytest.raises(ConfigError) as ei:
        load_network(write(tmp_path, name, "x"), PROJ)
    text = str(ei.value)
    assert ".geojson" in text
    assert ".osm" in text
    assert hint in text


# --- GeoJSON geometry errors stay clear after the vectorised build --------------------


def gj(*features: object) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def line_feature(coords: object, gtype: str = "LineString") -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"highway": "residential"},
        "geometry": {"type": gtype, "coordinates": coords},
    }


@pytest.mark.parametrize(
    ("coords", "words"),
    [
        ([[0, 0]], "at least two"),
        ([[0, 0], [0, 0]], "at least two"),  # one position, repeated
        ([[0, 0], [True, 0.001]], "at least two"),  # a bool is not a number
        ([[0, 0], ["0.001", 0]], "at least two"),  # nor is a string
        ([[0, 0], [0.001]], "at least two"),
        ([[0, 0], [0.001, None]], "at least two"),
        (None, "at least two"),
        ([[0, 0], [200, 0]], "[200.0, 0.0] is not a valid lon/lat"),
    ],
)
def test_geojson_broken_geometry(tmp_path: Path, coords: object, words: str) -> None:
    text = gj(line_feature([[0, 0], [0.001, 0]]), line_feature(coords))
    with pytest.raises(ConfigError) as ei:
        load_geojson(write(tmp_path, "roads.geojson", text), PROJ)
    [problem] = ei.value.problems
    assert problem.path == "features[1].geometry.coordinates"
    assert words in problem.message
    assert problem.line is not None


def test_geojson_unknown_geometry_type(tmp_path: Path) -> None:
    text = gj(line_feature([[0, 0], [0.001, 0]], gtype="Linestring"))
    with pytest.raises(ConfigError) as ei:
        load_geojson(write(tmp_path, "roads.geojson", text), PROJ)
    assert "features[0].geometry.type" in str(ei.value)
    assert "LineString" in str(ei.value)


def test_geojson_without_lines(tmp_path: Path) -> None:
    point = {
        "type": "Feature",
        "properties": {"highway": "bus_stop"},
        "geometry": {"type": "Point", "coordinates": [0, 0]},
    }
    with pytest.raises(ConfigError) as ei:
        load_geojson(write(tmp_path, "roads.geojson", gj(point)), PROJ)
    assert "no LineString roads" in str(ei.value)


def test_geojson_3d_and_duplicate_positions(tmp_path: Path) -> None:
    coords = [[0, 0, 5.0], [0, 0, 6.0], [0.001, 0, 7.0], [0.002, 0.0, 1]]
    net = load_geojson(write(tmp_path, "roads.geojson", gj(line_feature(coords))), PROJ)
    assert len(net.segments) == 1
    assert net.segments[0].coords.shape == (3, 2)
    expected = math.radians(0.002) * 6_371_008.8
    assert net.edge_length_m[0] == pytest.approx(expected)
