"""The tamper-evident audit log: who looked at which camera, when, why, and what was decided.

Accountability is the condition under which a Real Time Crime Center may look
at private cameras at all, so the log must survive crashes and make after-the-
fact edits visible:

* **Append-only, hash-chained.** One SQLite table ``events``; every row carries
  the hash of the row before it (``prev_hash``, :data:`GENESIS_HASH` for the
  first) and its own SHA-256 over a canonical encoding of all its fields (see
  :func:`canonical_bytes`). Editing, deleting or reordering a row breaks the
  chain at that row; :func:`verify` names the first bad sequence number.
  Truncating the tail leaves a valid, shorter chain: only a :func:`checkpoint`
  kept elsewhere reveals it.
* **Triggers refuse UPDATE and DELETE.** They stop accidents and casual edits;
  a determined tamperer drops them first, which is what the chain is for.
* **Durable before the view.** WAL mode with ``synchronous=FULL``: when
  :meth:`AuditLog.append` returns, the row is on disk. When it cannot write it
  raises :class:`AuditWriteError`, and the access policy refuses the view:
  an unlogged view of a private camera must not happen.
* **One writer at a time, across processes.** Each append runs in its own
  ``BEGIN IMMEDIATE`` transaction, so two processes sharing one file take
  turns and cannot fork the chain (both reading the same last row).
* **No secrets.** Every free-text field and every string inside ``detail``
  goes through :func:`~rtcc_wall.core.redact.redact` before it is hashed or
  stored, so a stream URL is never stored with its password.

Canonical encoding (stable; changing it invalidates every existing log)::

    json.dumps(
        [seq, ts_utc, kind, operator, camera_id, incident_id, ownership,
         reason, outcome, detail, prev_hash],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
    ).encode("utf-8")

where ``detail`` is the stored text of the canonical JSON object (itself
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``),
absent fields are ``null``, ``ts_utc`` is ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` and
``hash = sha256(canonical_bytes).hexdigest()`` (lower-case hex).

The database is opened read-only (``mode=ro`` URI) for :func:`verify` and for
reports, so checking a log never changes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import platformdirs

from rtcc_wall.core.redact import redact
from rtcc_wall.core.sqlite_wal import use_wal
from rtcc_wall.errors import RtccError

# Event kinds. The access policy and the UI write these; reports read them.
APP_START: Final = "app_start"
APP_STOP: Final = "app_stop"
OPERATOR: Final = "operator"
INCIDENT_OPEN: Final = "incident_open"
INCIDENT_CLOSE: Final = "incident_close"
VIEW_START: Final = "view_start"
VIEW_STOP: Final = "view_stop"
VIEW_DENY: Final = "view_deny"
MASK_LIFT: Final = "mask_lift"
MASK_RESTORE: Final = "mask_restore"
EXPORT: Final = "export"
#: An export refused (role, access policy, no reason) or not completed; outcome says why.
EXPORT_DENY: Final = "export_deny"
CONFIG_CHANGE: Final = "config_change"
#: The operator opened / closed the instant replay of a camera (recorded pictures).
REPLAY_OPEN: Final = "replay_open"
REPLAY_CLOSE: Final = "replay_close"
KINDS: Final = frozenset(
    {
        APP_START,
        APP_STOP,
        OPERATOR,
        INCIDENT_OPEN,
        INCIDENT_CLOSE,
        VIEW_START,
        VIEW_STOP,
        VIEW_DENY,
        MASK_LIFT,
        MASK_RESTORE,
        EXPORT,
        EXPORT_DENY,
        CONFIG_CHANGE,
        REPLAY_OPEN,
        REPLAY_CLOSE,
    }
)
OWNERSHIPS: Final = ("city", "private")

#: ``prev_hash`` of the first row: a fixed value, so the first row is checked too.
GENESIS_HASH: Final = "0" * 64

#: Environment variable that overrides the default log location.
DB_ENV: Final = "RTCC_WALL_AUDIT_DB"

CHECKPOINT_FORMAT: Final = "rtcc-wall/audit-checkpoint/1"
APPEND_ONLY_MESSAGE: Final = "audit log is append-only"

_COLUMNS: Final = (
    "seq",
    "ts_utc",
    "kind",
    "operator",
    "camera_id",
    "incident_id",
    "ownership",
    "reason",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
)
_SELECT: Final = f"SELECT {', '.join(_COLUMNS)} FROM events"

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        ts_utc TEXT NOT NULL,
        kind TEXT NOT NULL,
        operator TEXT,
        camera_id TEXT,
        incident_id TEXT,
        ownership TEXT,
        reason TEXT,
        outcome TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    f"""CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
)
_TRIGGERS: Final = ("events_no_update", "events_no_delete")


