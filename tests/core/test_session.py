"""AccessSession: the gate between tiles and cameras, with every decision in the audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rtcc_wall.core import audit as A
from rtcc_wall.core.access import AccessPolicy, Incident, Operator
from rtcc_wall.core.session import AUDIT_DOWN, AccessSession
from tests.helpers import refuse_audit_writes

NOW = dt.datetime(2026, 11, 27, 14, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> dt.datetime:
        return self.t


@pytest.fixture
def session(tmp_path: Path, demo_loaded) -> AccessSession:  # type: ignore[no-untyped-def]
    return AccessSession(
        operator=Operator("alice", "operator"),
        policy=AccessPolicy(),
        audit=A.AuditLog(tmp_path / "audit.sqlite3", clock=Clock()),
        cameras=demo_loaded.cameras,
        clock=Clock(),
    )


def _events(s: AccessSession) -> list[A.AuditEvent]:
    return list(A.read_events(s.audit.path))


def _incident_at(cam, **kw) -> Incident:  # type: ignore[no-untyped-def]
    return Incident(
        id="INC-1", x=cam.x + 20, y=cam.y, opened_at=NOW - dt.timedelta(minutes=1),
        case_number="C-1", type="Robbery", reason="armed robbery", **kw,
    )  # fmt: skip


def test_private_camera_needs_an_open_incident(session: AccessSession, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["priv-01"]
    tile = object()
    d = session.request_view(cam.id, tile)
    assert not d.allowed
    assert d.code == "no_incident"
    ev = _events(session)[-1]
    assert (ev.kind, ev.camera_id, ev.ownership, ev.outcome) == (
        A.VIEW_DENY,
        cam.id,
        "private",
        "no_incident",
    )
    session.set_incident(_incident_at(cam), "armed robbery, suspect fled on foot")
    d = session.request_view(cam.id, tile)
    assert d.allowed
    assert d.expires_at == NOW + dt.timedelta(minutes=15)
    start = _events(session)[-1]
    assert start.kind == A.VIEW_START
    assert start.incident_id == "INC-1"
    assert "view_id" in start.detail
    session.end_view(cam.id, tile)
    stop = _events(session)[-1]
    assert stop.kind == A.VIEW_STOP
    assert stop.detail["view_id"] == start.detail["view_id"]
    assert A.verify(session.audit.path).ok


def test_city_camera_allowed_and_logged(session: AccessSession) -> None:
    d = session.request_view("city-01", object())
    assert d.allowed
    assert _events(session)[-1].kind == A.VIEW_START


def test_closing_the_incident_revokes_private_views(session: AccessSession, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["priv-02"]
    inc = _incident_at(cam)
    session.set_incident(inc, "reason")
    city_tile, private_tile = object(), object()
    assert session.request_view(cam.id, private_tile).allowed
    assert session.request_view("city-01", city_tile).allowed
    assert session.tick() == []
    session.set_incident(inc.closed(NOW), None)
    revoked = session.tick()
    assert [(r.camera_id, r.code) for r in revoked] == [(cam.id, "incident_closed")]
    assert revoked[0].holder is private_tile
    assert (cam.id, private_tile) not in session.active_views()
    assert ("city-01", city_tile) in session.active_views()
    assert _events(session)[-1].outcome == "incident_closed"


def test_view_expires_after_the_limit(session: AccessSession, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["priv-01"]
    session.set_incident(_incident_at(cam), "reason")
    assert session.request_view(cam.id, "tile").allowed
    session._clock.t = NOW + dt.timedelta(minutes=16)  # type: ignore[attr-defined]  # noqa: SLF001
    assert [r.code for r in session.tick()] == ["view_expired"]


def test_audit_failure_refuses_the_view(session: AccessSession) -> None:
    refuse_audit_writes(session.audit.path)  # a real write failure
    d = session.request_view("city-01", object())
    assert not d.allowed
    assert d.code == AUDIT_DOWN


def test_expired_view_needs_a_new_reason(session: AccessSession, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["priv-01"]
    inc = _incident_at(cam)
    session.set_incident(inc, "first reason")
    assert session.request_view(cam.id, "tile").allowed
    session._clock.t = NOW + dt.timedelta(minutes=16)  # type: ignore[attr-defined]  # noqa: SLF001
    assert [r.code for r in session.tick()] == ["view_expired"]
    again = session.request_view(cam.id, "tile")
    assert not again.allowed
    assert again.code == "view_expired"
    session.set_incident(inc, "suspect seen entering the shop")
    renewed = session.request_view(cam.id, "tile")
    assert renewed.allowed
    assert renewed.expires_at == NOW + dt.timedelta(minutes=31)


def test_a_replay_is_audited_open_and_closed(session: AccessSession, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    cam = demo_loaded.cameras["priv-01"]
    session.set_incident(_incident_at(cam), "armed robbery")
    assert session.request_view(cam.id, "tile").allowed
    view_id = _events(session)[-1].detail["view_id"]
    session.set_incident(None, None)  # the operator moved on: the replay is of that view
    first = NOW.timestamp() - 60
    rid = session.open_replay(cam.id, first, first + 59.5)
    assert rid is not None
    ev = _events(session)[-1]
    assert (ev.kind, ev.camera_id, ev.incident_id, ev.ownership, ev.reason, ev.outcome) == (
        A.REPLAY_OPEN, cam.id, "INC-1", "private", "armed robbery", "opened",
    )  # fmt: skip
    assert ev.detail == {
        "replay_id": rid, "role": "operator", "view_id": view_id,
        "buffer_from": "2026-11-27T13:59:00.000000Z", "buffer_to": "2026-11-27T13:59:59.500000Z",
    }  # fmt: skip
    assert session.open_replays() == [rid]
    session.close_replay(rid, code="view_ended")
    session.close_replay(rid)  # the dialog's "finished" after its revoke: once only
    closes = [e for e in _events(session) if e.kind == A.REPLAY_CLOSE]
    assert [(e.outcome, e.detail["replay_id"], e.incident_id) for e in closes] == [
        ("view_ended", rid, "INC-1")
    ]
    assert session.open_replays() == []


def test_open_replays_close_with_the_session(session: AccessSession) -> None:
    rid = session.open_replay("city-01", NOW.timestamp() - 10, NOW.timestamp())
    assert rid is not None
    assert _events(session)[-1].reason == "wall"  # a city camera needs no reason of its own
    session.close()
    ev = _events(session)[-1]
    assert (ev.kind, ev.outcome, ev.detail["replay_id"]) == (A.REPLAY_CLOSE, "app_stop", rid)


def test_audit_failure_refuses_the_replay(session: AccessSession) -> None:
    refuse_audit_writes(session.audit.path)
    assert session.open_replay("city-01", NOW.timestamp() - 10, NOW.timestamp()) is None
    assert session.open_replays() == []
