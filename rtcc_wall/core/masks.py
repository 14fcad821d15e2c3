"""Which privacy masks cover a camera's picture right now, and the audited way to lift them.

A private camera's owner may agree to be watched only with parts of the picture
hidden (a neighbour's window, a back yard). Those polygons are configured per
camera (``Camera.masks``, picture-relative 0..1 coordinates) and burned into
the pixels on the decoder thread (``video/masks.py``): the worker asks its
``provider`` for the active masks before every frame, so a lift shows on the
next frame and a restore hides it again on the next frame.

Lifting is the exception that must be accountable, so:

* only a ``supervisor`` may lift, and only with a stated reason;
* the MASK_LIFT event is written to the audit log *before* the masks come off;
  when the write fails (or there is no audit log) the lift is refused: an
  unlogged unmasked picture must not happen;
* a lift lasts ``lift_minutes`` and then reverts by itself: ``active_masks``
  compares the time, so no timer has to fire for the masks to return;
  ``expire(now)`` (called every second by the UI) only *records* that a lift
  ended (MASK_RESTORE, once per lift);
* ``restore`` ends a lift early (audited); anyone may restore, since masking
  again only ever protects more.

Threading: ``active_masks``/``provider`` are called from every camera worker,
for every frame, so they only take a short state lock. Audit writes may wait
seconds for the database; they run under a separate write lock, never under
the state lock, so a slow disk cannot stall the decoders.

Times are timezone-aware datetimes (UTC by default); this module reads no clock
itself except in the default ``provider`` clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rtcc_wall.core.access import Operator
from rtcc_wall.core.audit import MASK_LIFT, MASK_RESTORE, AuditLog, AuditWriteError
from rtcc_wall.core.cameras import Camera, MaskPolygons

log = logging.getLogger(__name__)

#: One mask polygon as the worker accepts it: (x, y) points in 0..1 of width and height.
MaskPolygon = Sequence[tuple[float, float]]
#: Called by a camera worker before every frame; returns the masks to paint (empty: none).
MaskProvider = Callable[[], Sequence[MaskPolygon]]

#: The whole picture: what a worker paints when it cannot tell which masks apply.
FULL_FRAME: MaskPolygons = (((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)),)

#: The role that may lift masks.
LIFT_ROLE = "supervisor"


@dataclass(frozen=True)
class Lift:
    """A supervisor's lift of one camera's masks, from ``started`` until ``until``."""

    camera_id: str
    operator: str
    reason: str
    started: dt.datetime
    until: dt.datetime
    incident_id: str | None = None

    def active(self, now: dt.datetime) -> bool:
        return self.started <= now < self.until


@dataclass(frozen=True)
class _Pending:
    """A lift that ended but whose MASK_RESTORE row is not written yet."""

    lift: Lift
    operator: str
    outcome: str  # "expired" | "restored"
    ended: dt.datetime


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("mask lift times must be timezone-aware")
    return now


class MaskController:
    """Active masks per camera, supervisor lifts with audit, automatic expiry.

    ``cameras`` gives every camera's configured masks; ``audit`` records lifts
    and restores (None: lifting is refused, masks always stay on).
    """

    def __init__(
        self,
        cameras: Mapping[str, Camera],
        audit: AuditLog | None,
        *,
        lift_minutes: float = 5.0,
    ) -> None:
        if not lift_minutes > 0:
            raise ValueError(f"lift_minutes must be positive, got {lift_minutes}")
        # the live registry, not a copy: a reloaded config (core/enrollment.py) changes a
        # camera's masks on the running wall; single lookups are atomic under the GIL
        self._cameras = cameras
        self._audit = audit
        self.lift_minutes = lift_minutes
        self._lock = threading.Lock()  # state: read per frame by the workers
        self._write_lock = threading.Lock()  # audit writes: one operation at a time
        self._lifts: dict[str, Lift] = {}
        self._pending: list[_Pending] = []  # ended lifts whose restore row is not written
        self._warned: set[Lift] = set()

    # ------------------------------------------------------------------ reading
    def configured_masks(self, camera_id: str) -> MaskPolygons:
        """The camera's masks from the config (() for an unknown camera)."""
        cam = self._cameras.get(camera_id)
        return cam.masks if cam is not None else ()

    def active_masks(self, camera_id: str, now: dt.datetime) -> MaskPolygons:
        """The masks to paint on the camera's picture at ``now``: () only during a lift."""
        masks = self.configured_masks(camera_id)
        if not masks:
            return ()
        with self._lock:
            lift = self._lifts.get(camera_id)
        if lift is not None and lift.active(now):
            return ()
        return masks

    def current_lift(self, camera_id: str, now: dt.datetime) -> Lift | None:
        """The lift in force on the camera at ``now`` (for the tile's "unmasked until")."""
        with self._lock:
            lift = self._lifts.get(camera_id)
        return lift if lift is not None and lift.active(now) else None

    def provider(
        self,
        camera_id: str,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> Callable[[], MaskPolygons]:
        """A zero-argument callable for ``CameraWorker(mask_provider=...)``."""

        def masks() -> MaskPolygons:
            return self.active_masks(camera_id, clock())

        return masks

    # ------------------------------------------------------------------ changes
    def lift(
        self,
        camera_id: str,
        operator: Operator,
        reason: str,
        now: dt.datetime,
        *,
        incident_id: str | None = None,
    ) -> Lift:
        """Lifts the camera's masks for ``lift_minutes``; audited before it takes effect.

        Raises ``PermissionError`` (not a supervisor), ``ValueError`` (no reason,
        no masks to lift, naive time), ``KeyError`` (unknown camera) and
        ``AuditWriteError`` (the event could not be recorded: the masks stay on).
        A lift of a camera already lifted starts a new period, with its own row.
        """
        now = _aware(now)
        if operator.role != LIFT_ROLE:
            raise PermissionError(
                f"only a supervisor may lift privacy masks; {operator.name} is "
                f"{'an' if operator.role[0] in 'aeiou' else 'a'} {operator.role}"
            )
        reason = reason.strip()
        if not reason:
            raise ValueError("state a reason to lift the privacy masks")
        cam = self._cameras.get(camera_id)
        if cam is None:
            raise KeyError(f"unknown camera {camera_id!r}")
        if not cam.masks:
            raise ValueError(f"camera {camera_id!r} has no privacy masks to lift")
        audit = self._audit
        if audit is None:
            raise AuditWriteError("no audit log: privacy masks cannot be lifted without one")
        lift = Lift(
            camera_id=camera_id,
            operator=operator.name,
            reason=reason,
            started=now,
            until=now + dt.timedelta(minutes=self.lift_minutes),
            incident_id=incident_id,
        )
        with self._write_lock:
            # Raises AuditWriteError: then nothing below runs and the masks stay on.
            audit.append(
                MASK_LIFT,
                operator=operator.name,
                camera_id=camera_id,
                incident_id=incident_id,
                ownership=cam.ownership,
                reason=reason,
                outcome="lifted",
                detail={
                    "until": lift.until.isoformat(),
                    "minutes": self.lift_minutes,
                    "masks": len(cam.masks),
                },
            )
            with self._lock:
                self._lifts[camera_id] = lift
        return lift

    def restore(self, camera_id: str, operator: Operator, now: dt.datetime) -> Lift | None:
        """Puts the masks back now (any role); the ended lift, or None if none was active.

        The masks return before the event is written, since masking is always
        allowed; if the write fails, ``AuditWriteError`` is raised and ``expire``
        retries the row.
        """
        now = _aware(now)
        with self._write_lock:
            with self._lock:
                lift = self._lifts.get(camera_id)
                if lift is None or not lift.active(now):
                    return None  # an expired lift is recorded by expire()
                del self._lifts[camera_id]
                pending = _Pending(lift, operator.name, "restored", now)
                self._pending.append(pending)
            self._write_pending([pending], raise_errors=True)
        return lift

    def expire(self, now: dt.datetime) -> list[Lift]:
        """Records every lift that ended by ``now`` (MASK_RESTORE, once each).

        Call it every second or so; the masks themselves are back already
        (``active_masks`` compares the time). Rows that cannot be written yet are
        retried on the next call and logged as a warning once.
        """
        now = _aware(now)
        with self._write_lock:
            with self._lock:
                for cid, lift in list(self._lifts.items()):
                    if not lift.active(now):
                        del self._lifts[cid]
                        self._pending.append(_Pending(lift, lift.operator, "expired", now))
                pending = list(self._pending)
            return self._write_pending(pending, raise_errors=False)

    def _write_pending(self, pending: list[_Pending], *, raise_errors: bool) -> list[Lift]:
        """Writes MASK_RESTORE rows (caller holds the write lock); the lifts recorded."""
        done: list[Lift] = []
        for p in pending:
            try:
                self._write_restore(p)
            except AuditWriteError as e:
                if raise_errors:
                    raise
                if p.lift not in self._warned:
                    self._warned.add(p.lift)
                    log.warning("mask restore of %s not recorded yet: %s", p.lift.camera_id, e)
                continue
            with self._lock:
                self._pending.remove(p)
            self._warned.discard(p.lift)
            done.append(p.lift)
        return done

    def _write_restore(self, p: _Pending) -> None:
        audit = self._audit
        if audit is None:  # cannot happen: a lift needs an audit log
            return
        cam = self._cameras.get(p.lift.camera_id)
        audit.append(
            MASK_RESTORE,
            operator=p.operator,
            camera_id=p.lift.camera_id,
            incident_id=p.lift.incident_id,
            ownership=cam.ownership if cam is not None else None,
            reason=p.lift.reason,
            outcome=p.outcome,
            detail={
                "lifted_by": p.lift.operator,
                "lifted_at": p.lift.started.isoformat(),
                "until": p.lift.until.isoformat(),
                "ended": p.ended.isoformat(),
            },
        )