class AuditError(RtccError):
    """The audit log could not be opened or read, or an argument about it is wrong."""


class AuditWriteError(AuditError):
    """An event could not be made durable; the action it records must not happen."""


class AuditChainError(AuditError):
    """The chain does not verify; carries the :class:`VerifyResult` that says where."""

    def __init__(self, message: str, result: VerifyResult) -> None:
        super().__init__(message)
        self.result = result


def default_db_path() -> Path:
    """``$RTCC_WALL_AUDIT_DB``, else ``audit.sqlite3`` in the per-user data folder."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("rtcc-wall", appauthor=False)) / "audit.sqlite3"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_ts(t: dt.datetime) -> str:
    """ISO 8601 UTC with microseconds and 'Z': fixed width, so text order is time order."""
    if t.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_epoch(t: float) -> str:
    """``format_ts`` of a time in epoch seconds."""
    return format_ts(dt.datetime.fromtimestamp(t, dt.UTC))


def parse_ts(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def _canonical_json(value: object) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_bytes(fields: Sequence[object]) -> bytes:
    """The bytes hashed for a row: its eleven fields from ``seq`` to ``prev_hash``, in order.

    Raw stored values are encoded as they are (verify recomputes from what is
    on disk, so a changed column type also changes the hash).
    """
    return _canonical_json(list(fields)).encode("utf-8")


def row_hash(fields: Sequence[object]) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def _redact_json(value: Any) -> Any:
    """A copy of a JSON-like value with every string (keys included) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"detail keys must be strings, got {type(k).__name__}")
            out[redact(k)] = _redact_json(v)
        return out
    if isinstance(value, list | tuple):
        return [_redact_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TypeError(f"detail values must be JSON values, got {type(value).__name__}")


def _opt(text: str | None) -> str | None:
    return None if text is None else redact(str(text))


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One row of the log, as stored."""

    seq: int
    ts_utc: str
    kind: str
    operator: str | None
    camera_id: str | None
    incident_id: str | None
    ownership: str | None
    reason: str | None
    outcome: str | None
    detail_json: str
    prev_hash: str
    hash: str

    @property
    def ts(self) -> dt.datetime:
        return parse_ts(self.ts_utc)

    @property
    def detail(self) -> dict[str, Any]:
        """The parsed ``detail`` object ({} if it is not a JSON object)."""
        try:
            value = json.loads(self.detail_json)
        except (TypeError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def hashed_fields(self) -> tuple[object, ...]:
        return (
            self.seq,
            self.ts_utc,
            self.kind,
            self.operator,
            self.camera_id,
            self.incident_id,
            self.ownership,
            self.reason,
            self.outcome,
            self.detail_json,
            self.prev_hash,
        )


class AuditLog:
    """The writer: one SQLite connection, one lock, one transaction per event.

    ``clock`` returns an aware datetime (a fake clock in tests). ``synchronous``
    exists for the benchmark that measures what FULL costs; the application
    keeps the default. ``busy_timeout_s`` bounds how long an append waits for
    another process holding the write lock before it fails (and the view is
    refused) instead of hanging the wall.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout_s: float = 10.0,
    ) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self._clock = clock
        self._lock = threading.Lock()
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout_s,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
            )
        except (OSError, sqlite3.Error) as e:
            raise AuditWriteError(redact(f"cannot open the audit log {self.path}: {e}")) from e
        try:
            self._use_wal(time.monotonic() + busy_timeout_s)
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    self._conn.execute(statement)
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as e:
            self._conn.close()
            raise AuditWriteError(redact(f"cannot open the audit log {self.path}: {e}")) from e

    def _use_wal(self, deadline: float) -> None:
        use_wal(self._conn, deadline)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _rollback(self) -> None:
        # The failed statement may already have ended the transaction.
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def append(
        self,
        kind: str,
        *,
        operator: str,
        camera_id: str | None = None,
        incident_id: str | None = None,
        ownership: str | None = None,
        reason: str | None = None,
        outcome: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Appends one event and returns it once it is durable.

        Raises ``ValueError``/``TypeError`` for a programming error (an unknown
        kind or ownership, a detail that is not JSON) and
        :class:`AuditWriteError` when the database refuses the write.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown audit event kind {kind!r}")
        if ownership is not None and ownership not in OWNERSHIPS:
            raise ValueError(f"ownership must be one of {OWNERSHIPS}, got {ownership!r}")
        detail_json = _canonical_json(_redact_json(detail or {}))
        fields = (
            kind,
            _opt(operator),
            _opt(camera_id),
            _opt(incident_id),
            ownership,
            _opt(reason),
            _opt(outcome),
            detail_json,
        )
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    last = self._conn.execute(
                        "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
                    ).fetchone()
                    seq = int(last[0]) + 1 if last else 1
                    prev_hash = str(last[1]) if last else GENESIS_HASH
                    event = AuditEvent(seq, format_ts(self._clock()), *fields, prev_hash, "")
                    event = dataclasses.replace(event, hash=row_hash(event.hashed_fields()))
                    self._conn.execute(
                        f"INSERT INTO events ({', '.join(_COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                        (*event.hashed_fields(), event.hash),
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            except sqlite3.Error as e:
                raise AuditWriteError(
                    redact(f"audit log {self.path}: could not record a {kind} event: {e}")
                ) from e
        return event


# --- reading and verification -------------------------------------------------


def connect_read_only(path: Path | str) -> sqlite3.Connection:
    """A read-only connection (``mode=ro``): reading a log never changes it.

    (On a log no writer has open, SQLite may leave an empty ``-wal`` and a
    ``-shm`` index beside it; the database file itself is never written.)

    Raises :class:`AuditError` when there is no file to read.
    """
    p = Path(path)
    if not p.is_file():
        raise AuditError(redact(f"no audit log at {p}"))
    try:
        return sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise AuditError(redact(f"cannot open the audit log {p}: {e}")) from e


def _raw_rows(
    conn: sqlite3.Connection, where: str = "", args: Sequence[object] = ()
) -> Iterator[tuple[Any, ...]]:
    yield from conn.execute(f"{_SELECT} {where} ORDER BY seq", tuple(args))


def read_events(path: Path | str, *, before_ts: str | None = None) -> Iterator[AuditEvent]:
    """Every event in sequence order (only those with ``ts_utc < before_ts`` if given)."""
    conn = connect_read_only(path)
    try:
        where, args = ("WHERE ts_utc < ?", (before_ts,)) if before_ts is not None else ("", ())
        for row in _raw_rows(conn, where, args):
            yield AuditEvent(*row)
    except sqlite3.Error as e:
        raise AuditError(redact(f"cannot read the audit log {path}: {e}")) from e
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What an administrator keeps elsewhere to detect a truncated or rewritten tail."""

    db_path: str
    seq: int
    hash: str
    ts_utc: str
    rows: int

    def as_dict(self) -> dict[str, object]:
        return {
            "format": CHECKPOINT_FORMAT,
            "db_path": self.db_path,
            "seq": self.seq,
            "hash": self.hash,
            "ts_utc": self.ts_utc,
            "rows": self.rows,
        }


def read_checkpoint(path: Path | str) -> Checkpoint:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise AuditError(redact(f"cannot read the checkpoint {p}: {e.strerror or e}")) from e
    except ValueError as e:
        raise AuditError(redact(f"{p} is not a checkpoint file (not JSON: {e})")) from e
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
        raise AuditError(redact(f"{p} is not a checkpoint file (format {CHECKPOINT_FORMAT})"))
    seq, digest = doc.get("seq"), doc.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise AuditError(redact(f"{p}: 'seq' must be a non-negative integer"))
    if not (
        isinstance(digest, str)
        and len(digest) == 64
        and all(c in "0123456789abcdef" for c in digest)
    ):
        raise AuditError(redact(f"{p}: 'hash' must be 64 lower-case hex digits"))
    return Checkpoint(
        db_path=str(doc.get("db_path", "")),
        seq=seq,
        hash=digest,
        ts_utc=str(doc.get("ts_utc", "")),
        rows=int(doc.get("rows", seq)),
    )


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    first_bad_seq: int | None
    message: str
    rows_checked: int
    last_seq: int
    last_hash: str
    last_ts_utc: str | None = None
    warnings: tuple[str, ...] = ()


def verify(path: Path | str, *, checkpoint: Path | str | None = None) -> VerifyResult:
    """Recomputes every hash and link of the chain; names the first bad sequence number.

    Detected: an edited row (its hash does not match its fields), a deleted
    row (a gap in ``seq``), an inserted, reordered or rewritten row (a hash or
    ``prev_hash`` mismatch) and, with a checkpoint, a truncated or rewritten
    tail. Raises :class:`AuditError` when the file or the checkpoint cannot be
    read at all (not when what it reads is wrong: that is a failed result).
    Rows are streamed, so a log of millions of events needs no memory.
    """
    cp = read_checkpoint(checkpoint) if checkpoint is not None else None
    conn = connect_read_only(path)
    warnings: list[str] = []
    expected, prev_hash, rows = 1, GENESIS_HASH, 0
    last_ts: str | None = None

    def fail(seq: int, message: str) -> VerifyResult:
        return VerifyResult(
            False, seq, f"seq {seq}: {message}", rows, expected - 1, prev_hash, last_ts,
            tuple(warnings),
        )  # fmt: skip

    try:
        triggers = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='events'"
            )
        }
        missing = [t for t in _TRIGGERS if t not in triggers]
        if missing:
            warnings.append(f"the append-only triggers are missing: {', '.join(missing)}")
        for row in _raw_rows(conn):
            seq = row[0]
            if not isinstance(seq, int) or isinstance(seq, bool):
                return fail(expected, "the next row has no integer sequence number")
            if seq != expected:
                return fail(
                    expected,
                    f"missing: the next row is seq {seq} (a row was deleted or renumbered)",
                )
            if row_hash(row[:-1]) != row[-1]:
                return fail(
                    seq, "hash does not match the row's fields (the row was edited or moved)"
                )
            if row[-2] != prev_hash:
                what = "the genesis value" if seq == 1 else f"the hash of seq {seq - 1}"
                return fail(
                    seq,
                    f"prev_hash does not match {what} (rows were reordered, replaced or rewritten)",
                )
            rows += 1
            prev_hash, expected = str(row[-1]), seq + 1
            last_ts = row[1] if isinstance(row[1], str) else None
        if cp is not None:
            bad = _check_against(conn, cp, expected - 1)
            if bad is not None:
                return fail(*bad)
    except sqlite3.Error as e:
        return fail(expected, redact(f"cannot read the log: {e}"))
    finally:
        conn.close()
    suffix = f", matches the checkpoint at seq {cp.seq}" if cp is not None else ""
    return VerifyResult(
        True, None, f"{rows} events, last seq {expected - 1}{suffix}", rows, expected - 1,
        prev_hash, last_ts, tuple(warnings),
    )  # fmt: skip


def _check_against(
    conn: sqlite3.Connection, cp: Checkpoint, last_seq: int
) -> tuple[int, str] | None:
    if cp.seq == 0:
        return None
    if cp.seq > last_seq:
        return (
            last_seq + 1,
            f"missing: the log ends at seq {last_seq} but the checkpoint recorded seq {cp.seq} "
            f"(rows {last_seq + 1}..{cp.seq} were removed: the log was truncated)",
        )
    row = conn.execute("SELECT hash FROM events WHERE seq = ?", (cp.seq,)).fetchone()
    if row is None or row[0] != cp.hash:
        return (
            cp.seq,
            "hash differs from the checkpoint (the log was rewritten at or before this row)",
        )
    return None


def checkpoint(
    path: Path | str,
    out_file: Path | str,
    *,
    force: bool = False,
    clock: Callable[[], dt.datetime] = utc_now,
) -> Checkpoint:
    """Writes the last seq and hash of a verified log to ``out_file`` (JSON).

    Refuses to overwrite an existing file unless ``force`` (an old checkpoint
    is evidence) and refuses a log that does not verify
    (:class:`AuditChainError`): a checkpoint must vouch only for a sound chain.
    """
    out = Path(out_file)
    if out.exists() and not force:
        raise AuditError(redact(f"{out} exists; use --force to overwrite it"))
    result = verify(path)
    if not result.ok:
        raise AuditChainError(redact(f"the log does not verify: {result.message}"), result)
    cp = Checkpoint(
        db_path=redact(str(Path(path).resolve())),
        seq=result.last_seq,
        hash=result.last_hash,
        ts_utc=format_ts(clock()),
        rows=result.rows_checked,
    )
    text = json.dumps(cp.as_dict(), indent=2, ensure_ascii=False) + "\n"
    try:
        if force:  # write beside, then replace: the old checkpoint survives a crash
            tmp = out.with_name(out.name + ".tmp")
            _write_synced(tmp, text, "w")
            os.replace(tmp, out)
        else:
            _write_synced(out, text, "x")  # "x": fails if someone created it meanwhile
    except OSError as e:
        raise AuditError(redact(f"cannot write the checkpoint {out}: {e.strerror or e}")) from e
    return cp


def _write_synced(path: Path, text: str, mode: Literal["w", "x"]) -> None:
    with open(path, mode, encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
