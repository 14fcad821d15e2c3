"""Registry import: real CSV/GeoJSON files in, a whole valid config out, or nothing at all."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtcc_wall.config.loader import load_config
from rtcc_wall.core.registry_import import COLUMNS, import_registry
from rtcc_wall.errors import ConfigError

LON0, LAT0 = -90.0, 32.0
PASSWORD = "s3cretPW"

CONFIG = f"""\
# My town's wall. This comment must survive an import.
site:
  name: Test town
  center: {{lon: -89.995, lat: 32.005}}
  road_network: roads.geojson
wall:
  layout: 2x2
  cameras: [c1, p1]
cameras:
  # hand-written comment inside the list (may be lost; the .bak keeps it)
  - id: c1
    name: North cam
    ownership: city
    location: {{lon: -89.995, lat: 32.005}}
    heading_deg: 0
    fov_deg: 60
    range_m: 100
    stream: "sim://?fps=10"
    transport: udp
  - id: p1
    name: Shop
    ownership: private
    location: {{lon: -89.994, lat: 32.004}}
    heading_deg: 90
    fov_deg: 90
    range_m: 40
    stream: rtsp://viewer:{PASSWORD}@10.0.0.5/stream1
    owner: {{name: Shop LLC, contact: "+1 601 555 0100"}}
    waiver: {{id: W-1, signed: 2026-01-01, expires: 2027-01-01, revoked: false}}
