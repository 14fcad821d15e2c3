"""Config loading: every problem with FILE:LINE: path: message, never a password."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rtcc_wall.config.loader import load_config
from rtcc_wall.errors import ConfigError

LON0, LAT0 = -90.0, 32.0


def _roads(tmp: Path) -> Path:
    feats = []
    # a 1 km x 1 km grid, 5 streets each way, crossing at shared vertices
    for i in range(5):
        off = i * 0.0025
        feats.append(
            {
                "type": "Feature",
                "properties": {"highway": "residential", "name": f"E{i}", "maxspeed": "25 mph"},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[LON0 + k * 0.0025, LAT0 + off] for k in range(5)],
                },
            }
        )
        feats.append(
            {
                "type": "Feature",
                "properties": {"highway": "primary", "name": f"N{i}", "oneway": "yes"},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[LON0 + off, LAT0 + k * 0.0025] for k in range(5)],
                },
            }
        )
    p = tmp / "roads.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, indent=1))
    return p


GOOD = """\
site:
  name: Test town
  center: {lon: -89.995, lat: 32.005}
  road_network: roads.geojson
wall:
  layout: 2x2
  cameras: [c1, p1]
cameras:
  - id: c1
    name: North cam
    ownership: city
    location: {lon: -89.995, lat: 32.005}
    heading_deg: 0
    fov_deg: 60
    range_m: 100
    stream: "sim://?fps=10"
  - id: p1
    name: Shop
    ownership: private
    location: {lon: -89.994, lat: 32.004}
    heading_deg: 90
    fov_deg: 90
    range_m: 40
    stream: rtsp://viewer:s3cretPW@10.0.0.5/stream1
    sub_stream: rtsp://viewer:s3cretPW@10.0.0.5/stream2
    owner: {name: Shop LLC, contact: "+1 601 555 0100"}
    waiver: {id: W-1, signed: 2026-01-01, expires: 2027-01-01, revoked: false}
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    _roads(tmp_path)
    return tmp_path


def _write(site: Path, text: str) -> Path:
    p = site / "cfg.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as ei:
        load_config(path)
    return [str(p) for p in ei.value.problems]


def test_good_config_loads(site: Path) -> None:
    loaded = load_config(_write(site, GOOD))
    assert list(loaded.cameras) == ["c1", "p1"]
    assert loaded.cameras["p1"].owner is not None
    assert loaded.network.node_count == 25
    # centre camera placed near the local origin
    assert abs(loaded.cameras["c1"].x) < 1
    assert abs(loaded.cameras["c1"].y) < 1


def test_unknown_key_has_line_and_hint(site: Path) -> None:
    text = GOOD.replace("    fov_deg: 60\n", "    fov_deg: 60\n    feild_of_view: 3\n", 1)
    probs = _problems(_write(site, text))
    assert len(probs) == 1
    line = text.splitlines().index("    feild_of_view: 3") + 1
    assert probs[0].startswith(f"{site / 'cfg.yaml'}:{line}: cameras[0].feild_of_view: unknown key")
    assert "did you mean 'fov_deg'" in probs[0] or "allowed here" in probs[0]


def test_did_you_mean_for_top_level(site: Path) -> None:
    probs = _problems(_write(site, GOOD.replace("wall:", "wal:")))
    assert any("wal: unknown key (did you mean 'wall'?)" in p for p in probs)


def test_heading_400_and_all_problems_collected(site: Path) -> None:
    text = GOOD.replace("heading_deg: 0\n", "heading_deg: 400\n").replace(
        "ownership: private", "ownership: privat"
    )
    probs = _problems(_write(site, text))
    lines = text.splitlines()
    h_line = lines.index("    heading_deg: 400") + 1
    o_line = lines.index("    ownership: privat") + 1
    assert any(
        p.startswith(f"{site / 'cfg.yaml'}:{h_line}: cameras[0].heading_deg:") for p in probs
    )
    assert any(f":{o_line}: cameras[1].ownership:" in p for p in probs)


