"""Privacy masks in the core: who may lift them, the audit rows, expiry, and the config."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rtcc_wall.config.loader import load_config
from rtcc_wall.core.access import Operator
from rtcc_wall.core.audit import MASK_LIFT, MASK_RESTORE, AuditLog, AuditWriteError, read_events
from rtcc_wall.core.cameras import Camera, MaskPolygons, make_camera
from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.masks import FULL_FRAME, MaskController
from rtcc_wall.errors import ConfigError
from tests.core.test_config import GOOD, _roads

T0 = dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC)
MASKS: MaskPolygons = (((0.1, 0.1), (0.4, 0.1), (0.4, 0.5)),)
SUPERVISOR = Operator("S. Lee", "supervisor")
OPERATOR = Operator("J. Doe", "operator")
AUDITOR = Operator("A. Smith", "auditor")
PROJ = LocalProjection(0.0, 0.0)


def cam(cam_id: str = "p1", masks: MaskPolygons = MASKS) -> Camera:
    return make_camera(
        id=cam_id,
        name="Shop",
        ownership="private",
        lon=0.0,
        lat=0.0,
        heading_deg=0.0,
        fov_deg=90.0,
        range_m=40.0,
        stream="rtsp://10.0.0.5/s1",
        projection=PROJ,
        masks=masks,
    )


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(tmp_path / "audit.sqlite3", busy_timeout_s=0.2)
    yield log
    log.close()


def controller(audit: AuditLog | None, **kw: float) -> MaskController:
    return MaskController({"p1": cam(), "bare": cam("bare", ())}, audit, **kw)


def rows(audit: AuditLog) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    return [(e.kind, e.operator, e.camera_id, e.reason, e.outcome) for e in read_events(audit.path)]


# --------------------------------------------------------------------------- lifting


def test_masks_are_active_until_lifted() -> None:
    m = controller(None)
    assert m.active_masks("p1", T0) == MASKS
    assert m.active_masks("bare", T0) == ()
    assert m.active_masks("unknown", T0) == ()
    assert m.provider("p1", lambda: T0)() == MASKS


@pytest.mark.parametrize("who", [OPERATOR, AUDITOR])
def test_only_a_supervisor_may_lift(audit: AuditLog, who: Operator) -> None:
    m = controller(audit)
    with pytest.raises(PermissionError, match=f"only a supervisor .*{who.name} is an? {who.role}"):
        m.lift("p1", who, "looking for the suspect", T0)
    assert m.active_masks("p1", T0) == MASKS
    assert rows(audit) == [], "a refused lift writes no MASK_LIFT"


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_lift_needs_a_reason(audit: AuditLog, reason: str) -> None:
    m = controller(audit)
    with pytest.raises(ValueError, match="reason"):
        m.lift("p1", SUPERVISOR, reason, T0)
    assert m.active_masks("p1", T0) == MASKS
    assert rows(audit) == []


def test_lift_and_restore_are_audited(audit: AuditLog) -> None:
    m = controller(audit, lift_minutes=5)
    lift = m.lift("p1", SUPERVISOR, " suspect entered the yard ", T0, incident_id="INC-7")
    assert lift.until == T0 + dt.timedelta(minutes=5)
    assert lift.reason == "suspect entered the yard"
    assert m.active_masks("p1", T0) == ()
    assert m.current_lift("p1", T0 + dt.timedelta(minutes=1)) == lift
    ended = m.restore("p1", OPERATOR, T0 + dt.timedelta(minutes=2))
    assert ended == lift
    assert m.active_masks("p1", T0 + dt.timedelta(minutes=2)) == MASKS
    assert m.restore("p1", OPERATOR, T0 + dt.timedelta(minutes=2)) is None, "nothing to restore"
    assert rows(audit) == [
        (MASK_LIFT, "S. Lee", "p1", "suspect entered the yard", "lifted"),
        (MASK_RESTORE, "J. Doe", "p1", "suspect entered the yard", "restored"),
    ]
    lift_row, restore_row = list(read_events(audit.path))
    assert lift_row.incident_id == "INC-7"
    assert lift_row.ownership == "private"
    assert lift_row.detail["until"] == (T0 + dt.timedelta(minutes=5)).isoformat()
    assert restore_row.detail["lifted_by"] == "S. Lee"
    assert m.expire(T0 + dt.timedelta(minutes=10)) == [], "an early restore is not expired again"


def test_lift_expires_by_itself_and_expiry_is_recorded_once(audit: AuditLog) -> None:
    m = controller(audit, lift_minutes=5)
    m.lift("p1", SUPERVISOR, "suspect entered the yard", T0)
    before_end = T0 + dt.timedelta(minutes=4, seconds=59)
    assert m.active_masks("p1", before_end) == ()
    assert m.expire(before_end) == []
    end = T0 + dt.timedelta(minutes=5)
    assert m.active_masks("p1", end) == MASKS, "masks return without anyone calling expire"
    expired = m.expire(end)
    assert [x.camera_id for x in expired] == ["p1"]
    assert m.expire(end + dt.timedelta(seconds=1)) == []
    assert m.expire(end + dt.timedelta(seconds=2)) == []
    assert [r[0] for r in rows(audit)] == [MASK_LIFT, MASK_RESTORE]
    assert rows(audit)[1][1:] == ("S. Lee", "p1", "suspect entered the yard", "expired")


def test_lift_refused_when_the_audit_write_fails(audit: AuditLog) -> None:
    m = controller(audit)
    other = sqlite3.connect(audit.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the log: the write times out
    try:
        with pytest.raises(AuditWriteError, match="mask_lift"):
            m.lift("p1", SUPERVISOR, "suspect entered the yard", T0)
        assert m.active_masks("p1", T0) == MASKS, "no unlogged lift"
        assert m.current_lift("p1", T0) is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rows(audit) == []


def test_no_audit_log_no_lift() -> None:
    m = controller(None)
    with pytest.raises(AuditWriteError, match="no audit log"):
        m.lift("p1", SUPERVISOR, "suspect entered the yard", T0)
    assert m.active_masks("p1", T0) == MASKS


def test_unknown_camera_unmasked_camera_and_naive_time(audit: AuditLog) -> None:
    m = controller(audit)
    with pytest.raises(KeyError, match="nope"):
        m.lift("nope", SUPERVISOR, "why", T0)
    with pytest.raises(ValueError, match="no privacy masks"):
        m.lift("bare", SUPERVISOR, "why", T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        m.lift("p1", SUPERVISOR, "why", T0.replace(tzinfo=None))
    assert rows(audit) == []


def test_restore_that_cannot_be_logged_masks_anyway_and_is_logged_later(
    audit: AuditLog,
) -> None:
    m = controller(audit)
    m.lift("p1", SUPERVISOR, "suspect entered the yard", T0)
    other = sqlite3.connect(audit.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AuditWriteError):
            m.restore("p1", SUPERVISOR, T0 + dt.timedelta(minutes=1))
        assert m.active_masks("p1", T0 + dt.timedelta(minutes=1)) == MASKS
        assert m.expire(T0 + dt.timedelta(minutes=1, seconds=1)) == [], "still locked"
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [x.camera_id for x in m.expire(T0 + dt.timedelta(minutes=1, seconds=2))] == ["p1"]
    assert m.expire(T0 + dt.timedelta(minutes=10)) == []
    assert [r[0] for r in rows(audit)] == [MASK_LIFT, MASK_RESTORE]
    assert rows(audit)[1][-1] == "restored"


def test_provider_is_safe_from_many_threads(audit: AuditLog) -> None:
    """Workers ask for masks on every frame while the GUI lifts and restores."""
    m = controller(audit)
    provider = m.provider("p1", lambda: T0)
    seen: set[MaskPolygons] = set()
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while not stop.is_set():
                seen.add(tuple(provider()))
        except BaseException as e:  # noqa: BLE001 - collected for the assertion below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(20):
            m.lift("p1", SUPERVISOR, "suspect entered the yard", T0)
            m.restore("p1", SUPERVISOR, T0)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
    assert errors == []
    assert seen <= {MASKS, ()}
    assert len(rows(audit)) == 40


def test_full_frame_covers_the_picture() -> None:
    (poly,) = FULL_FRAME
    assert {p for p in poly} == {(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)}


# --------------------------------------------------------------------------- config

MASKED_P1 = """\
    masks:
      - [[0.1, 0.1], [0.4, 0.1], [0.4, 0.5]]
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    _roads(tmp_path)
    return tmp_path


