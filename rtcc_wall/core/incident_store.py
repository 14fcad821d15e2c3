"""Incidents, kept on disk: what opens a private camera, and what the audit log points at.

A private camera may stream only for a real, open incident nearby, so an
incident is a record with a case number, a type and a stated reason, opened by
a named operator, and it outlives a restart of the wall. Rules this module keeps:

* **Audited first.** Opening, closing and recording an owner's approval each
  write their audit event *before* the change is stored, inside one write
  transaction on the incidents database: if the audit log refuses the write
  (:class:`~rtcc_wall.core.audit.AuditWriteError`) nothing changes. (If the
  store then failed to commit, the log would hold an event that did not take
  effect; it never lacks one that did.)
* **Readable ids.** ``INC-YYYYMMDD-NNNN``: the date of ``now`` as the caller
  passes it (the site's local time, as everywhere in the access policy) and a
  per-day counter, allocated under ``BEGIN IMMEDIATE`` so two processes sharing
  the file cannot take the same number.
* **UTC on disk, aware in memory.** Times are stored as the audit log's fixed
  width UTC text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``: text order is time order)
  and returned as timezone-aware UTC datetimes; a naive ``now`` is refused.

SQLite in WAL mode, one connection guarded by one lock (``check_same_thread``
off), like the audit log: the GUI thread and a worker may share one store.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import platformdirs

from rtcc_wall.core import audit
from rtcc_wall.core.access import Incident, Operator
from rtcc_wall.core.audit import AuditLog, format_ts, parse_ts
from rtcc_wall.core.redact import redact
from rtcc_wall.core.sqlite_wal import use_wal
from rtcc_wall.errors import RtccError

#: Environment variable that overrides the default database location.
DB_ENV: Final = "RTCC_WALL_INCIDENTS_DB"
ID_PREFIX: Final = "INC"
SCHEMA_VERSION: Final = 1

_COLUMNS: Final = (
    "id",
    "x",
    "y",
    "lon",
    "lat",
    "type",
    "case_number",
    "reason",
    "opened_at",
    "opened_by",
    "closed_at",
    "closed_by",
    "close_reason",
    "approvals",
)
_SELECT: Final = f"SELECT {', '.join(_COLUMNS)} FROM incidents"
_NEWEST_FIRST: Final = "ORDER BY opened_at DESC, id DESC"

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS incidents (
        id TEXT PRIMARY KEY,
        x REAL NOT NULL,
        y REAL NOT NULL,
        lon REAL NOT NULL,
        lat REAL NOT NULL,
        type TEXT NOT NULL,
        case_number TEXT NOT NULL,
        reason TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        opened_by TEXT NOT NULL,
        closed_at TEXT,
        closed_by TEXT,
        close_reason TEXT,
        approvals TEXT NOT NULL DEFAULT '[]'
    )""",
    "CREATE INDEX IF NOT EXISTS incidents_opened_at ON incidents (opened_at)",
)


class IncidentError(RtccError):
    """Base of the incident store's errors; the message is fit to show as is."""


class UnknownIncident(IncidentError, KeyError):
    """No incident has this id."""

    def __str__(self) -> str:
        # KeyError would show the repr of its argument (quotes and all)
        return str(self.args[0]) if self.args else ""


class IncidentClosed(IncidentError, ValueError):
    """The incident is already closed: it cannot be closed again or receive approvals."""


class IncidentStoreError(IncidentError):
    """The incident database could not be opened, read or written."""


def default_db_path() -> Path:
    """``$RTCC_WALL_INCIDENTS_DB``, else ``incidents.sqlite3`` beside the audit log's default."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("rtcc-wall", appauthor=False)) / "incidents.sqlite3"


@dataclass(frozen=True)
class Approval:
    """An ``on_request`` owner's consent to stream their camera for one incident."""

    camera_id: str
    approved_by: str
    approved_at: dt.datetime
    note: str

    def as_dict(self) -> dict[str, str]:
        return {
            "camera_id": self.camera_id,
            "approved_by": self.approved_by,
            "approved_at": format_ts(self.approved_at),
            "note": self.note,
        }


