"""`rtcc-wall routes`: the headless escape-route analysis, as an administrator runs it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtcc_wall", "routes", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_routes_json(demo_config_path: Path, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["city-06"]
    at = "2026-11-27T14:05:00+00:00"
    r = _cli(
        "--config", str(demo_config_path), "--at", f"{cam.lon + 0.0002},{cam.lat}",
        "--time", at, "--minutes", "8", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "rtcc-wall/escape-analysis/1"
    assert doc["incident"]["at"] == at
    assert doc["minutes"] == 8
    assert 6 <= len(doc["routes"]) <= 8
    t0 = dt.datetime.fromisoformat(at)
    seen_cameras = 0
    for route in doc["routes"]:
        assert route["earliest_s"] <= route["latest_s"]
        last = -1.0
        for c in route["cameras"]:
            seen_cameras += 1
            assert c["earliest_s"] <= c["latest_s"]
            assert c["enter_m"] >= last  # in order along the route
            last = c["enter_m"]
            start = dt.datetime.fromisoformat(c["earliest_at"])
            assert abs((start - t0).total_seconds() - c["earliest_s"]) < 0.2
    assert seen_cameras > 0
    ids = {c["id"] for c in doc["choke_points"]}
    for route in doc["routes"]:
        for c in route["cameras"]:
            assert c["choke_point"] == (c["id"] in ids)


def test_routes_text_and_ignore_oneway(demo_config_path: Path) -> None:
    r = _cli("--config", str(demo_config_path), "--at", "-90.1838,32.2990", "--ignore-oneway")
    assert r.returncode == 0, r.stderr
    assert "one-way ignored" in r.stdout
    assert "Route 1" in r.stdout


def test_routes_bad_input(demo_config_path: Path) -> None:
    far = _cli("--config", str(demo_config_path), "--at", "-90.0,32.5")
    assert far.returncode == 2
    assert "road" in far.stderr.lower()
    bad_time = _cli("--config", str(demo_config_path), "--at", "-90.1838,32.2990", "--time", "noon")
    assert bad_time.returncode == 2
    assert "ISO 8601" in bad_time.stderr
    too_long = _cli(
        "--config", str(demo_config_path), "--at", "-90.1838,32.2990", "--minutes", "99"
    )
    assert too_long.returncode == 2


def test_readme_documents_the_json_schema() -> None:
    from rtcc_wall.core.routing import ESCAPE_ANALYSIS_SCHEMA

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert ESCAPE_ANALYSIS_SCHEMA.split("\n\n", 1)[1].strip() in readme