def _write(site: Path, text: str) -> Path:
    p = site / "cfg.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as ei:
        load_config(path)
    return [str(p) for p in ei.value.problems]


def test_masks_load_into_the_camera(site: Path) -> None:
    loaded = load_config(_write(site, GOOD + MASKED_P1))
    assert loaded.cameras["p1"].masks == MASKS
    assert loaded.cameras["c1"].masks == ()


def test_mask_problems_name_the_point_and_line(site: Path) -> None:
    text = GOOD + (
        "    masks:\n"
        "      - [[0.1, 0.1], [0.4, 0.1], [1.4, 0.5]]\n"
        "      - [[0.1, 0.1], [0.4, -0.1]]\n"
        "      - [[0.1, 0.1], [0.4, 0.1], [0.4, .nan]]\n"
    )
    path = _write(site, text)
    line_of = {n + 1: ln for n, ln in enumerate(path.read_text().splitlines())}
    first = next(n for n, ln in line_of.items() if "1.4, 0.5" in ln)
    probs = _problems(path)
    assert any(
        p.startswith(f"{path}:{first}: cameras[1].masks[0][2]: x must be between 0 and 1")
        for p in probs
    )
    assert any(
        f":{first + 1}: cameras[1].masks[1]: a mask polygon needs at least 3 points" in p
        for p in probs
    )
    for line, where in ((first + 1, "[1][1]"), (first + 2, "[2][2]")):
        expected = f":{line}: cameras[1].masks{where}: y must be between 0 and 1"
        assert any(expected in p for p in probs), probs
    assert len(probs) == 4, probs


def test_mask_points_must_be_pairs_of_numbers(site: Path) -> None:
    text = GOOD + '    masks:\n      - [[0.1, 0.1], [0.4, "0.1"], [0.4, 0.5, 0.2]]\n'
    probs = _problems(_write(site, text))
    assert any("cameras[1].masks[0][1][1]: Input should be a valid number" in p for p in probs)
    assert any("cameras[1].masks[0][2]:" in p for p in probs)


def test_require_masks_on_private_names_the_camera(site: Path) -> None:
    required = GOOD.replace(
        "cameras:\n", "access:\n  require_masks_on_private: true\ncameras:\n", 1
    )
    probs = _problems(_write(site, required))
    assert len(probs) == 1, probs
    assert "cameras[1]:" in probs[0]
    assert "'p1'" in probs[0]
    assert "require_masks_on_private" in probs[0]
    loaded = load_config(_write(site, required + MASKED_P1))
    assert loaded.cameras["p1"].masks == MASKS, "the city camera needs none"


def test_camera_masks_default_to_none() -> None:
    c = dataclasses.replace(cam(), masks=())
    assert c.masks == ()
