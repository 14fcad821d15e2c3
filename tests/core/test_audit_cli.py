"""`rtcc-wall audit verify|checkpoint|report`, as an administrator runs them.

Most cases call ``cli.run`` in-process (fast, same code path as the entry
point); one runs the real ``python -m rtcc_wall`` process end to end.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rtcc_wall.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, run
from rtcc_wall.core import audit
from rtcc_wall.core.audit import AuditLog

CANARY = "Canary-pw-77"


def _log(db: Path, n: int = 5) -> None:
    t = [dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)]

    def clock() -> dt.datetime:
        t[0] += dt.timedelta(minutes=1)
        return t[0]

    with AuditLog(db, clock=clock) as log:
        log.append(audit.INCIDENT_OPEN, operator="alice", incident_id="inc-1")
        for i in range(n - 1):
            log.append(
                audit.VIEW_START if i % 2 == 0 else audit.VIEW_STOP,
                operator="alice",
                camera_id="p-1",
                incident_id="inc-1",
                ownership="private",
                reason=f"follow the suspect via rtsp://u:{CANARY}@h/",
                detail={"view_id": f"v{i // 2}"},
            )


def _tamper(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    conn.execute(sql)
    conn.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(["audit", *argv])
    out, err = capsys.readouterr()
    assert CANARY not in out + err
    return code, out, err


def test_verify_ok_and_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "audit.sqlite3"
    _log(db)
    code, out, _ = _run(capsys, "verify", "--db", str(db))
    assert code == EXIT_OK
    assert out.strip() == "OK: 5 events, last seq 5"
    _tamper(db, "UPDATE events SET operator = 'mallory' WHERE seq = 3")
    code, out, err = _run(capsys, "verify", "--db", str(db))
    assert code == EXIT_FAILED
    assert "FAILED: seq 3:" in err
    assert "edited" in err
    assert "triggers are missing" in err


def test_checkpoint_then_truncation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "audit.sqlite3"
    cp = tmp_path / "cp.json"
    _log(db)
    code, out, _ = _run(capsys, "checkpoint", "--db", str(db), "--out", str(cp))
    assert code == EXIT_OK
    assert "seq 5" in out
    assert json.loads(cp.read_text())["seq"] == 5
    code, _, err = _run(capsys, "checkpoint", "--db", str(db), "--out", str(cp))
    assert code == EXIT_BAD_INPUT
    assert "--force" in err
    code, _, _ = _run(capsys, "checkpoint", "--db", str(db), "--out", str(cp), "--force")
    assert code == EXIT_OK
    code, out, _ = _run(capsys, "verify", "--db", str(db), "--checkpoint", str(cp))
    assert code == EXIT_OK
    assert "matches the checkpoint" in out

    _tamper(db, "DELETE FROM events WHERE seq >= 4")
    assert _run(capsys, "verify", "--db", str(db))[0] == EXIT_OK
    code, _, err = _run(capsys, "verify", "--db", str(db), "--checkpoint", str(cp))
    assert code == EXIT_FAILED
    assert "FAILED: seq 4:" in err
    assert "truncated" in err
    # a broken chain is not vouched for by a new checkpoint
    _tamper(db, "UPDATE events SET reason = 'x' WHERE seq = 2")
    code, _, err = _run(capsys, "checkpoint", "--db", str(db), "--out", str(tmp_path / "n.json"))
    assert code == EXIT_FAILED
    assert "seq 2" in err


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "audit.sqlite3"
    code, _, err = _run(capsys, "verify", "--db", str(db))
    assert code == EXIT_BAD_INPUT
    assert "no audit log at" in err
    assert not db.exists()
    code, _, err = _run(
        capsys, "report", "--db", str(db), "--from", "2026-03-01", "--to", "2026-03-31"
    )
    assert code == EXIT_BAD_INPUT
    assert "no audit log at" in err
    _log(db)
    for bad in ("2026-13-01", "yesterday", "2026-3-1", "20260301"):
        code, _, err = _run(capsys, "report", "--db", str(db), "--from", bad, "--to", "2026-03-31")
        assert code == EXIT_BAD_INPUT
        assert "expected a date YYYY-MM-DD" in err
    code, _, err = _run(
        capsys, "report", "--db", str(db), "--from", "2026-03-31", "--to", "2026-03-01"
    )
    assert code == EXIT_BAD_INPUT
    assert "before it starts" in err
    code, _, err = _run(capsys, "report", "--db", str(db), "--to", "2026-03-01")
    assert code == EXIT_BAD_INPUT
    code, _, err = _run(
        capsys, "verify", "--db", str(db), "--checkpoint", str(tmp_path / "nope.json")
    )
    assert code == EXIT_BAD_INPUT
    assert "cannot read the checkpoint" in err
    assert _run(capsys)[0] == EXIT_BAD_INPUT  # no verb
    assert _run(capsys, "frobnicate")[0] == EXIT_BAD_INPUT


def test_report_csv_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "audit.sqlite3"
    _log(db, 5)  # two private views of 1 minute each
    code, out, _ = _run(
        capsys, "report", "--db", str(db), "--from", "2026-03-10", "--to", "2026-03-10"
    )
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0] == "from,to,metric,city,private,unknown,total"
    assert "2026-03-10,2026-03-10,views,0,2,0,2" in lines
    assert "2026-03-10,2026-03-10,view_minutes,0.0,2.0,0.0,2.0" in lines
    page = tmp_path / "report.html"
    code, out, _ = _run(
        capsys, "report", "--db", str(db), "--from", "2026-03-01", "--to", "2026-03-31",
        "--out", str(page),
    )  # fmt: skip
    assert code == EXIT_OK
    assert "report written to" in out
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert CANARY not in text
    csv_file = tmp_path / "r.txt"
    code, _, _ = _run(
        capsys, "report", "--db", str(db), "--from", "2026-03-10", "--to", "2026-03-10",
        "--format", "csv", "--out", str(csv_file),
    )  # fmt: skip
    assert code == EXIT_OK
    assert csv_file.read_text().startswith("from,to,metric")


def test_real_process_and_default_db(tmp_path: Path) -> None:
    """The installed entry point, with the log found through $RTCC_WALL_AUDIT_DB."""
    db = tmp_path / "audit.sqlite3"
    _log(db, 3)
    env = {**__import__("os").environ, audit.DB_ENV: str(db)}
    r = subprocess.run(
        [sys.executable, "-m", "rtcc_wall", "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stdout.strip() == "OK: 3 events, last seq 3"
    r = subprocess.run(
        [sys.executable, "-m", "rtcc_wall", "audit", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == EXIT_OK
    assert "verify|checkpoint|report" in r.stdout
