"""The incident store and the operator's identity, on real SQLite files (no mocks).

The audit failures are real too: a trigger added with a raw connection that
refuses every INSERT (what a full or read-only disk looks like to SQLite), or
an audit log whose connection was closed.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from rtcc_wall.core import audit
from rtcc_wall.core.access import Incident, Operator
from rtcc_wall.core.audit import AuditLog, AuditWriteError
from rtcc_wall.core.incident_store import (
    IncidentClosed,
    IncidentStore,
    UnknownIncident,
    default_db_path,
    read_records,
)
from rtcc_wall.core.operators import OPERATOR_ENV, UnknownOperator, current_operator

ALICE = Operator("alice", "operator")
SUE = Operator("sue", "supervisor")
T0 = dt.datetime(2026, 11, 27, 14, 5, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-6)))


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.sqlite3")


@pytest.fixture
def store(tmp_path: Path, log: AuditLog) -> IncidentStore:
    return IncidentStore(tmp_path / "incidents.sqlite3", log)


def _open(store: IncidentStore, now: dt.datetime = T0, **kw: object) -> Incident:
    args: dict[str, object] = {
        "x": 12.5,
        "y": -40.0,
        "lon": -90.1848,
        "lat": 32.2988,
        "type": "robbery",
        "case_number": "2026-004711",
        "reason": "armed robbery at the pharmacy",
        "operator": ALICE,
        "now": now,
    }
    args.update(kw)
    return store.open(**args)  # type: ignore[arg-type]


def _refuse_inserts(db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(
        "CREATE TRIGGER refuse_all BEFORE INSERT ON events "
        "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
    )
    conn.close()


# --- open, get, list, close ---------------------------------------------------------


def test_open_returns_the_incident_with_aware_utc_times(store: IncidentStore) -> None:
    inc = _open(store)
    assert inc.id == "INC-20261127-0001"
    assert (inc.x, inc.y) == (12.5, -40.0)
    assert (inc.type, inc.case_number) == ("robbery", "2026-004711")
    assert inc.reason == "armed robbery at the pharmacy"
    assert inc.opened_at == T0
    assert inc.opened_at.tzinfo is not None
    assert inc.opened_at.utcoffset() == dt.timedelta(0)
    assert inc.closed_at is None
    assert inc.owner_approvals == frozenset()
    assert store.get(inc.id) == inc


def test_round_trip_and_persistence_across_a_new_store(tmp_path: Path, log: AuditLog) -> None:
    db = tmp_path / "incidents.sqlite3"
    with IncidentStore(db, log) as first:
        a = _open(first)
        b = _open(first, now=T0 + dt.timedelta(minutes=5), type="shooting", case_number="C-2")
        closed = first.close(
            a.id, operator=SUE, reason="suspect arrested", now=T0 + dt.timedelta(hours=1)
        )
    assert closed.closed_at == T0 + dt.timedelta(hours=1)
    with IncidentStore(db, log) as again:
        assert again.get(a.id) == closed
        assert again.get(b.id) == b
        assert [i.id for i in again.list()] == [b.id, a.id]  # newest first
        assert [i.id for i in again.list(open_only=True)] == [b.id]
        rec = again.record(a.id)
        assert (rec.opened_by, rec.closed_by, rec.close_reason) == (
            "alice",
            "sue",
            "suspect arrested",
        )
        assert (rec.lon, rec.lat) == (-90.1848, 32.2988)
        # the next id continues the day's counter
        assert _open(again).id == "INC-20261127-0003"
    # what is on disk: UTC text
    conn = sqlite3.connect(db)
    opened, closed_at = conn.execute(
        "SELECT opened_at, closed_at FROM incidents WHERE id = ?", (a.id,)
    ).fetchone()
    conn.close()
    assert opened == "2026-11-27T20:05:00.123456Z"
    assert closed_at == "2026-11-27T21:05:00.123456Z"
    # newest first by opening time: the third was opened at T0, before b
    assert [r.id for r in read_records(db, open_only=True)] == [b.id, "INC-20261127-0003"]


def test_ids_are_sequential_per_day_of_the_local_time(store: IncidentStore) -> None:
    ids = [_open(store, now=T0 + dt.timedelta(minutes=i)).id for i in range(3)]
    assert ids == ["INC-20261127-0001", "INC-20261127-0002", "INC-20261127-0003"]
    # 23:30 local on the 27th is already the 28th in UTC: the id keeps the local date
    late = T0.replace(hour=23, minute=30)
    assert _open(store, now=late).id == "INC-20261127-0004"
    assert _open(store, now=T0 + dt.timedelta(days=1)).id == "INC-20261128-0001"


def test_the_counter_goes_past_9999(store: IncidentStore) -> None:
    conn = sqlite3.connect(store.path, isolation_level=None)
    conn.execute(
        "INSERT INTO incidents (id, x, y, lon, lat, type, case_number, reason, opened_at, "
        "opened_by) VALUES ('INC-20261127-9999', 0, 0, 0, 0, 't', 'c', 'r', "
        "'2026-11-27T10:00:00.000000Z', 'x')"
    )
    conn.close()
    assert _open(store).id == "INC-20261127-10000"
    assert _open(store).id == "INC-20261127-10001"


def test_ids_are_unique_when_threads_share_a_store(store: IncidentStore) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(10):
            inc = _open(store)
            with lock:
                ids.append(inc.id)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == len(set(ids)) == 40
    assert len(store.list()) == 40
    assert audit.verify(store.audit.path).ok


@pytest.mark.parametrize(
    ("field", "name"),
    [("type", "type"), ("case_number", "case number"), ("reason", "reason")],
)
def test_required_fields(store: IncidentStore, field: str, name: str) -> None:
    for empty in ("", "   "):
        with pytest.raises(ValueError, match=f"^{name} is required"):
            _open(store, **{field: empty})
    assert store.list() == []
    assert audit.verify(store.audit.path).rows_checked == 0  # nothing was logged either


def test_fields_are_stored_stripped(store: IncidentStore) -> None:
    inc = _open(store, type="  robbery ", case_number=" C-9 ", reason=" why \n")
    assert (inc.type, inc.case_number, inc.reason) == ("robbery", "C-9", "why")
    assert store.get(inc.id) == inc


def test_bad_position_and_naive_time_are_refused(store: IncidentStore) -> None:
    with pytest.raises(ValueError, match="longitude,latitude"):
        _open(store, lon=32.2988, lat=-190.0)
    with pytest.raises(ValueError, match="finite"):
        _open(store, x=float("nan"))
    with pytest.raises(ValueError, match="timezone-aware"):
        _open(store, now=dt.datetime(2026, 11, 27, 14, 5))
    assert store.list() == []


def test_closing_twice_or_an_unknown_incident_is_an_error(store: IncidentStore) -> None:
    inc = _open(store)
    later = T0 + dt.timedelta(hours=2)
    store.close(inc.id, operator=ALICE, reason="done", now=later)
    with pytest.raises(IncidentClosed, match="already closed") as closed_twice:
        store.close(inc.id, operator=ALICE, reason="again", now=later)
    assert isinstance(closed_twice.value, ValueError)
    with pytest.raises(UnknownIncident, match="no incident 'INC-19990101-0001'") as unknown:
        store.close("INC-19990101-0001", operator=ALICE, reason="x", now=later)
    assert isinstance(unknown.value, KeyError)
    with pytest.raises(KeyError):
        store.get("nope")
    with pytest.raises(ValueError, match="^reason is required"):
        store.close(_open(store).id, operator=ALICE, reason=" ", now=later)
    with pytest.raises(ValueError, match="opened later"):
        store.close(_open(store).id, operator=ALICE, reason="x", now=T0 - dt.timedelta(1))
    kinds = [e.kind for e in audit.read_events(store.audit.path)]
    assert kinds.count(audit.INCIDENT_CLOSE) == 1


def test_open_incidents_at_a_time(store: IncidentStore) -> None:
    a = _open(store)
    b = _open(store, now=T0 + dt.timedelta(minutes=1))
    store.close(a.id, operator=ALICE, reason="done", now=T0 + dt.timedelta(minutes=30))
    assert [i.id for i in store.open_incidents(T0 + dt.timedelta(minutes=10))] == [b.id, a.id]
    assert [i.id for i in store.open_incidents(T0 + dt.timedelta(minutes=31))] == [b.id]


# --- the audit log ------------------------------------------------------------------


def test_every_change_is_audited_with_case_and_reason(store: IncidentStore) -> None:
    inc = _open(store)
    store.approve_owner(inc.id, "priv-07", operator=SUE, note="owner called back", now=T0)
    store.close(inc.id, operator=SUE, reason="suspect arrested", now=T0 + dt.timedelta(hours=1))
    result = audit.verify(store.audit.path)
    assert result.ok, result.message
    assert result.rows_checked == 3
    opened, approved, closed = audit.read_events(store.audit.path)
    assert (opened.kind, opened.operator, opened.incident_id) == (
        audit.INCIDENT_OPEN,
        "alice",
        inc.id,
    )
    assert opened.reason == "armed robbery at the pharmacy"
    detail = json.loads(opened.detail_json)
    assert detail["case_number"] == "2026-004711"
    assert detail["type"] == "robbery"
    assert detail["reason"] == "armed robbery at the pharmacy"
    assert (detail["lon"], detail["lat"], detail["x"], detail["y"]) == (
        -90.1848, 32.2988, 12.5, -40.0,
    )  # fmt: skip
    assert (approved.kind, approved.camera_id, approved.ownership) == (
        audit.OPERATOR,
        "priv-07",
        "private",
    )
    assert json.loads(approved.detail_json)["action"] == "owner_approval"
    assert approved.reason == "owner called back"
    assert (closed.kind, closed.operator, closed.reason) == (
        audit.INCIDENT_CLOSE,
        "sue",
        "suspect arrested",
    )
    assert json.loads(closed.detail_json)["case_number"] == "2026-004711"


def test_a_refused_audit_write_opens_nothing(store: IncidentStore) -> None:
    _refuse_inserts(store.audit.path)
    with pytest.raises(AuditWriteError, match="disk says no"):
        _open(store)
    assert store.list() == []
    assert read_records(store.path) == []


def test_a_closed_audit_log_opens_nothing(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    store = IncidentStore(tmp_path / "incidents.sqlite3", log)
    log.close()
    with pytest.raises(AuditWriteError):
        _open(store)
    assert store.list() == []
    # the store itself still works once the log does
    store.audit = AuditLog(tmp_path / "audit.sqlite3")
    assert _open(store).id == "INC-20261127-0001"


def test_a_refused_audit_write_closes_and_approves_nothing(store: IncidentStore) -> None:
    inc = _open(store)
    _refuse_inserts(store.audit.path)
    with pytest.raises(AuditWriteError):
        store.close(inc.id, operator=ALICE, reason="done", now=T0 + dt.timedelta(hours=1))
    with pytest.raises(AuditWriteError):
        store.approve_owner(inc.id, "priv-07", operator=ALICE, note="yes", now=T0)
    assert store.get(inc.id) == inc  # still open, no approval


# --- owner approvals ----------------------------------------------------------------


def test_approvals_are_persisted_and_open_the_policy(tmp_path: Path, log: AuditLog) -> None:
    db = tmp_path / "incidents.sqlite3"
    with IncidentStore(db, log) as store:
        inc = _open(store)
        approved = store.approve_owner(inc.id, "priv-07", operator=SUE, note="by phone", now=T0)
        store.approve_owner(inc.id, "priv-09", operator=SUE, note="in person", now=T0)
        store.approve_owner(inc.id, "priv-07", operator=ALICE, note="confirmed", now=T0)
    assert approved.owner_approvals == frozenset({"priv-07"})
    with IncidentStore(db, log) as again:
        got = again.get(inc.id)
        assert got.owner_approvals == frozenset({"priv-07", "priv-09"})
        rec = again.record(inc.id)
        assert [(a.camera_id, a.approved_by, a.note) for a in rec.approvals] == [
            ("priv-07", "sue", "by phone"),
            ("priv-09", "sue", "in person"),
            ("priv-07", "alice", "confirmed"),
        ]
        assert rec.approvals[0].approved_at == T0
        assert got.is_open(T0)
        again.close(inc.id, operator=SUE, reason="done", now=T0 + dt.timedelta(hours=1))
        with pytest.raises(IncidentClosed):
            again.approve_owner(inc.id, "priv-11", operator=SUE, note="late", now=T0)
        with pytest.raises(ValueError, match="^note is required"):
            again.approve_owner(_open(again).id, "priv-11", operator=SUE, note="", now=T0)


# --- defaults -----------------------------------------------------------------------


def test_default_path_and_its_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RTCC_WALL_INCIDENTS_DB", raising=False)
    monkeypatch.delenv(audit.DB_ENV, raising=False)
    assert default_db_path().name == "incidents.sqlite3"
    assert default_db_path().parent == audit.default_db_path().parent
    monkeypatch.setenv("RTCC_WALL_INCIDENTS_DB", str(tmp_path / "x.sqlite3"))
    assert default_db_path() == tmp_path / "x.sqlite3"


def test_the_database_is_in_wal_mode(store: IncidentStore) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


# --- who is the operator ------------------------------------------------------------

CONFIGURED = [Operator("J. Doe", "operator"), Operator("sue", "supervisor")]


def _nobody() -> str:
    raise OSError("no such user")


def test_explicit_name_wins_over_env_and_os_user() -> None:
    env = {OPERATOR_ENV: "sue"}
    got = current_operator(CONFIGURED, "J. Doe", os_user=lambda: "root", environ=env)
    assert got == Operator("J. Doe", "operator")


def test_env_wins_over_os_user() -> None:
    got = current_operator(CONFIGURED, None, os_user=lambda: "root", environ={OPERATOR_ENV: "sue"})
    assert got == Operator("sue", "supervisor")


def test_env_from_the_real_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OPERATOR_ENV, "sue")
    assert current_operator(CONFIGURED, os_user=lambda: "root").role == "supervisor"


def test_os_user_when_nothing_else() -> None:
    got = current_operator(CONFIGURED, "  ", os_user=lambda: "sue", environ={})
    assert got == Operator("sue", "supervisor")


def test_case_insensitive_match_gives_the_configured_spelling() -> None:
    got = current_operator(CONFIGURED, None, os_user=lambda: "SUE", environ={})
    assert got == Operator("sue", "supervisor")


def test_any_name_is_an_operator_when_none_are_configured() -> None:
    got = current_operator([], None, os_user=lambda: "kiosk", environ={})
    assert got == Operator("kiosk", "operator")


def test_unknown_name_with_a_configured_list_is_refused() -> None:
    with pytest.raises(UnknownOperator, match="'mallory'.*configured operators: J. Doe, sue") as e:
        current_operator(CONFIGURED, "mallory", environ={})
    assert e.value.name == "mallory"
    assert e.value.configured == ("J. Doe", "sue")


def test_no_name_at_all_is_refused() -> None:
    with pytest.raises(UnknownOperator, match="--operator NAME"):
        current_operator([], None, os_user=_nobody, environ={})
