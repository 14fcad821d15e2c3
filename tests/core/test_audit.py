"""The tamper-evident audit log and the transparency report, on real SQLite files.

Tampering is simulated as a tamperer would do it: with a separate raw sqlite3
connection that drops the append-only triggers first, then edits, deletes,
swaps or truncates rows. Crashes are real (SIGKILL of a writing child) and so
is a full disk (RLIMIT_FSIZE in a child).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rtcc_wall.core import audit
from rtcc_wall.core.audit import (
    GENESIS_HASH,
    AuditChainError,
    AuditError,
    AuditLog,
    AuditWriteError,
    canonical_bytes,
    checkpoint,
    read_events,
    verify,
)
from rtcc_wall.core.report import transparency_report

ROOT = Path(__file__).resolve().parents[2]
CANARY = "Canary-pw-77"
CANARY_URL = f"rtsp://u:{CANARY}@h/"
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


class FakeClock:
    """A settable clock: ``at(...)`` moves it; each call returns that time, then ticks 1 s."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def at(self, hh: int, mm: int, *, day: int = 10) -> None:
        self.now = dt.datetime(2026, 3, day, hh, mm, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        now = self.now
        self.now += dt.timedelta(seconds=1)  # distinct, increasing times
        return now


def raw(path: Path) -> sqlite3.Connection:
    """The tamperer's connection: autocommit, triggers dropped."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return conn


def filled(path: Path, n: int = 10) -> AuditLog:
    log = AuditLog(path, clock=FakeClock())
    for i in range(n):
        log.append(
            audit.VIEW_START if i % 2 else audit.VIEW_STOP,
            operator=f"op{i % 3}",
            camera_id=f"cam-{i}",
            ownership="private" if i % 2 else "city",
            reason=f"reason {i}",
            detail={"view_id": f"v{i}", "i": i},
        )
    return log


def file_bytes(path: Path) -> bytes:
    """The database and its WAL, as a tamperer with a hex editor would see them."""
    out = b""
    for suffix in ("", "-wal"):
        p = Path(str(path) + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


def test_append_verify_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    with AuditLog(db, clock=FakeClock()) as log:
        first = log.append(audit.APP_START, operator="system")
        ev = log.append(
            audit.VIEW_START,
            operator="alice",
            camera_id="p-1",
            incident_id="inc-1",
            ownership="private",
            reason="robbery suspect",
            outcome="granted",
            detail={"view_id": "v1", "nested": {"a": [1, 2.5, None, True]}},
        )
    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH
    assert ev.seq == 2
    assert ev.prev_hash == first.hash
    assert ev.ts_utc.endswith("Z")
    assert ev.ts_utc == "2026-03-10T09:00:01.000000Z"
    events = list(read_events(db))
    assert events == [first, ev]
    assert events[1].detail == {"view_id": "v1", "nested": {"a": [1, 2.5, None, True]}}
    result = verify(db)
    assert result.ok, result.message
    assert (result.rows_checked, result.last_seq, result.last_hash) == (2, 2, ev.hash)
    assert result.message == "2 events, last seq 2"
    assert result.warnings == ()
    # reopening continues the chain
    with AuditLog(db) as log:
        third = log.append(audit.APP_STOP, operator="system")
    assert (third.seq, third.prev_hash) == (3, ev.hash)
    assert verify(db).ok


def test_database_settings(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    with AuditLog(db) as log:
        log.append(audit.APP_START, operator="system")
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        cols = [r[1] for r in conn.execute("PRAGMA table_info(events)")]
        conn.close()
    assert cols == [
        "seq", "ts_utc", "kind", "operator", "camera_id", "incident_id", "ownership",
        "reason", "outcome", "detail", "prev_hash", "hash",
    ]  # fmt: skip


def test_known_row_has_known_hash(tmp_path: Path) -> None:
    """The canonical encoding is a published format: this row hashes to this value forever."""
    clock = lambda: dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)  # noqa: E731
    with AuditLog(tmp_path / "k.sqlite3", clock=clock) as log:
        ev = log.append(
            audit.VIEW_START,
            operator="alice",
            camera_id="cam-1",
            incident_id="inc-9",
            ownership="private",
            reason="burglary follow-up",
            outcome="granted",
            detail={"zone": "Café", "view_id": "v1"},
        )
    expected = (
        '[1,"2026-01-02T03:04:05.000006Z","view_start","alice","cam-1","inc-9","private",'
        '"burglary follow-up","granted","{\\"view_id\\":\\"v1\\",\\"zone\\":\\"Café\\"}",'
        f'"{"0" * 64}"]'
    ).encode()
    assert canonical_bytes(ev.hashed_fields()) == expected
    assert hashlib.sha256(expected).hexdigest() == ev.hash
    assert ev.hash == "c166076d4c16816c22c2ca0c35a602ca852cddeed5d8202623c2eb22c11015b4"


def test_bad_arguments_are_programming_errors(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "a.sqlite3") as log:
        with pytest.raises(ValueError, match="kind"):
            log.append("view_peek", operator="x")
        with pytest.raises(ValueError, match="ownership"):
            log.append(audit.VIEW_START, operator="x", ownership="federal")
        with pytest.raises(TypeError, match="JSON"):
            log.append(audit.EXPORT, operator="x", detail={"t": object()})
    assert verify(tmp_path / "a.sqlite3").rows_checked == 0


def test_update_and_delete_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    filled(db, 3).close()
    conn = sqlite3.connect(db, isolation_level=None)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE events SET reason = 'nothing to see' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events WHERE seq = 3")
    conn.close()
    assert verify(db).ok
    assert verify(db).rows_checked == 3


def _edit(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE events SET reason = 'routine check' WHERE seq = 4")


def _delete_middle(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM events WHERE seq = 5")


def _swap(conn: sqlite3.Connection) -> None:
    """Rows 3 and 4 trade places: every field but the sequence number moves."""
    cols = [r[1] for r in conn.execute("PRAGMA table_info(events)") if r[1] != "seq"]
    r3 = conn.execute(f"SELECT {', '.join(cols)} FROM events WHERE seq = 3").fetchone()
    r4 = conn.execute(f"SELECT {', '.join(cols)} FROM events WHERE seq = 4").fetchone()
    sets = ", ".join(f"{c} = ?" for c in cols)
    conn.execute(f"UPDATE events SET {sets} WHERE seq = 3", r4)
    conn.execute(f"UPDATE events SET {sets} WHERE seq = 4", r3)


def _edit_and_rehash(conn: sqlite3.Connection) -> None:
    """A smarter edit: row 4 is changed and given a correct hash of its own."""
    conn.execute("UPDATE events SET reason = 'routine check' WHERE seq = 4")
    row = conn.execute(f"{audit._SELECT} WHERE seq = 4").fetchone()
    conn.execute("UPDATE events SET hash = ? WHERE seq = 4", (audit.row_hash(row[:-1]),))


def _delete_first(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM events WHERE seq = 1")


@pytest.mark.parametrize(
    ("tamper", "first_bad", "words"),
    [
        (_edit, 4, "edited"),
        (_delete_middle, 5, "missing"),
        (_swap, 3, "hash does not match"),
        (_edit_and_rehash, 5, "prev_hash"),
        (_delete_first, 1, "missing"),
    ],
)
def test_tampering_is_detected_at_the_first_bad_row(
    tmp_path: Path, tamper: Callable[[sqlite3.Connection], None], first_bad: int, words: str
) -> None:
    db = tmp_path / "a.sqlite3"
    filled(db, 10).close()
    conn = raw(db)
    tamper(conn)
    conn.close()
    result = verify(db)
    assert not result.ok
    assert result.first_bad_seq == first_bad
    assert words in result.message
    assert result.message.startswith(f"seq {first_bad}:")
    assert result.last_seq == first_bad - 1  # the intact prefix
    assert any("triggers are missing" in w for w in result.warnings)


def test_truncation_needs_a_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    filled(db, 10).close()
    cp_file = tmp_path / "elsewhere" / "cp.json"
    cp_file.parent.mkdir()
    cp = checkpoint(db, cp_file)
    assert (cp.seq, cp.rows) == (10, 10)
    doc = json.loads(cp_file.read_text())
    assert doc["seq"] == 10
    assert doc["hash"] == verify(db).last_hash
    assert doc["db_path"] == str(db.resolve())
    assert doc["ts_utc"].endswith("Z")
    assert verify(db, checkpoint=cp_file).ok

    conn = raw(db)
    conn.execute("DELETE FROM events WHERE seq >= 8")
    conn.close()
    assert verify(db).ok  # a shorter chain is still a valid chain...
    result = verify(db, checkpoint=cp_file)  # ...but not the one the checkpoint saw
    assert not result.ok
    assert result.first_bad_seq == 8
    assert "truncated" in result.message


def test_rewritten_tail_is_caught_by_the_checkpoint(tmp_path: Path) -> None:
    """A tamperer who recomputes every hash after the edit leaves a valid chain."""
    db = tmp_path / "a.sqlite3"
    filled(db, 6).close()
    cp_file = tmp_path / "cp.json"
    checkpoint(db, cp_file)
    conn = raw(db)
    conn.execute("UPDATE events SET reason = 'routine' WHERE seq = 2")
    prev = conn.execute("SELECT hash FROM events WHERE seq = 1").fetchone()[0]
    for seq in range(2, 7):
        conn.execute("UPDATE events SET prev_hash = ? WHERE seq = ?", (prev, seq))
        row = conn.execute(f"{audit._SELECT} WHERE seq = ?", (seq,)).fetchone()
        prev = audit.row_hash(row[:-1])
        conn.execute("UPDATE events SET hash = ? WHERE seq = ?", (prev, seq))
    conn.close()
    assert verify(db).ok
    result = verify(db, checkpoint=cp_file)
    assert not result.ok
    assert result.first_bad_seq == 6
    assert "checkpoint" in result.message


def test_checkpoint_refuses_overwrite_and_broken_chain(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    filled(db, 4).close()
    out = tmp_path / "cp.json"
    checkpoint(db, out)
    before = out.read_text()
    with pytest.raises(AuditError, match="--force"):
        checkpoint(db, out)
    assert out.read_text() == before
    with AuditLog(db) as log:
        log.append(audit.APP_STOP, operator="system")
    assert checkpoint(db, out, force=True).seq == 5
    assert json.loads(out.read_text())["seq"] == 5
    conn = raw(db)
    _edit(conn)
    conn.close()
    with pytest.raises(AuditChainError, match="seq 4") as info:
        checkpoint(db, tmp_path / "new.json")
    assert info.value.result.first_bad_seq == 4
    assert not (tmp_path / "new.json").exists()


def test_bad_checkpoint_file(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    filled(db, 2).close()
    bad = tmp_path / "bad.json"
    bad.write_text('{"seq": 3}')
    with pytest.raises(AuditError, match="not a checkpoint"):
        verify(db, checkpoint=bad)
    with pytest.raises(AuditError, match="cannot read"):
        verify(db, checkpoint=tmp_path / "none.json")


def test_verify_never_changes_the_database(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    filled(db, 5).close()
    before = db.read_bytes()
    assert verify(db).ok
    list(read_events(db))
    assert db.read_bytes() == before
    with pytest.raises(AuditError, match="no audit log"):
        verify(tmp_path / "missing.sqlite3")
    assert not (tmp_path / "missing.sqlite3").exists()


def test_not_a_database_fails_verification(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = verify(junk)
    assert not result.ok
    assert "cannot read" in result.message


def test_threads_append_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    log = AuditLog(db)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                log.append(audit.VIEW_START, operator=f"t{n}", detail={"i": i})
        except BaseException as e:  # noqa: BLE001 - reported to the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    assert errors == []
    result = verify(db)
    assert result.ok, result.message
    assert result.rows_checked == result.last_seq == 800
    ops = [e.operator for e in read_events(db)]
    assert {o: ops.count(o) for o in set(ops)} == {"t0": 200, "t1": 200, "t2": 200, "t3": 200}


_APPENDER = """
import sys
from rtcc_wall.core.audit import AuditLog
log = AuditLog(sys.argv[1])
for i in range(int(sys.argv[3])):
    log.append("view_start", operator=sys.argv[2], detail={"i": i})
"""


def test_two_processes_append_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    # no AuditLog here: the two children also race to create the schema
    procs = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, str(db), name, "200"], cwd=ROOT)
        for name in ("proc-a", "proc-b")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    result = verify(db)
    assert result.ok, result.message
    assert result.rows_checked == 400
    ops = [e.operator for e in read_events(db)]
    assert ops.count("proc-a") == ops.count("proc-b") == 200


_TIGHT_LOOP = """
import sys
from rtcc_wall.core.audit import AuditLog
log = AuditLog(sys.argv[1])
print("ready", flush=True)
for i in range(10**9):
    ev = log.append("view_start", operator="child", reason="tight loop", detail={"i": i})
    print(ev.seq, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_every_reported_commit_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", _TIGHT_LOOP, str(db)], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    reported: list[int] = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        assert line.endswith(b"\n"), "the child died on its own"
        reported.append(int(line))
    os.kill(child.pid, signal.SIGKILL)
    rest = child.stdout.read()
    child.wait(timeout=10)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    reported += [int(x) for x in rest.split(b"\n")[:-1]]  # complete lines only
    assert len(reported) > 10
    result = verify(db)
    assert result.ok, result.message
    assert result.last_seq >= max(reported)
    present = {e.seq for e in read_events(db)}
    assert set(reported) <= present
    # and the log is writable again after the crash
    with AuditLog(db) as log:
        assert log.append(audit.APP_START, operator="system").seq == result.last_seq + 1
    assert verify(db).ok


_DISK_FULL = """
import resource, signal, sys
from rtcc_wall.core.audit import AuditLog, AuditWriteError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of dying
log = AuditLog(sys.argv[1])
log.append("app_start", operator="system")
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
for i in range(100000):
    try:
        log.append("export", operator="op", reason=sys.argv[2], detail={"pad": "x" * 4000})
    except AuditWriteError as e:
        print(i + 1)
        print(e)
        sys.exit(0)
sys.exit(3)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")
def test_full_disk_raises_audit_write_error(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    r = subprocess.run(
        [sys.executable, "-c", _DISK_FULL, str(db), CANARY_URL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    committed_text, message = r.stdout.splitlines()[:2]
    assert "could not record a export event" in message
    assert str(db) in message
    assert CANARY not in r.stdout + r.stderr
    result = verify(db)
    assert result.ok, result.message
    assert result.rows_checked == int(committed_text)  # app_start + the exports before the error


def test_write_fails_when_another_writer_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    log = AuditLog(db, busy_timeout_s=0.2)
    log.append(audit.APP_START, operator="system")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(AuditWriteError, match="could not record a view_start event") as info:
        log.append(audit.VIEW_START, operator="alice", reason=CANARY_URL)
    assert CANARY not in str(info.value)
    other.execute("ROLLBACK")
    other.close()
    assert log.append(audit.VIEW_START, operator="alice").seq == 2  # no hole, no fork
    log.close()
    assert verify(db).ok


def test_write_fails_on_a_closed_log_and_an_impossible_path(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.sqlite3")
    log.close()
    with pytest.raises(AuditWriteError, match="could not record"):
        log.append(audit.APP_STOP, operator="system")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AuditWriteError, match="cannot open the audit log"):
        AuditLog(blocker / "audit.sqlite3")


def test_passwords_never_reach_the_file_or_the_report(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    clock = FakeClock()
    log = AuditLog(db, clock=clock)
    ev = log.append(
        audit.VIEW_START,
        operator="alice",
        camera_id=f"cam {CANARY_URL}",
        ownership="private",
        reason=f"checking {CANARY_URL}",
        outcome=f"granted for {CANARY_URL}stream",
        detail={"stream": CANARY_URL, "list": [CANARY_URL], CANARY_URL: 1},
    )
    assert CANARY not in repr(ev)
    assert "rtsp://u:***@h/" in (ev.reason or "")
    assert file_bytes(db).find(CANARY.encode()) == -1
    log.close()
    assert file_bytes(db).find(CANARY.encode()) == -1
    report = transparency_report(db, T0.date(), T0.date(), now=T0 + dt.timedelta(days=2))
    assert CANARY not in report.to_csv()
    assert CANARY not in report.to_html()
    assert verify(db).ok


def test_default_path_is_in_the_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(audit.DB_ENV, raising=False)
    p = audit.default_db_path()
    assert p.name == "audit.sqlite3"
    assert "rtcc-wall" in p.parent.name
    monkeypatch.setenv(audit.DB_ENV, "/somewhere/else.sqlite3")
    assert audit.default_db_path() == Path("/somewhere/else.sqlite3")


# --- transparency report ------------------------------------------------------


def _report_log(db: Path) -> None:
    """A day at the center, 2026-03-10 (UTC), plus events around it."""
    c = FakeClock()
    with AuditLog(db, clock=c) as log:
        c.at(8, 0)
        log.append(audit.APP_START, operator="system")
        c.at(9, 0)
        log.append(audit.INCIDENT_OPEN, operator="alice", incident_id="inc-1")
        # private view 1: 5 minutes, paired by view_id
        c.at(10, 0)
        log.append(audit.VIEW_START, operator="alice", camera_id="p-1", incident_id="inc-1",
                   ownership="private", detail={"view_id": "v1"})  # fmt: skip
        # private view 2: 3 minutes, paired by camera+incident+operator (no view_id)
        c.at(10, 2)
        log.append(audit.VIEW_START, operator="bob", camera_id="p-2", incident_id="inc-1",
                   ownership="private")  # fmt: skip
        c.at(10, 5)
        log.append(audit.VIEW_STOP, operator="alice", camera_id="p-1", incident_id="inc-1",
                   ownership="private", detail={"view_id": "v1"})  # fmt: skip
        c.at(10, 5)
        log.append(audit.VIEW_STOP, operator="bob", camera_id="p-2", incident_id="inc-1",
                   ownership="private")  # fmt: skip
        # denials and mask lifts, exports
        for own in ("private", "private", "city"):
            log.append(audit.VIEW_DENY, operator="carol", camera_id="x", ownership=own,
                       reason="no incident")  # fmt: skip
        log.append(audit.MASK_LIFT, operator="alice", camera_id="p-1", ownership="private")
        log.append(audit.MASK_RESTORE, operator="alice", camera_id="p-1", ownership="private")
        log.append(audit.EXPORT, operator="alice", camera_id="c-1", ownership="city")
        log.append(audit.REPLAY_OPEN, operator="alice", camera_id="p-1", ownership="private")
        log.append(audit.REPLAY_CLOSE, operator="alice", camera_id="p-1", ownership="private")
        # a city view never stopped: counts until app_stop (10 minutes)
        c.at(11, 0)
        log.append(audit.VIEW_START, operator="alice", camera_id="c-1", incident_id="inc-1",
                   ownership="city", detail={"view_id": "v3"})  # fmt: skip
        c.at(11, 10)
        log.append(audit.APP_STOP, operator="system")
        c.at(12, 0)
        log.append(audit.INCIDENT_OPEN, operator="bob", incident_id="inc-2")
        # the next day: outside a report of the 10th
        c.at(9, 0, day=11)
        log.append(audit.INCIDENT_OPEN, operator="bob", incident_id="inc-3")
        log.append(audit.EXPORT, operator="bob", camera_id="p-1", ownership="private")


def _csv(report_text: str) -> dict[str, dict[str, str]]:
    return {row["metric"]: row for row in csv.DictReader(io.StringIO(report_text))}


def test_report_counts_and_durations_by_ownership(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    _report_log(db)
    day = dt.date(2026, 3, 10)
    report = transparency_report(db, day, day, now=T0 + dt.timedelta(days=30))
    assert report.chain.ok
    assert report.incidents_opened == 2
    assert report.views == {"private": 2, "city": 1}
    assert report.view_seconds == {"private": 8 * 60.0, "city": 10 * 60.0}
    assert report.denials == {"private": 2, "city": 1}
    assert report.mask_lifts == {"private": 1}
    assert report.exports == {"city": 1}
    assert report.replays == {"private": 1}
    rows = _csv(report.to_csv())
    assert list(rows) == [
        "incidents_opened", "views", "view_minutes", "views_denied", "mask_lifts", "exports",
        "replays",
    ]  # fmt: skip
    assert rows["replays"]["private"] == "1"
    assert rows["view_minutes"]["private"] == "8.0"
    assert rows["view_minutes"]["city"] == "10.0"
    assert rows["view_minutes"]["total"] == "18.0"
    assert rows["views"]["private"] == "2"
    assert rows["views_denied"]["total"] == "3"
    assert rows["incidents_opened"]["total"] == "2"
    assert rows["incidents_opened"]["private"] == ""
    assert rows["exports"]["from"] == rows["exports"]["to"] == "2026-03-10"

    two_days = transparency_report(db, day, dt.date(2026, 3, 11), now=T0 + dt.timedelta(days=30))
    assert two_days.incidents_opened == 3
    assert two_days.exports == {"city": 1, "private": 1}


def test_report_clips_views_to_the_period(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    c = FakeClock()
    with AuditLog(db, clock=c) as log:
        c.at(23, 58, day=9)  # started the day before, stopped 2 min into the period
        log.append(audit.VIEW_START, operator="a", camera_id="p", ownership="private",
                   detail={"view_id": 1})  # fmt: skip
        c.at(0, 2)
        log.append(audit.VIEW_STOP, operator="a", camera_id="p", detail={"view_id": 1})
        c.at(23, 0)  # never stopped, no app_stop: counts until the period ends (60 min)
        log.append(audit.VIEW_START, operator="a", camera_id="p", ownership="private")
        c.at(23, 30)  # never stopped, but "now" is 23:40: 10 min
        log.append(audit.VIEW_START, operator="b", camera_id="c", ownership="city")
    day = dt.date(2026, 3, 10)
    later = transparency_report(db, day, day, now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    assert later.views == {"private": 1, "city": 1}  # the first view started before
    assert later.view_seconds == {"private": 62 * 60.0, "city": 30 * 60.0}
    today = transparency_report(db, day, day, now=dt.datetime(2026, 3, 10, 23, 40, tzinfo=dt.UTC))
    assert today.view_seconds == {"private": 42 * 60.0, "city": 10 * 60.0}


def test_report_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    db = tmp_path / "<b>&log.sqlite3"
    _report_log(db)
    day = dt.date(2026, 3, 10)
    page = transparency_report(db, day, day).to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<table>" in page
    assert "&lt;b&gt;&amp;log.sqlite3" in page
    assert "<b>" not in page
    assert "<script" not in page
    assert "http" not in page  # no external resources
    assert "verified: 19 events, last seq 19" in page
    assert "<td>8.0</td>" in page


def test_report_on_a_tampered_log_says_so(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    _report_log(db)
    conn = raw(db)
    conn.execute("DELETE FROM events WHERE seq = 7")
    conn.close()
    day = dt.date(2026, 3, 10)
    report = transparency_report(db, day, day)
    assert not report.chain.ok
    assert "DOES NOT VERIFY" in report.to_html()


def test_report_period_must_not_end_before_it_starts(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    AuditLog(db).close()
    with pytest.raises(ValueError, match="before it starts"):
        transparency_report(db, dt.date(2026, 3, 10), dt.date(2026, 3, 9))
