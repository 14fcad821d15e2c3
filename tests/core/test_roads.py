from __future__ import annotations

import pytest

from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.roads import build_network, parse_maxspeed
from rtcc_wall.errors import ConfigError

PROJ = LocalProjection(0.0, 0.0)


def feat(coords: list[list[float]], **props: str) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"highway": "residential", **props},
        "geometry": {"type": "LineString", "coordinates": coords},
    }


@pytest.mark.parametrize(
    ("value", "mps"),
    [
        ("25 mph", 11.176),
        ("50", 13.889),
        ("50 km/h", 13.889),
        (30, 8.333),
        ("fast", None),
        ("0", None),
    ],
)
def test_parse_maxspeed(value: object, mps: float | None) -> None:
    got = parse_maxspeed(value)
    if mps is None:
        assert got is None
    else:
        assert got == pytest.approx(mps, abs=1e-3)


def test_split_at_shared_vertex_and_oneway() -> None:
    # a long street crossed in its middle by a one-way street sharing the vertex
    net = build_network(
        [
            feat([[0, 0], [0.001, 0], [0.002, 0]], name="Long"),
            feat([[0.001, -0.001], [0.001, 0], [0.001, 0.001]], oneway="yes", name="One"),
        ],
        PROJ,
    )
    assert net.node_count == 5
    assert len(net.segments) == 4
    # two-way segments give 2 edges each, one-way ones 1 each
    assert net.edge_count == 2 * 2 + 2
    centre = next(
        i for i, (x, y) in enumerate(net.nodes_xy.tolist()) if abs(x) > 100 and abs(y) < 1
    )
    outs = net.out_edges(centre)
    # from the centre: west, east, and north (one-way continues north), not south
    headings = sorted(
        (
            round(float(net.edge_coords(e)[-1, 0] - net.edge_coords(e)[0, 0])),
            round(float(net.edge_coords(e)[-1, 1] - net.edge_coords(e)[0, 1])),
        )
        for e in outs
    )
    assert len(outs) == 3
    assert all(dy >= 0 for _dx, dy in headings)


def test_reverse_oneway() -> None:
    net = build_network([feat([[0, 0], [0.001, 0]], oneway="-1")], PROJ)
    assert net.edge_count == 1
    c = net.edge_coords(0)
    assert c[0, 0] > c[-1, 0]  # travels against the drawn direction


def test_errors_collected_per_feature() -> None:
    with pytest.raises(ConfigError) as ei:
        build_network(
            [
                feat([[0, 0], [0.001, 0]], maxspeed="quick"),
                feat([[0, 0], [0.001, 0]], oneway="sometimes"),
                feat([[0, 0]]),
                {
                    "type": "Feature",
                    "properties": {"name": "x"},
                    "geometry": {"type": "LineString"},
                },
            ],
            PROJ,
            "roads.geojson",
        )
    text = str(ei.value)
    assert "features[0].properties.maxspeed" in text
    assert "features[1].properties.oneway" in text
    assert "features[2].geometry.coordinates" in text
    assert "features[3].properties.highway" in text


def test_demo_network(demo_loaded) -> None:  # type: ignore[no-untyped-def]
    net = demo_loaded.network
    assert len(net.segments) >= 2000
    groups = {s.group for s in net.segments}
    assert groups >= {"motorway", "arterial", "local"}
    assert any(s.oneway != 0 and s.group != "motorway" for s in net.segments)
