"""Registry import progress and cancel: a cancelled import leaves every file as it was.

The command-line test runs the real ``rtcc-wall registry import`` on a
pseudo-terminal (so that it prints its progress line, as for an operator) and
presses Ctrl+C (SIGINT) while the rows are being validated.
"""

from __future__ import annotations

import csv
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rtcc_wall.config.loader import load_config
from rtcc_wall.core.registry_import import COLUMNS, ImportCancelled, import_registry

LON0, LAT0 = -90.0, 32.0
PASSWORD = "s3cretPW"

CONFIG = """\
# Registry progress test town.
site:
  name: Test town
  center: {lon: -89.995, lat: 32.005}
  road_network: roads.geojson
cameras:
  - id: c1
    name: North cam
    ownership: city
    location: {lon: -89.995, lat: 32.005}
    heading_deg: 0
    fov_deg: 60
    range_m: 100
    stream: "sim://?fps=10"
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    feats = [
        {
            "type": "Feature",
            "properties": {"highway": "residential"},
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
    load_config(tmp_path / "cfg.yaml")  # valid, and its road cache is built
    return tmp_path


def registry(path: Path, n: int) -> Path:
    """n private doorbell cameras on the test town's grid."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(COLUMNS))
        w.writeheader()
        for i in range(n):
            w.writerow(
                {
                    "id": f"p{i}",
                    "name": f"Doorbell {i}",
                    "ownership": "private",
                    "lon": LON0 + 0.001 + (i % 97) * 0.0001,
                    "lat": LAT0 + 0.001 + (i // 97 % 97) * 0.0001,
                    "heading_deg": i % 360,
                    "fov_deg": 90,
                    "range_m": 25,
                    "stream": f"rtsp://viewer:{PASSWORD}@10.0.{i // 250}.{i % 250}/s1",
                    "sub_stream": "",
                    "owner_name": f"Owner {i}",
                    "owner_contact": "+1 601 555 0100",
                    "waiver_id": f"W-{i}",
                    "waiver_signed": "2026-01-01",
                    "waiver_expires": "2027-01-01",
                    "waiver_revoked": "false",
                    "sharing": "on_request",
                    "allowed_hours": "",
                }
            )
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_progress_counts_every_row(site: Path) -> None:
    reg = registry(site / "owners.csv", 250)
    calls: list[tuple[int, int]] = []
    result = import_registry(
        reg, site / "cfg.yaml", progress=lambda d, t: calls.append((d, t)), cancelled=lambda: False
    )
    assert result.written == site / "cfg.yaml"
    assert len(result.plan.added) == 250
    assert calls[0] == (0, 250)
    assert calls[-1] == (250, 250)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)
    assert {t for _, t in calls} == {250}


@pytest.mark.parametrize(
    ("press_at", "message"),
    [
        (0, "after 1 of 250 rows"),  # the row in hand is finished, then it stops
        (1, "after 2 of 250 rows"),
        (120, "after 121 of 250 rows"),
        (249, "after reading the registry"),
    ],
)
def test_cancel_while_validating_changes_nothing(site: Path, press_at: int, message: str) -> None:
    """Ctrl+C pressed while the counter shows ``press_at``: the import stops, writes nothing."""
    reg = registry(site / "owners.csv", 250)
    before = snapshot(site)
    seen: list[int] = []
    pressed: list[bool] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done == press_at:
            pressed.append(True)

    with pytest.raises(ImportCancelled, match=f"{message}; nothing was written"):
        import_registry(reg, site / "cfg.yaml", progress=progress, cancelled=lambda: bool(pressed))
    assert snapshot(site) == before, "a cancelled import must not touch any file"
    assert max(seen) == (press_at if press_at < 249 else 250)


def test_cancelled_from_the_start(site: Path) -> None:
    reg = registry(site / "owners.csv", 5)
    with pytest.raises(ImportCancelled, match="after 0 of 5 rows"):
        import_registry(reg, site / "cfg.yaml", cancelled=lambda: True)


def test_cancel_after_validation_before_the_write(site: Path) -> None:
    """Cancel once every row is valid and the merged config checked: still nothing written."""
    reg = registry(site / "owners.csv", 40)
    before = snapshot(site)
    checked: list[bool] = []

    def whole_check(plan: object, path: Path) -> list:  # type: ignore[type-arg]
        checked.append(True)
        return []

    with pytest.raises(ImportCancelled, match="after checking the new configuration"):
        import_registry(
            reg, site / "cfg.yaml", whole_check=whole_check, cancelled=lambda: bool(checked)
        )
    assert snapshot(site) == before
    assert not (site / "cfg.yaml.bak").exists()


def test_cancel_wins_over_bad_rows(site: Path) -> None:
    reg = registry(site / "owners.csv", 10)
    text = reg.read_text().replace("private", "privat", 3)
    reg.write_text(text)
    with pytest.raises(ImportCancelled):
        import_registry(reg, site / "cfg.yaml", cancelled=lambda: True)


def _run_on_pty(args: list[str], cwd: Path, interrupt_when: bytes) -> tuple[int, str, float]:
    """Runs the CLI with stderr on a pseudo-terminal; SIGINT once ``interrupt_when`` shows."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTCC_WALL_")}
    env["HOME"] = str(cwd)
    stdout = (cwd / "stdout.txt").open("w+b")  # a file: a full pipe would block the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtcc_wall", *args],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=slave,
        cwd=str(cwd),
        env=env,
    )
    os.close(slave)
    seen = b""
    sent_at = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed its end
                    break
                if not chunk:
                    break
                seen += chunk
            if sent_at is None and interrupt_when in seen:
                proc.send_signal(signal.SIGINT)
                sent_at = time.monotonic()
            if proc.poll() is not None and not r:
                break
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        stdout.seek(0)
        out = stdout.read().decode()
        stdout.close()
        (cwd / "stdout.txt").unlink()
    assert sent_at is not None, f"no progress line seen: {seen!r}"
    return rc, seen.decode(errors="replace") + out, time.monotonic() - sent_at


def test_ctrl_c_in_the_cli_cancels_cleanly(site: Path) -> None:
    reg = registry(site / "owners.csv", 40_000)  # about 1.5 s of validation here
    before = snapshot(site)
    rc, text, took = _run_on_pty(
        ["registry", "import", str(reg), "--config", str(site / "cfg.yaml")],
        site,
        interrupt_when=b"Ctrl+C cancels",  # the progress line, as an operator sees it
    )
    assert "cancelling" in text or "validating rows" in text
    assert rc == 130, text
    assert "cancelled; nothing was imported" in text
    assert f"{site / 'cfg.yaml'} is unchanged" in text
    assert "Traceback" not in text
    assert PASSWORD not in text
    assert took < 5, f"took {took:.1f} s to stop after Ctrl+C"
    assert snapshot(site) == before


def test_cli_without_a_terminal_prints_no_progress(site: Path) -> None:
    reg = registry(site / "owners.csv", 30)
    r = subprocess.run(
        [sys.executable, "-m", "rtcc_wall", "registry", "import", str(reg), "--config", "cfg.yaml"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(site),
    )
    assert r.returncode == 0, r.stderr
    assert "validating rows" not in r.stderr
    assert "30 added" in r.stdout