def test_unknown_sim_parameter(site: Path) -> None:
    text = GOOD.replace('"sim://?fps=10"', '"sim://?fsp=10"')
    probs = _problems(_write(site, text))
    line = text.splitlines().index('    stream: "sim://?fsp=10"') + 1
    assert len(probs) == 1
    assert f":{line}: cameras[0].stream: " in probs[0]
    assert "unknown sim:// parameter 'fsp'" in probs[0]
    assert "did you mean 'fps'" in probs[0]


def test_missing_road_file(site: Path) -> None:
    probs = _problems(_write(site, GOOD.replace("roads.geojson", "nowhere.geojson")))
    assert any("site.road_network" in p and "nowhere.geojson" in p for p in probs)


def test_malformed_road_file_names_file_and_line(site: Path) -> None:
    bad = site / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection",\n "features": [\n  {"type": "Feature",,}\n]}\n')
    probs = _problems(_write(site, GOOD.replace("roads.geojson", "bad.geojson")))
    assert any(p.startswith(f"{bad}:3: ") and "not valid GeoJSON" in p for p in probs)


def test_bad_road_feature_field_has_line(site: Path) -> None:
    doc = json.loads((site / "roads.geojson").read_text())
    doc["features"][3]["properties"]["maxspeed"] = "fast"
    bad = site / "bad.geojson"
    bad.write_text(json.dumps(doc, indent=1))
    probs = _problems(_write(site, GOOD.replace("roads.geojson", "bad.geojson")))
    text_lines = bad.read_text().splitlines()
    # the line where the 4th feature starts
    starts = [i + 1 for i, ln in enumerate(text_lines) if ln.strip() == "{" and i > 2]
    hit = [p for p in probs if "features[3].properties.maxspeed" in p]
    assert hit, probs
    assert hit[0].startswith(f"{bad}:{starts[3]}: ")


def test_camera_far_outside_map(site: Path) -> None:
    # swapped lon/lat puts the camera on the other side of the planet
    text = GOOD.replace(
        "location: {lon: -89.994, lat: 32.004}", "location: {lon: 32.004, lat: -89.994}"
    )
    probs = _problems(_write(site, text))
    assert any("cameras[1].location" in p and "outside the road network" in p for p in probs)


def test_private_camera_needs_waiver_and_owner(site: Path) -> None:
    text = "\n".join(
        ln for ln in GOOD.splitlines() if not ln.strip().startswith(("owner:", "waiver:"))
    )
    probs = _problems(_write(site, text + "\n"))
    assert any("needs an owner" in p for p in probs)
    assert any("needs a waiver" in p for p in probs)


def test_duplicate_and_unknown_wall_ids(site: Path) -> None:
    text = GOOD.replace("id: p1", "id: c1").replace("cameras: [c1, p1]", "cameras: [c1, p2]")
    probs = _problems(_write(site, text))
    assert any("duplicate camera id 'c1'" in p for p in probs)
    assert any("wall.cameras[1]: unknown camera id 'p2'" in p for p in probs)


def test_yaml_syntax_error_line(site: Path) -> None:
    probs = _problems(_write(site, GOOD.replace("layout: 2x2", "layout: [2x2")))
    assert len(probs) == 1
    assert "YAML syntax error" in probs[0]
    assert probs[0].startswith(f"{site / 'cfg.yaml'}:")


def test_password_never_in_messages(site: Path) -> None:
    text = GOOD.replace("/stream1", "/stream1\n    bogus: 1").replace(
        "rtsp://viewer:s3cretPW@10.0.0.5/stream2", "rtspx://viewer:s3cretPW@10.0.0.5/stream2"
    )
    probs = _problems(_write(site, text))
    assert probs
    joined = "\n".join(probs)
    assert "s3cretPW" not in joined
    assert "viewer:***@" in joined  # the unsupported scheme names the URL, redacted


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtcc_wall", *args], capture_output=True, text=True, timeout=120
    )


