"""Headless commands, run as a user would (a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rtcc_wall.core.spatial import CameraIndex


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtcc_wall", *args], capture_output=True, text=True, timeout=120
    )


def test_nearby_json_matches_index(demo_config_path: Path, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["city-06"]
    lon, lat = cam.lon + 0.0004, cam.lat  # about 38 m east of city-06
    r = _cli(
        "nearby",
        "--config",
        str(demo_config_path),
        "--at",
        f"{lon},{lat}",
        "--radius",
        "350",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["radius_m"] == 350
    x, y = demo_loaded.projection.to_xy(lon, lat)
    want = CameraIndex(demo_loaded.cameras.values()).nearby(x, y, 350)
    assert [c["id"] for c in doc["cameras"]] == [n.camera.id for n in want]
    assert set(doc["cameras"][0]) == {"id", "name", "ownership", "distance_m", "covers_point"}
    # city-06 looks east along Capitol St: it sees the point and is ranked first
    assert doc["cameras"][0]["id"] == "city-06"
    assert doc["cameras"][0]["covers_point"] is True
    covers = [c["covers_point"] for c in doc["cameras"]]
    assert covers == sorted(covers, reverse=True)


def test_nearby_text(demo_config_path: Path) -> None:
    r = _cli(
        "nearby", "--config", str(demo_config_path), "--at", "-90.1848,32.2988", "--radius", "300"
    )
    assert r.returncode == 0, r.stderr
    assert "within 300 m" in r.stdout
    assert "city-01" in r.stdout


def test_nearby_bad_input(demo_config_path: Path, tmp_path: Path) -> None:
    bad = _cli("nearby", "--config", str(demo_config_path), "--at", "somewhere")
    assert bad.returncode == 2
    assert "LON,LAT" in bad.stderr
    missing = _cli("nearby", "--config", str(tmp_path / "nope.yaml"), "--at", "0,0")
    assert missing.returncode == 2
    assert "config file not found" in missing.stderr
