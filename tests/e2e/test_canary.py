"""A canary password in the config never shows up anywhere rtcc-wall writes or says.

The config's camera city-01 streams from ``rtsp://viewer:CANARY@127.0.0.1:9/``
(nothing listens there: every attempt fails and is reported). The app, the
probe, the incident CLI, evidence exports and the transparency report all run for real; their
output, the log lines at DEBUG level, and the bytes of the audit and incident
databases must not contain the canary.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CANARY = "Canary-pw-77x"


def _run(
    args: list[str], env: dict[str, str], timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtcc_wall", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_canary_password_never_leaks(tmp_path: Path, demo_config_path: Path) -> None:
    roads = (demo_config_path.parent / "resources/demo/roads.geojson").resolve()
    text = demo_config_path.read_text().replace(
        "road_network: resources/demo/roads.geojson", f"road_network: {roads}"
    )
    block = text.index("id: city-01")
    at = text.index("stream:", block)
    end = text.index("\n", at)
    text = text[:at] + f'stream: "rtsp://viewer:{CANARY}@127.0.0.1:9/live"' + text[end:]
    cfg = tmp_path / "site.yaml"
    cfg.write_text(text)
    audit_db = tmp_path / "audit.sqlite3"
    incidents_db = tmp_path / "incidents.sqlite3"
    env = dict(os.environ)
    env.update(
        HOME=str(tmp_path),
        QT_QPA_PLATFORM="offscreen",
        RTCC_WALL_LOG="DEBUG",
        RTCC_WALL_AUDIT_DB=str(audit_db),
        RTCC_WALL_INCIDENTS_DB=str(incidents_db),
        RTCC_WALL_OPERATOR="canary.tester",
    )
    env.pop("RTCC_WALL_CONFIG", None)
    said: list[str] = []

    def run(args: list[str], want: int | None = None) -> None:
        r = _run(args, env)
        said.extend([r.stdout, r.stderr])
        if want is not None:
            assert r.returncode == want, r.stdout + r.stderr

    run(["check-config", str(cfg)], 0)
    # the wall: city-01 is on it at start and fails to connect, over and over
    run(["--config", str(cfg), "--screenshot", str(tmp_path / "s.png"), "--after", "4"], 0)
    run(["probe", "--config", str(cfg), "city-01", "--seconds", "2"], 1)
    run(["probe", "--config", str(cfg), "city-01", "--seconds", "2", "--json"], 1)
    run(
        ["incident", "open", "--config", str(cfg), "--at", "-90.1838,32.2990", "--type", "Robbery",
         "--case", "C-9", "--reason", f"tip mentions rtsp://viewer:{CANARY}@127.0.0.1:9/live",
         "--db", str(incidents_db), "--audit-db", str(audit_db)],
        0,
    )  # fmt: skip
    # exports: one of a working camera, tied to that incident (its reason holds the canary URL),
    # and one of city-01, which cannot be recorded
    incident_id = said[-2].strip()
    exports = tmp_path / "exports"
    for camera, want in (("city-02", 0), ("city-01", 1)):
        run(["export", "create", "--config", str(cfg), "--camera", camera, "--seconds", "1",
             "--reason", f"as seen on rtsp://viewer:{CANARY}@127.0.0.1:9/live", "--incident",
             incident_id, "--out", str(exports), "--db", str(incidents_db), "--audit-db",
             str(audit_db)], want)  # fmt: skip
    [export] = exports.iterdir()
    run(["export", "verify", str(export)], 0)
    exported = [f for f in export.rglob("*") if f.is_file()]
    assert len(exported) == 7
    for f in exported:
        assert CANARY.encode() not in f.read_bytes(), f
    run(["audit", "verify", "--db", str(audit_db)], 0)
    for fmt in ("csv", "html"):
        run(["audit", "report", "--db", str(audit_db), "--from", "2000-01-01", "--to", "2100-01-01",
             "--format", fmt], 0)  # fmt: skip
    assert any("viewer:***@" in s for s in said), "the URL should be named, redacted"
    for s in said:
        assert CANARY not in s
    for f in tmp_path.iterdir():
        if f.suffix in (".sqlite3", ".sqlite3-wal", ".sqlite3-shm") or "sqlite3" in f.name:
            assert CANARY.encode() not in f.read_bytes(), f.name
    assert audit_db.exists()
    assert incidents_db.exists()