@dataclass(frozen=True)
class IncidentRecord:
    """Everything stored about an incident (the policy's :class:`Incident` is a subset)."""

    id: str
    x: float
    y: float
    lon: float
    lat: float
    type: str
    case_number: str
    reason: str
    opened_at: dt.datetime
    opened_by: str
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    approvals: tuple[Approval, ...] = ()

    def incident(self) -> Incident:
        return Incident(
            id=self.id,
            x=self.x,
            y=self.y,
            opened_at=self.opened_at,
            case_number=self.case_number,
            type=self.type,
            reason=self.reason,
            closed_at=self.closed_at,
            owner_approvals=frozenset(a.camera_id for a in self.approvals),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, times as UTC text (the form ``incident list --json`` prints)."""
        return {
            "id": self.id,
            "status": "open" if self.closed_at is None else "closed",
            "x": self.x,
            "y": self.y,
            "lon": self.lon,
            "lat": self.lat,
            "type": self.type,
            "case_number": self.case_number,
            "reason": self.reason,
            "opened_at": format_ts(self.opened_at),
            "opened_by": self.opened_by,
            "closed_at": format_ts(self.closed_at) if self.closed_at is not None else None,
            "closed_by": self.closed_by,
            "close_reason": self.close_reason,
            "approvals": [a.as_dict() for a in self.approvals],
        }


def _record(row: tuple[Any, ...]) -> IncidentRecord:
    (iid, x, y, lon, lat, typ, case, reason, opened_at, opened_by,
     closed_at, closed_by, close_reason, approvals) = row  # fmt: skip
    return IncidentRecord(
        id=str(iid),
        x=float(x),
        y=float(y),
        lon=float(lon),
        lat=float(lat),
        type=str(typ),
        case_number=str(case),
        reason=str(reason),
        opened_at=parse_ts(opened_at),
        opened_by=str(opened_by),
        closed_at=parse_ts(closed_at) if closed_at is not None else None,
        closed_by=closed_by,
        close_reason=close_reason,
        approvals=tuple(
            Approval(a["camera_id"], a["approved_by"], parse_ts(a["approved_at"]), a["note"])
            for a in json.loads(approvals)
        ),
    )


def _query(
    conn: sqlite3.Connection, *, open_only: bool = False, open_at: dt.datetime | None = None
) -> builtins.list[IncidentRecord]:
    if open_at is not None:
        rows = conn.execute(
            f"{_SELECT} WHERE closed_at IS NULL OR closed_at > ? {_NEWEST_FIRST}",
            (format_ts(open_at),),
        )
    elif open_only:
        rows = conn.execute(f"{_SELECT} WHERE closed_at IS NULL {_NEWEST_FIRST}")
    else:
        rows = conn.execute(f"{_SELECT} {_NEWEST_FIRST}")
    return [_record(r) for r in rows]


def read_records(path: Path | str, *, open_only: bool = False) -> builtins.list[IncidentRecord]:
    """Every incident in the file, newest first, read-only (listing never writes).

    An absent file is an empty list: no incident was ever opened there.
    Raises :class:`IncidentStoreError` when the file cannot be read.
    """
    p = Path(path)
    if not p.is_file():
        return []
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise IncidentStoreError(redact(f"cannot open the incident database {p}: {e}")) from e
    try:
        return _query(conn, open_only=open_only)
    except (sqlite3.Error, ValueError, KeyError, TypeError) as e:
        raise IncidentStoreError(redact(f"cannot read the incident database {p}: {e}")) from e
    finally:
        conn.close()


def _required(name: str, value: str) -> str:
    """A required free-text field, redacted: a pasted stream URL never stores its password."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValueError(f"{name} is required (it is empty)")
    return redact(text)


def _aware(name: str, t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got {t.isoformat()})")
    return t


def _check_operator(operator: Operator) -> str:
    return _required("operator name", operator.name)


class IncidentStore:
    """Opens, closes and lists incidents in one SQLite file; every change is audited first.

    ``path`` is usually :func:`default_db_path`; ``audit`` is the wall's audit
    log (the store writes to it but does not own it: :meth:`disconnect` leaves
    it open).
    """

    def __init__(self, path: Path | str, audit: AuditLog, *, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.audit = audit
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout_s,
                isolation_level=None,  # explicit BEGIN IMMEDIATE / COMMIT
                check_same_thread=False,  # guarded by self._lock
            )
        except (OSError, sqlite3.Error) as e:
            raise IncidentStoreError(
                redact(f"cannot open the incident database {self.path}: {e}")
            ) from e
        try:
            self._use_wal(time.monotonic() + busy_timeout_s)
            self._conn.execute("PRAGMA synchronous=FULL")
            with self._transaction():
                version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
                if version > SCHEMA_VERSION:
                    raise IncidentStoreError(
                        redact(
                            f"{self.path} was written by a newer rtcc-wall "
                            f"(schema {version}, this one knows {SCHEMA_VERSION})"
                        )
                    )
                for statement in _SCHEMA:
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as e:
            self._conn.close()
            raise IncidentStoreError(
                redact(f"cannot open the incident database {self.path}: {e}")
            ) from e
        except IncidentStoreError:
            self._conn.close()
            raise

    def _use_wal(self, deadline: float) -> None:
        use_wal(self._conn, deadline)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any exception (the caller locks)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The lock and a write transaction; a database failure becomes IncidentStoreError."""
        with self._lock:
            try:
                with self._transaction():
                    yield
            except sqlite3.Error as e:
                raise IncidentStoreError(redact(f"incident database {self.path}: {e}")) from e

    def __enter__(self) -> IncidentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def disconnect(self) -> None:
        """Closes the database connection (named so as not to clash with closing an incident)."""
        with self._lock:
            self._conn.close()

    # --- changes ------------------------------------------------------------------

    def open(
        self,
        *,
        x: float,
        y: float,
        lon: float,
        lat: float,
        type: str,
        case_number: str,
        reason: str,
        operator: Operator,
        now: dt.datetime,
    ) -> Incident:
        """Opens an incident at local ``x, y`` (metres) / ``lon, lat``; returns it.

        Raises ``ValueError`` naming a missing field or a bad position or time,
        :class:`~rtcc_wall.core.audit.AuditWriteError` when the audit log refuses
        the event (the incident is then not opened) and
        :class:`IncidentStoreError` when the database fails.
        """
        typ = _required("type", type)
        case = _required("case number", case_number)
        why = _required("reason", reason)
        who = _check_operator(operator)
        _aware("now", now)
        for name, v in (("x", x), ("y", y), ("lon", lon), ("lat", lat)):
            if not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise ValueError(f"{lon},{lat} is not a valid longitude,latitude")
        opened_at = parse_ts(format_ts(now))  # the stored precision and zone
        with self._writing():
            iid = self._next_id(now.date())
            self.audit.append(
                audit.INCIDENT_OPEN,
                operator=who,
                incident_id=iid,
                reason=why,
                outcome="opened",
                detail={
                    "case_number": case,
                    "type": typ,
                    "reason": why,
                    "x": round(float(x), 2),
                    "y": round(float(y), 2),
                    "lon": float(lon),
                    "lat": float(lat),
                    "role": operator.role,
                },
            )
            self._conn.execute(
                "INSERT INTO incidents (id, x, y, lon, lat, type, case_number, reason, "
                "opened_at, opened_by, approvals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]')",
                (iid, float(x), float(y), float(lon), float(lat), typ, case, why,
                 format_ts(now), who),
            )  # fmt: skip
        return Incident(iid, float(x), float(y), opened_at, case, typ, why)

    def _next_id(self, day: dt.date) -> str:
        prefix = f"{ID_PREFIX}-{day:%Y%m%d}-"
        row = self._conn.execute(
            "SELECT MAX(CAST(substr(id, ?) AS INTEGER)) FROM incidents WHERE substr(id, 1, ?) = ?",
            (len(prefix) + 1, len(prefix), prefix),
        ).fetchone()
        n = int(row[0]) + 1 if row and row[0] is not None else 1
        return f"{prefix}{n:04d}"

    def _open_record(self, incident_id: str) -> IncidentRecord:
        """The stored incident, which must exist and not be closed (the caller locks)."""
        row = self._conn.execute(f"{_SELECT} WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            raise UnknownIncident(f"no incident {incident_id!r} in {self.path}")
        rec = _record(row)
        if rec.closed_at is not None:
            raise IncidentClosed(
                f"incident {incident_id} was already closed at {format_ts(rec.closed_at)} "
                f"by {rec.closed_by}"
            )
        return rec

    def close(
        self, incident_id: str, *, operator: Operator, reason: str, now: dt.datetime
    ) -> Incident:
        """Closes an open incident; its private views must stop (the session's tick sees it).

        Raises :class:`UnknownIncident` (a ``KeyError``), :class:`IncidentClosed`
        (a ``ValueError``) when it is already closed, ``ValueError`` for an empty
        reason or a ``now`` before the opening, and ``AuditWriteError`` (nothing
        changes then).
        """
        why = _required("reason", reason)
        who = _check_operator(operator)
        _aware("now", now)
        with self._writing():
            rec = self._open_record(incident_id)
            if now < rec.opened_at:
                raise ValueError(
                    f"cannot close {incident_id} at {format_ts(now)}: "
                    f"it was opened later, at {format_ts(rec.opened_at)}"
                )
            self.audit.append(
                audit.INCIDENT_CLOSE,
                operator=who,
                incident_id=incident_id,
                reason=why,
                outcome="closed",
                detail={
                    "case_number": rec.case_number,
                    "type": rec.type,
                    "role": operator.role,
                },
            )
            self._conn.execute(
                "UPDATE incidents SET closed_at = ?, closed_by = ?, close_reason = ? WHERE id = ?",
                (format_ts(now), who, why, incident_id),
            )
        return rec.incident().closed(parse_ts(format_ts(now)))

    def approve_owner(
        self, incident_id: str, camera_id: str, *, operator: Operator, note: str, now: dt.datetime
    ) -> Incident:
        """Records that an ``on_request`` camera's owner agreed to stream for this incident.

        Audited as kind :data:`~rtcc_wall.core.audit.OPERATOR` (an operator's
        statement, not an incident opening, which the transparency report
        counts) with ``detail["action"] == "owner_approval"``, the camera id,
        ``ownership="private"`` and the note as the reason. The store does not
        know the cameras: the caller checks that the camera is an ``on_request``
        one. Approving the same camera again adds to the history (and the log).
        """
        cam = _required("camera id", camera_id)
        text = _required("note", note)
        who = _check_operator(operator)
        _aware("now", now)
        with self._writing():
            rec = self._open_record(incident_id)
            self.audit.append(
                audit.OPERATOR,
                operator=who,
                camera_id=cam,
                incident_id=incident_id,
                ownership="private",
                reason=text,
                outcome="approved",
                detail={
                    "action": "owner_approval",
                    "case_number": rec.case_number,
                    "note": text,
                    "role": operator.role,
                },
            )
            approval = Approval(cam, who, parse_ts(format_ts(now)), text)
            approvals = [a.as_dict() for a in (*rec.approvals, approval)]
            self._conn.execute(
                "UPDATE incidents SET approvals = ? WHERE id = ?",
                (json.dumps(approvals, ensure_ascii=False), incident_id),
            )
        return rec.incident().with_approval(cam)

    # --- reading ------------------------------------------------------------------

    def _read(self, **kw: Any) -> builtins.list[IncidentRecord]:
        with self._lock:
            try:
                return _query(self._conn, **kw)
            except sqlite3.Error as e:
                raise IncidentStoreError(redact(f"incident database {self.path}: {e}")) from e

    def record(self, incident_id: str) -> IncidentRecord:
        """Everything stored about one incident (who opened and closed it, the approvals)."""
        with self._lock:
            try:
                row = self._conn.execute(f"{_SELECT} WHERE id = ?", (incident_id,)).fetchone()
            except sqlite3.Error as e:
                raise IncidentStoreError(redact(f"incident database {self.path}: {e}")) from e
        if row is None:
            raise UnknownIncident(f"no incident {incident_id!r} in {self.path}")
        return _record(row)

    def get(self, incident_id: str) -> Incident:
        """The incident as the policy sees it; :class:`UnknownIncident` if there is none."""
        return self.record(incident_id).incident()

    def records(self, *, open_only: bool = False) -> builtins.list[IncidentRecord]:
        """Every stored incident, newest first (only those not closed with ``open_only``)."""
        return self._read(open_only=open_only)

    def list(self, *, open_only: bool = False) -> builtins.list[Incident]:
        """Incidents newest first; ``open_only``: those not closed."""
        return [r.incident() for r in self._read(open_only=open_only)]

    def open_incidents(self, now: dt.datetime) -> builtins.list[Incident]:
        """Incidents open at ``now`` (not closed, or closed later than ``now``), newest first."""
        _aware("now", now)
        return [r.incident() for r in self._read(open_at=now)]