def test_check_config_exit_codes(site: Path) -> None:
    ok = _cli("check-config", str(_write(site, GOOD)))
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
    bad_text = GOOD.replace("heading_deg: 0\n", "heading_deg: 400\n").replace(
        "s3cretPW@", "s3cretPW@@"
    )
    bad = _cli("check-config", str(_write(site, bad_text)))
    assert bad.returncode == 2
    assert "cameras[0].heading_deg" in bad.stderr
    assert "s3cretPW" not in bad.stderr + bad.stdout


def test_check_config_missing_file(tmp_path: Path) -> None:
    r = _cli("check-config", str(tmp_path / "none.yaml"))
    assert r.returncode == 2
    assert "config file not found" in r.stderr


def test_demo_config_is_valid(demo_config_path: Path) -> None:
    r = _cli("check-config", str(demo_config_path))
    assert r.returncode == 0, r.stderr


VIEWS = """\
views:
  - name: Corner
    layout: 1+5
    cameras: [c1, p1]
    tour_seconds: 8
  - name: Corner
    layout: 3x4
    cameras: [c1, c9]
wall_mode:
  console_screen: 0
  screens:
    - {screen: 1, view: Corner}
    - {screen: DP-3, view: Cornr}
"""


def test_views_and_wall_mode_are_checked_with_lines(site: Path) -> None:
    probs = _problems(_write(site, GOOD + VIEWS.replace("layout: 3x4", "layout: 4x4")))
    cfg = f"{site / 'cfg.yaml'}"
    assert any("views[1].cameras[1]: unknown camera id 'c9'" in p for p in probs), probs
    assert any("views[1].name" in p and "a second view named 'Corner'" in p for p in probs)
    assert any(
        "wall_mode.screens[1].view" in p and "no view named 'Cornr'" in p and "Corner" in p
        for p in probs
    ), probs
    assert len(probs) == 3
    # every problem names the file and a line inside the views / wall_mode sections
    first_view_line = GOOD.count("\n") + 1
    for p in probs:
        assert p.startswith(cfg + ":")
        assert int(p.split(":")[1]) > first_view_line, p


def test_unknown_layout_in_a_view(site: Path) -> None:
    probs = _problems(_write(site, GOOD + VIEWS))
    assert len(probs) == 1
    assert "views[1].layout" in probs[0]
    assert "unknown layout '3x4'; known layouts: 1x1" in probs[0]


def test_good_views_load(site: Path) -> None:
    text = GOOD + VIEWS.replace("layout: 3x4", "layout: 8x8").replace(
        "    cameras: [c1, c9]", "    cameras: [c1]"
    ).replace("name: Corner\n    layout: 8x8", "name: Big\n    layout: 8x8").replace(
        "Cornr", "Big"
    )
    loaded = load_config(_write(site, text))
    assert [v.name for v in loaded.config.views] == ["Corner", "Big"]
    assert loaded.config.views[0].tour_seconds == 8
    assert loaded.config.wall_mode.screens[1].screen == "DP-3"


def test_bad_ports_and_problems_in_line_order(site: Path) -> None:
    text = GOOD.replace("10.0.0.5/stream1", "10.0.0.5:99999/stream1").replace(
        "layout: 2x2", "layout: 2x2\n  bogus_key: 1"
    )
    probs = _problems(_write(site, text))
    assert any("the port must be a number from 1 to 65535" in p for p in probs), probs
    assert all("s3cretPW" not in p for p in probs)
    lines = [int(p.split(":")[1]) for p in probs]
    assert lines == sorted(lines)
    assert len(probs) >= 2


def test_a_key_written_twice_is_a_problem(site: Path) -> None:
    text = GOOD + "views: []\n" + "views:\n  - {name: A, layout: 2x2}\n"
    probs = _problems(_write(site, text))
    assert len(probs) == 1
    line = GOOD.count("\n") + 2
    assert f"cfg.yaml:{line}: views: written twice (first on line {line - 1})" in probs[0]
