"""``rtcc-wall probe``, run as an installer would: a real process against real streams."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtcc_wall", "probe", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg CLI not installed")
    path = tmp_path_factory.mktemp("probe") / "x.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x240:rate=15", "-t", "3", "-c:v", "libx264", "-g", "15",
         "-pix_fmt", "yuv420p", str(path)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return path


def test_probe_file_json(clip: Path, demo_config_path: Path) -> None:
    r = _cli("--config", str(demo_config_path), clip.as_uri(), "--seconds", "2", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True
    assert doc["width"] == 320
    assert doc["height"] == 240
    assert doc["codec"] == "h264"
    assert doc["fps"] == pytest.approx(15, abs=4)
    assert doc["frames"] >= 15
    assert doc["reconnects"] == 0
    assert 0 <= doc["time_to_first_frame_s"] < 1.5
    assert 0 <= doc["time_to_connect_s"] <= doc["time_to_first_frame_s"]
    states = [s["state"] for s in doc["states"]]
    assert states[:2] == ["connecting", "live"]
    assert [s["t"] for s in doc["states"]] == sorted(s["t"] for s in doc["states"])


def test_probe_plain_path_text(clip: Path, demo_config_path: Path) -> None:
    r = _cli("--config", str(demo_config_path), str(clip), "--seconds", "1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(ln.startswith("+0.00s connecting") for ln in lines)
    assert any(ln.startswith("+") and " live" in ln for ln in lines)
    assert "resolution    320x240" in r.stdout
    assert "codec         h264" in r.stdout


def test_probe_sim_camera_of_the_demo_config(demo_config_path: Path) -> None:
    r = _cli("--config", str(demo_config_path), "city-01", "--seconds", "2", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["camera_id"] == "city-01"
    assert doc["ok"] is True
    assert doc["frames"] > 0
    assert doc["width"] == 640


def test_probe_unreachable_camera_fails_without_leaking_the_password(
    demo_config_path: Path,
) -> None:
    url = "rtsp://u:topsecret@127.0.0.1:9/x"
    r = _cli("--config", str(demo_config_path), url, "--seconds", "2")
    assert r.returncode == 1
    assert "topsecret" not in r.stdout + r.stderr
    assert "u:***@" in r.stdout
    assert "frames        0" in r.stdout
    assert "refused" in r.stdout.lower()


@pytest.mark.parametrize(
    "target",
    ["ftp://u:topsecret@cam/x", "rtsp://u:topsecret@/x", "no-such-camera", "sim://?fps=99"],
)
def test_probe_bad_input_exits_2(target: str, demo_config_path: Path) -> None:
    r = _cli("--config", str(demo_config_path), target, "--seconds", "1")
    assert r.returncode == 2
    assert "topsecret" not in r.stdout + r.stderr
    assert r.stderr.strip()


def test_probe_bad_seconds_and_bad_config(tmp_path: Path) -> None:
    assert _cli("city-01", "--seconds", "0").returncode == 2
    assert _cli("--config", str(tmp_path / "nope.yaml"), "city-01").returncode == 2
