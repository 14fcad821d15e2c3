"""The operator's session: every look at a camera goes through the policy and the audit log.

``AccessSession`` is the one gate between a wall tile and a camera stream.
A tile asks ``request_view``; the session asks ``AccessPolicy`` (with the
operator, the incident the operator is working and its reason), writes the
decision to the audit log - and refuses the view when the log cannot be
written - and tracks the views it allowed. ``tick`` (called every second by
the UI) stops views whose incident closed, whose waiver was revoked or whose
time is up, and logs each stop. Pure Python, no Qt: the UI is a thin skin.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from rtcc_wall.core import audit as A
from rtcc_wall.core.access import MESSAGES, AccessPolicy, Decision, IncidentLike, Operator, View
from rtcc_wall.core.cameras import Camera

AUDIT_DOWN = "audit_unavailable"
AUDIT_DOWN_MESSAGE = "Audit log unavailable: views are refused until it can be written"


@dataclass(frozen=True)
class Revoked:
    """A view the session ended, for the UI to take off the wall (and say why)."""

    camera_id: str
    holder: Hashable
    code: str
    message: str


class AccessSession:
    def __init__(
        self,
        *,
        operator: Operator,
        policy: AccessPolicy,
        audit: A.AuditLog,
        cameras: Mapping[str, Camera],
        clock: Callable[[], dt.datetime] = A.utc_now,
    ) -> None:
        self.operator = operator
        self.policy = policy
        self.audit = audit
        self.cameras = cameras
        self._clock = clock
        self._lock = threading.Lock()
        self._incident: IncidentLike | None = None
        self._reason: str | None = None
        self._views: dict[tuple[str, Hashable], tuple[View, str]] = {}
        #: camera id -> the reason of its private view that ran out: extending needs another
        self._spent: dict[str, str] = {}
        #: open replays: replay id -> (camera id, incident id, reason)
        self._replays: dict[str, tuple[str, str | None, str | None]] = {}
        self._ids = itertools.count(1)

    # --- the incident being worked ---------------------------------------------------
    @property
    def incident(self) -> IncidentLike | None:
        return self._incident

    def set_incident(self, incident: IncidentLike | None, reason: str | None) -> None:
        """The incident the operator works on now, and the reason to view its cameras."""
        with self._lock:
            self._incident = incident
            self._reason = reason

    # --- views -----------------------------------------------------------------------
    def request_view(self, camera_id: str, holder: Hashable) -> Decision:
        """May ``holder`` (a tile) show ``camera_id`` now? Logged either way."""
        camera = self.cameras[camera_id]
        now = self._clock()
        with self._lock:
            incident, reason = self._incident, self._reason
            key = (camera_id, holder)
            if key in self._views:
                current = self._views[key][0]
                return Decision(True, "allowed", MESSAGES["allowed"], current.expires_at)
        # a city camera needs no reason of its own: the wall is the operator's job
        why = reason if camera.ownership == "private" else (reason or "wall")
        decision, view = self.policy.start(camera, self.operator, incident, now, reason=why)
        spent = self._spent.get(camera_id)
        if decision.allowed and spent is not None and (why or "").strip() == spent:
            # the view's time ran out: going on needs a new reason, not the same one again
            decision, view = Decision(False, "view_expired", MESSAGES["view_expired"]), None
        view_id = f"v{next(self._ids)}"
        try:
            self.audit.append(
                A.VIEW_START if decision.allowed else A.VIEW_DENY,
                operator=self.operator.name,
                camera_id=camera_id,
                incident_id=incident.id if incident is not None else None,
                ownership=camera.ownership,
                reason=why,
                outcome=decision.code,
                detail={"view_id": view_id, "role": self.operator.role}
                if decision.allowed
                else {"role": self.operator.role},
            )
        except A.AuditWriteError:
            return Decision(False, AUDIT_DOWN, AUDIT_DOWN_MESSAGE)
        if view is not None:
            with self._lock:
                self._views[key] = (view, view_id)
        return decision

    def end_view(self, camera_id: str, holder: Hashable, *, code: str = "released") -> None:
        """The tile stopped showing the camera (or the session stopped it)."""
        with self._lock:
            entry = self._views.pop((camera_id, holder), None)
        if entry is None:
            return
        view, view_id = entry
        camera = self.cameras.get(camera_id)
        # the view is over either way; a failed write shows in the report as an open view
        with contextlib.suppress(A.AuditWriteError):
            self.audit.append(
                A.VIEW_STOP,
                operator=self.operator.name,
                camera_id=camera_id,
                incident_id=view.incident_id,
                ownership=camera.ownership if camera else None,
                reason=view.reason,
                outcome=code,
                detail={"view_id": view_id},
            )

    def active_views(self) -> list[tuple[str, Hashable]]:
        with self._lock:
            return list(self._views)

    def tick(self, incidents: Mapping[str, IncidentLike] | None = None) -> list[Revoked]:
        """Ends the views the policy no longer allows; returns them for the UI."""
        now = self._clock()
        with self._lock:
            entries = dict(self._views)
            current = self._incident
        by_id: dict[str, IncidentLike] = dict(incidents or {})
        if current is not None:
            by_id.setdefault(current.id, current)
        views = [v for v, _ in entries.values()]
        stops = self.policy.active_views_to_stop(views, by_id, self.cameras, now)
        stopped = {id(s.view): s for s in stops}
        out: list[Revoked] = []
        for (camera_id, holder), (view, _vid) in entries.items():
            s = stopped.get(id(view))
            if s is not None:
                if s.code == "view_expired":
                    self._spent[camera_id] = view.reason
                self.end_view(camera_id, holder, code=s.code)
                out.append(Revoked(camera_id, holder, s.code, s.message))
        return out

    # --- replays of recorded pictures -----------------------------------------------
    def open_replay(self, camera_id: str, first: float, last: float) -> str | None:
        """Records that the operator opens the replay of ``camera_id``, whose buffer
        holds pictures from ``first`` to ``last`` (epoch seconds).

        Returns the replay's id for ``close_replay``, or None when the audit log
        cannot be written: the replay is then refused, as a view would be.
        """
        camera = self.cameras[camera_id]
        with self._lock:
            incident, reason = self._incident, self._reason
            views = [(v, vid) for (cid, _h), (v, vid) in self._views.items() if cid == camera_id]
        extra: dict[str, object] = {}
        why: str | None
        incident_id: str | None
        if views:  # recorded under this view: its incident and reason
            view, view_id = views[0]
            incident_id, why, extra = view.incident_id, view.reason, {"view_id": view_id}
        else:
            why = reason if camera.ownership == "private" else (reason or "wall")
            incident_id = incident.id if incident is not None else None
        replay_id = f"r{next(self._ids)}"
        try:
            self.audit.append(
                A.REPLAY_OPEN,
                operator=self.operator.name,
                camera_id=camera_id,
                incident_id=incident_id,
                ownership=camera.ownership,
                reason=why,
                outcome="opened",
                detail={
                    "replay_id": replay_id,
                    "role": self.operator.role,
                    "buffer_from": A.format_epoch(first),
                    "buffer_to": A.format_epoch(last),
                    **extra,
                },
            )
        except A.AuditWriteError:
            return None
        with self._lock:
            self._replays[replay_id] = (camera_id, incident_id, why)
        return replay_id

    def close_replay(self, replay_id: str, *, code: str = "closed") -> None:
        """The replay window closed (``code``: why); a second call does nothing."""
        with self._lock:
            entry = self._replays.pop(replay_id, None)
        if entry is None:
            return
        camera_id, incident_id, why = entry
        camera = self.cameras.get(camera_id)
        with contextlib.suppress(A.AuditWriteError):  # closed either way
            self.audit.append(
                A.REPLAY_CLOSE,
                operator=self.operator.name,
                camera_id=camera_id,
                incident_id=incident_id,
                ownership=camera.ownership if camera else None,
                reason=why,
                outcome=code,
                detail={"replay_id": replay_id},
            )

    def open_replays(self) -> list[str]:
        with self._lock:
            return list(self._replays)

    # --- the session itself ------------------------------------------------------------
    def log_app(self, kind: str, detail: dict[str, object] | None = None) -> None:
        """App start/stop and the operator's identity (best effort: the app runs on)."""
        with contextlib.suppress(A.AuditWriteError):
            self.audit.append(
                kind,
                operator=self.operator.name,
                detail={"role": self.operator.role, **(detail or {})},
            )

    def log_config_change(self, summary: str) -> None:
        with contextlib.suppress(A.AuditWriteError):
            self.audit.append(
                A.CONFIG_CHANGE, operator=self.operator.name, reason=summary, outcome="applied"
            )

    def close(self) -> None:
        for replay_id in self.open_replays():
            self.close_replay(replay_id, code="app_stop")
        for camera_id, holder in self.active_views():
            self.end_view(camera_id, holder, code="app_stop")