"""


def _row(**over: Any) -> dict[str, Any]:
    row = {
        "id": "p2",
        "name": "Bakery doorbell",
        "ownership": "private",
        "lon": -89.996,
        "lat": 32.006,
        "heading_deg": 180,
        "fov_deg": 110,
        "range_m": 25,
        "stream": f"rtsp://viewer:{PASSWORD}@10.0.0.9/s1",
        "sub_stream": "",
        "owner_name": "Corner Bakery LLC",
        "owner_contact": "+1 601 555 0142",
        "waiver_id": "W-2",
        "waiver_signed": "2026-01-17",
        "waiver_expires": "2027-01-17",
        "waiver_revoked": "false",
        "sharing": "on_request",
        "allowed_hours": "07:00-22:00",
    }
    row.update(over)
    return row


P1_SAME = _row(
    id="p1",
    name="Shop",
    lon=-89.994,
    lat=32.004,
    heading_deg=90,
    fov_deg=90,
    range_m=40,
    stream=f"rtsp://viewer:{PASSWORD}@10.0.0.5/stream1",
    owner_name="Shop LLC",
    owner_contact="+1 601 555 0100",
    waiver_id="W-1",
    waiver_signed="2026-01-01",
    waiver_expires="2027-01-01",
    sharing="",  # the default tier, as in the config
    allowed_hours="",
)
C1_RENAMED = _row(
    id="c1",
    name="North cam (new lens)",
    ownership="city",
    lon=-89.995,
    lat=32.005,
    heading_deg=0,
    fov_deg=75,
    range_m=100,
    stream="sim://?fps=10",
    owner_name="",
    owner_contact="",
    waiver_id="",
    waiver_signed="",
    waiver_expires="",
    waiver_revoked="",
    sharing="",
    allowed_hours="",
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    feats = [
        {
            "type": "Feature",
            "properties": {"highway": "residential", "name": f"E{i}"},
            "geometry": {
                "type": "LineString",
                "coordinates": [[LON0 + k * 0.0025, LAT0 + i * 0.0025] for k in range(5)],
            },
        }
        for i in range(5)
    ]
    (tmp_path / "roads.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": feats})
    )
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    load_config(tmp_path / "cfg.yaml")  # valid, and the road cache beside it is built
    return tmp_path


def _csv(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(columns))
        w.writeheader()
        w.writerows(rows)
    return path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtcc_wall", "registry", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_csv_import_adds_updates_and_keeps_the_rest(site: Path) -> None:
    cfg = site / "cfg.yaml"
    reg = _csv(site / "owners.csv", [_row(), P1_SAME, C1_RENAMED])

    r = _cli("import", str(reg), "--config", str(cfg))

    assert r.returncode == 0, r.stderr
    assert "1 added, 1 updated, 1 unchanged" in r.stdout
    assert "updated  c1 (fov_deg, name)" in r.stdout
    assert PASSWORD not in r.stdout + r.stderr
    assert (site / "cfg.yaml.bak").read_text() == CONFIG
    text = cfg.read_text()
    assert text.startswith("# My town's wall. This comment must survive an import.\n")
    loaded = load_config(cfg)
    assert list(loaded.cameras) == ["c1", "p1", "p2"]
    c1, p1, p2 = (loaded.cameras[c] for c in ("c1", "p1", "p2"))
    assert (c1.name, c1.fov_deg, c1.sharing) == ("North cam (new lens)", 75.0, None)
    assert c1.transport == "udp"  # not a registry column: kept from the config
    assert p1.sharing == "live_during_incident"
    assert p2.sharing == "on_request"
    assert p2.allowed_hours == "07:00-22:00"
    assert p2.owner is not None
    assert p2.owner.name == "Corner Bakery LLC"
    assert p2.waiver is not None
    assert (p2.waiver.signed, p2.waiver.expires, p2.waiver.revoked) == (
        "2026-01-17",
        "2027-01-17",
        False,
    )
    assert not list(site.glob(".cfg.yaml.*.tmp"))

    # importing the same file again changes nothing
    again = _cli("import", str(reg), "--config", str(cfg))
    assert again.returncode == 0, again.stderr
    assert "0 added, 0 updated, 3 unchanged" in again.stdout


def test_one_bad_row_and_nothing_is_written(site: Path) -> None:
    reg = _csv(
        site / "owners.csv",
        [_row(id="p3"), _row(id="p4", waiver_signed="2026-02-30"), C1_RENAMED],
    )
    before = _snapshot(site)

    with pytest.raises(ConfigError) as ei:
        import_registry(reg, site / "cfg.yaml")
    probs = [str(p) for p in ei.value.problems]
    assert len(probs) == 1
    # header on line 1: the second data row is line 3
    assert probs[0].startswith(f"{reg}:3: waiver_signed: ")
    assert "'p4'" in probs[0]

    r = _cli("import", str(reg), "--config", str(site / "cfg.yaml"))
    assert r.returncode == 2
    assert f"{reg}:3: waiver_signed" in r.stderr
    assert "nothing was imported" in r.stderr
    assert _snapshot(site) == before


def test_every_problem_of_every_row_is_listed(site: Path) -> None:
    rows = [
        _row(id="p3", heading_deg=400, stream=f"rtsp://viewer:{PASSWORD}@/nohost"),
        _row(id="p4", owner_name="", owner_contact="", sharing="always"),
        _row(id="p5", allowed_hours="9-17"),
        _row(id="p5"),
        _row(id="bad id!", waiver_expires="2025-01-01"),
        C1_RENAMED | {"waiver_id": "W-9", "waiver_signed": "2026-01-01", "sharing": "on_request"},
    ]
    reg = _csv(site / "owners.csv", rows)
    before = _snapshot(site)

    r = _cli("import", str(reg), "--config", str(site / "cfg.yaml"))

    assert r.returncode == 2
    err = r.stderr
    assert PASSWORD not in err
    for where in (
        ":2: heading_deg: Input should be less than 360",
        ":2: stream: ",
        ":3: sharing: Input should be 'registry_only', 'on_request' or 'live_during_incident'",
        ":4: allowed_hours: Value error, expected HH:MM-HH:MM",
        ":5: id: duplicate camera id 'p5' (first at ",
        ":6: id: Value error, must be 1-64 letters",
        ":7: sharing: Value error, only private cameras have a sharing tier",
    ):
        assert where in err, where
    assert "problems found; nothing was imported" in err
    assert _snapshot(site) == before


def test_cross_field_rules_name_the_row(site: Path) -> None:
    rows = [
        _row(id="p3", owner_name="", owner_contact=""),
        _row(id="p4", waiver_id="", waiver_signed="", waiver_expires="", waiver_revoked=""),
        _row(id="p5", waiver_signed="2026-05-01", waiver_expires="2026-04-01"),
        C1_RENAMED | {"waiver_id": "W-9", "waiver_signed": "2026-01-01"},
        _row(id="p6", owner_contact=""),
    ]
    with pytest.raises(ConfigError) as ei:
        import_registry(_csv(site / "owners.csv", rows), site / "cfg.yaml")
    got = {(p.line, p.path) for p in ei.value.problems}
    assert got == {
        (2, "owner_name"),
        (3, "waiver_id"),
        (4, "waiver_expires"),
        (5, "waiver_id"),
        (6, "owner_contact"),
    }


def test_unknown_and_missing_columns(site: Path) -> None:
    cols = (*(c for c in COLUMNS if c != "range_m"), "ownr_name")
    reg = site / "owners.csv"
    with reg.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
    with pytest.raises(ConfigError) as ei:
        import_registry(reg, site / "cfg.yaml")
    probs = [str(p) for p in ei.value.problems]
    assert f"{reg}:1: ownr_name: unknown column (did you mean 'owner_name'?)" in probs
    assert f"{reg}:1: range_m: required column is missing" in probs


def test_optional_columns_may_be_left_out(site: Path) -> None:
    cols = COLUMNS[:9]
    row = {k: v for k, v in C1_RENAMED.items() if k in cols} | {"id": "c9"}
    result = import_registry(_csv(site / "owners.csv", [row], cols), site / "cfg.yaml")
    assert result.plan.added == ["c9"]
    assert load_config(site / "cfg.yaml").cameras["c9"].sharing is None


def _feature(row: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in row.items() if k not in ("lon", "lat") and v != ""}
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "properties": props,
    }


def test_geojson_import(site: Path) -> None:
    reg = site / "owners.geojson"
    feats = [_feature(_row()), _feature(C1_RENAMED)]
    feats[0]["properties"]["waiver_revoked"] = True  # native JSON types are fine
    feats[0]["properties"]["heading_deg"] = 181.5
    reg.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))

    result = import_registry(reg, site / "cfg.yaml")

    assert result.plan.added == ["p2"]
    assert result.plan.updated == [("c1", ["fov_deg", "name"])]
    assert result.backup == site / "cfg.yaml.bak"
    p2 = load_config(site / "cfg.yaml").cameras["p2"]
    assert p2.heading_deg == 181.5
    assert (p2.lon, p2.lat) == (-89.996, 32.006)
    assert p2.waiver is not None
    assert p2.waiver.revoked is True


def test_geojson_bad_feature_is_named_by_index(site: Path) -> None:
    reg = site / "owners.geojson"
    bad = _feature(_row(id="p3", fov_deg=0))
    not_a_point = _feature(_row(id="p4")) | {"geometry": {"type": "LineString"}}
    extra = _feature(_row(id="p5"))
    extra["properties"]["colour"] = "red"
    feats = [_feature(_row()), bad, not_a_point, extra]
    reg.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    before = _snapshot(site)

    r = _cli("import", str(reg), "--config", str(site / "cfg.yaml"))

    assert r.returncode == 2
    assert f"{reg}: features[1].properties.fov_deg: Input should be greater than 0" in r.stderr
    assert f"{reg}: features[2].geometry: expected a Point [lon, lat]" in r.stderr
    assert f"{reg}: features[3].properties.colour: unknown property" in r.stderr
    assert "features[0]" not in r.stderr
    assert _snapshot(site) == before


def test_dry_run_writes_nothing(site: Path) -> None:
    reg = _csv(site / "owners.csv", [_row(), C1_RENAMED])
    before = _snapshot(site)

    r = _cli("import", str(reg), "--config", str(site / "cfg.yaml"), "--dry-run")

    assert r.returncode == 0, r.stderr
    assert "dry run: 1 added, 1 updated, 0 unchanged; nothing written" in r.stdout
    assert _snapshot(site) == before


def test_out_leaves_the_config_alone(site: Path) -> None:
    reg = _csv(site / "owners.csv", [_row()])
    out = site / "reviewed.yaml"
    before = (site / "cfg.yaml").read_bytes()

    r = _cli("import", str(reg), "--config", str(site / "cfg.yaml"), "--out", str(out))

    assert r.returncode == 0, r.stderr
    assert (site / "cfg.yaml").read_bytes() == before
    assert not (site / "cfg.yaml.bak").exists()
    assert "p2" in load_config(out).cameras


def test_the_whole_config_is_checked_before_writing(site: Path) -> None:
    # a valid row, but 50 km away from the road network: check-config would reject the result
    reg = _csv(site / "owners.csv", [_row(lon=-89.5)])
    before = _snapshot(site)
    with pytest.raises(ConfigError) as ei:
        import_registry(reg, site / "cfg.yaml")
    msg = "\n".join(str(p) for p in ei.value.problems)
    assert "cameras[2].location: after the import: camera 'p2' lies" in msg
    assert _snapshot(site) == before


def test_cameras_not_last_dumps_the_whole_file(site: Path) -> None:
    cfg = site / "cfg.yaml"
    data = yaml.safe_load(CONFIG)
    cfg.write_text(yaml.safe_dump({"cameras": data["cameras"], "site": data["site"]}))
    import_registry(_csv(site / "owners.csv", [_row()]), cfg)
    assert list(load_config(cfg).cameras) == ["c1", "p1", "p2"]


def test_bad_input_files(site: Path) -> None:
    cfg = site / "cfg.yaml"
    r = _cli("import", str(site / "missing.csv"), "--config", str(cfg))
    assert r.returncode == 2
    assert "registry file not found" in r.stderr
    (site / "reg.xlsx").write_text("x")
    assert _cli("import", str(site / "reg.xlsx"), "--config", str(cfg)).returncode == 2
    (site / "empty.csv").write_text(",".join(COLUMNS) + "\n")
    r = _cli("import", str(site / "empty.csv"), "--config", str(cfg))
    assert r.returncode == 2
    assert "the registry has no rows" in r.stderr
    (site / "broken.geojson").write_text("{")
    r = _cli("import", str(site / "broken.geojson"), "--config", str(cfg))
    assert r.returncode == 2
    assert "JSON syntax error" in r.stderr
    assert _cli("import").returncode == 2
    assert _cli("frobnicate").returncode == 2
