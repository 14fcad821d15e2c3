"""Who may watch which camera, when, and for how long: the access policy.

A private camera is someone's doorbell or shop camera, lent to the city under
a waiver. Its owner agreed to be watched only for a real, open incident close
by, within the hours and sharing tier they chose, by an operator who states a
reason, and only for a short time. This module decides that; it is pure code
(no I/O, no clock reads: ``now`` is always passed in) so that every rule can be
tested, and so the audit log can record exactly which rule denied a view.

Times: ``now`` is the site's local time (aware or naive, but consistent with
the incident times). Waiver dates and ``allowed_hours`` are compared with
``now``'s own wall clock, so the caller passes local time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from rtcc_wall.core.cameras import Camera, Sharing

Role = Literal["operator", "supervisor", "auditor"]
ROLES: tuple[Role, ...] = ("operator", "supervisor", "auditor")

#: The sharing tier a private camera has when its config does not say (see config.example.yaml).
DEFAULT_PRIVATE_SHARING: Sharing = "live_during_incident"

_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")

#: Every denial code, with the message a tile shows. Codes are stable: audit rows keep them.
MESSAGES: dict[str, str] = {
    "allowed": "View allowed",
    "role_not_allowed": "Your role may not view this camera",
    "no_incident": "Private camera: no open incident",
    "incident_closed": "Private camera: the incident is closed",
    "out_of_radius": "Private camera: too far from the incident",
    "no_waiver": "Private camera: no waiver on file",
    "waiver_not_yet_valid": "Private camera: the waiver is not valid yet",
    "waiver_expired": "Private camera: the waiver has expired",
    "waiver_revoked": "Private camera: the owner revoked the waiver",
    "registry_only": "Private camera: registry only, never streamed",
    "owner_approval_missing": "Private camera: owner approval not recorded for this incident",
    "outside_allowed_hours": "Private camera: outside the owner's allowed hours",
    "reason_required": "Private camera: state a reason to view",
    "city_no_incident": "City camera: viewing requires an open incident",
    "city_incident_closed": "City camera: the incident is closed",
    "view_expired": "Private camera: the view time is up; extend with a new reason",
    "camera_removed": "Camera no longer in the registry",
}


class HoursError(ValueError):
    """``allowed_hours`` is not ``HH:MM-HH:MM``."""


@dataclass(frozen=True)
class Hours:
    """A daily window of local time; ``end`` is exclusive and may lie past midnight."""

    start: dt.time
    end: dt.time

    def contains(self, t: dt.time) -> bool:
        m = t.hour * 60 + t.minute
        s = self.start.hour * 60 + self.start.minute
        e = self.end.hour * 60 + self.end.minute
        if s < e:
            return s <= m < e
        return m >= s or m < e  # wraps midnight, e.g. 22:00-06:00


def parse_hours(text: str) -> Hours:
    """Parses ``"HH:MM-HH:MM"`` (24-hour local time; 22:00-06:00 wraps midnight)."""
    m = _HOURS_RE.match(text.strip())
    if not m:
        raise HoursError(
            f"expected HH:MM-HH:MM in 24-hour local time, e.g. 08:00-18:00 or 22:00-06:00, "
            f"got {text!r}"
        )
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if (h1, m1) == (h2, m2):
        raise HoursError(
            f"{text!r}: start and end are equal; leave allowed_hours out to allow all day"
        )
    return Hours(dt.time(h1, m1), dt.time(h2, m2))


@dataclass(frozen=True)
class Operator:
    name: str
    role: Role


class IncidentLike(Protocol):
    """What the policy reads of an incident (so the UI's own incident type can satisfy it)."""

    @property
    def id(self) -> str: ...
    @property
    def x(self) -> float: ...
    @property
    def y(self) -> float: ...
    @property
    def closed_at(self) -> dt.datetime | None: ...
    @property
    def owner_approvals(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Incident:
    """An incident as the access policy and the audit log see it (local metres, local time).

    ``owner_approvals`` holds the ids of ``on_request`` cameras whose owner
    approved streaming for this incident.
    """

    id: str
    x: float
    y: float
    opened_at: dt.datetime
    case_number: str
    type: str
    reason: str
    closed_at: dt.datetime | None = None
    owner_approvals: frozenset[str] = frozenset()

    def is_open(self, now: dt.datetime) -> bool:
        return self.closed_at is None or now < self.closed_at

    def closed(self, at: dt.datetime) -> Incident:
        return replace(self, closed_at=at)

    def with_approval(self, camera_id: str) -> Incident:
        return replace(self, owner_approvals=self.owner_approvals | {camera_id})


def _is_open(incident: IncidentLike, now: dt.datetime) -> bool:
    return incident.closed_at is None or now < incident.closed_at


@dataclass(frozen=True)
class Decision:
    """The answer to "may this operator watch this camera now?".

    ``code`` is stable (audit rows and tests use it); ``message`` is for the tile.
    ``expires_at`` is when a private view must end (None: no limit).
    """

    allowed: bool
    code: str
    message: str
    expires_at: dt.datetime | None = None


def _deny(code: str) -> Decision:
    return Decision(False, code, MESSAGES[code])


@dataclass(frozen=True)
class View:
    """A live view that was allowed: what ``active_views_to_stop`` re-checks every second."""

    camera_id: str
    operator: Operator
    incident_id: str | None
    reason: str
    started_at: dt.datetime
    expires_at: dt.datetime | None

    def extended(self, decision: Decision, reason: str) -> View:
        """This view after an allowed ``AccessPolicy.extend``: the new reason and end."""
        if not decision.allowed:
            raise ValueError(f"cannot extend a view with a denied decision ({decision.code})")
        return replace(self, reason=reason.strip(), expires_at=decision.expires_at)


@dataclass(frozen=True)
class Stop:
    """A view that must stop now, and why (code and message as in ``Decision``)."""

    view: View
    code: str
    message: str


def _default_private_roles() -> tuple[Role, ...]:
    return ("operator", "supervisor")


def _default_city_roles() -> tuple[Role, ...]:
    return ("operator", "supervisor", "auditor")


@dataclass(frozen=True)
class AccessSettings:
    """The ``access:`` section of the config, as the core uses it (defaults match the schema)."""

    private_radius_m: float = 500.0
    private_view_minutes: float = 15.0
    roles_allowed_private: tuple[Role, ...] = field(default_factory=_default_private_roles)
    city_require_incident: bool = False
    city_roles: tuple[Role, ...] = field(default_factory=_default_city_roles)
    require_masks_on_private: bool = False


def effective_sharing(camera: Camera) -> Sharing | None:
    """The camera's sharing tier; a private camera without one gets the documented default."""
    if camera.ownership != "private":
        return None
    return camera.sharing or DEFAULT_PRIVATE_SHARING


class AccessPolicy:
    """Decides views from the settings; holds no state, so one instance serves every tile."""

    def __init__(self, settings: AccessSettings | None = None) -> None:
        self.settings = settings or AccessSettings()

    def decide(
        self,
        camera: Camera,
        operator: Operator,
        incident: IncidentLike | None,
        now: dt.datetime,
        *,
        reason: str | None,
    ) -> Decision:
        if camera.ownership == "private":
            return self._decide_private(camera, operator, incident, now, reason)
        return self._decide_city(operator, incident, now)

    def _decide_city(
        self, operator: Operator, incident: IncidentLike | None, now: dt.datetime
    ) -> Decision:
        s = self.settings
        if operator.role not in s.city_roles:
            return _deny("role_not_allowed")
        if s.city_require_incident:
            if incident is None:
                return _deny("city_no_incident")
            if not _is_open(incident, now):
                return _deny("city_incident_closed")
        return Decision(True, "allowed", MESSAGES["allowed"], None)

    def _decide_private(
        self,
        camera: Camera,
        operator: Operator,
        incident: IncidentLike | None,
        now: dt.datetime,
        reason: str | None,
    ) -> Decision:
        s = self.settings
        # The order only chooses which failed rule is named; every rule must hold.
        if operator.role not in s.roles_allowed_private:
            return _deny("role_not_allowed")
        if incident is None:
            return _deny("no_incident")
        if not _is_open(incident, now):
            return _deny("incident_closed")
        if math.hypot(camera.x - incident.x, camera.y - incident.y) > s.private_radius_m:
            return _deny("out_of_radius")
        waiver_code = _waiver_problem(camera, now.date())
        if waiver_code is not None:
            return _deny(waiver_code)
        sharing = effective_sharing(camera)
        if sharing == "registry_only":
            return _deny("registry_only")
        if sharing == "on_request" and camera.id not in incident.owner_approvals:
            return _deny("owner_approval_missing")
        if camera.allowed_hours:
            try:
                hours = parse_hours(camera.allowed_hours)
            except HoursError:
                # the config validates it; a hand-built bad value must not open the stream
                return _deny("outside_allowed_hours")
            if not hours.contains(now.time()):
                return _deny("outside_allowed_hours")
        if reason is None or not reason.strip():
            return _deny("reason_required")
        expires = now + dt.timedelta(minutes=s.private_view_minutes)
        return Decision(True, "allowed", MESSAGES["allowed"], expires)

    def start(
        self,
        camera: Camera,
        operator: Operator,
        incident: IncidentLike | None,
        now: dt.datetime,
        *,
        reason: str | None,
    ) -> tuple[Decision, View | None]:
        """``decide``, and the ``View`` to track when it is allowed."""
        d = self.decide(camera, operator, incident, now, reason=reason)
        if not d.allowed:
            return d, None
        view = View(
            camera.id,
            operator,
            incident.id if incident is not None else None,
            (reason or "").strip(),
            now,
            d.expires_at,
        )
        return d, view

    def extend(
        self,
        view: View,
        now: dt.datetime,
        reason: str | None,
        *,
        camera: Camera,
        incident: IncidentLike | None,
    ) -> Decision:
        """A new decision for ``view``: every rule again, with a new reason, from ``now``.

        The camera and incident are passed as they are now (a waiver may have
        been revoked since the view started). An empty reason is refused: the
        extension is logged with its own reason.
        """
        if camera.id != view.camera_id:
            raise ValueError(f"view is of camera {view.camera_id!r}, not {camera.id!r}")
        if camera.ownership == "private" and (reason is None or not reason.strip()):
            return _deny("reason_required")
        return self.decide(camera, view.operator, incident, now, reason=reason)

    def active_views_to_stop(
        self,
        views: Iterable[View],
        incidents: Iterable[IncidentLike] | Mapping[str, IncidentLike],
        cameras: Mapping[str, Camera],
        now: dt.datetime,
    ) -> list[Stop]:
        """The views that must end now: time up, incident closed, waiver revoked, any rule broken.

        Cheap enough to call every second, so that closing an incident or
        revoking a waiver stops its views within seconds.
        """
        by_id: Mapping[str, IncidentLike] = (
            incidents if isinstance(incidents, Mapping) else {i.id: i for i in incidents}
        )
        stops: list[Stop] = []
        for v in views:
            camera = cameras.get(v.camera_id)
            if camera is None:
                stops.append(Stop(v, "camera_removed", MESSAGES["camera_removed"]))
                continue
            if v.expires_at is not None and now >= v.expires_at:
                stops.append(Stop(v, "view_expired", MESSAGES["view_expired"]))
                continue
            incident = by_id.get(v.incident_id) if v.incident_id is not None else None
            if v.incident_id is not None and incident is None:
                # an incident that is gone is as good as closed
                if camera.ownership == "private":
                    stops.append(Stop(v, "incident_closed", MESSAGES["incident_closed"]))
                    continue
                if self.settings.city_require_incident:
                    stops.append(Stop(v, "city_incident_closed", MESSAGES["city_incident_closed"]))
                    continue
            d = self.decide(camera, v.operator, incident, now, reason=v.reason)
            if not d.allowed:
                stops.append(Stop(v, d.code, d.message))
        return stops


def _waiver_problem(camera: Camera, today: dt.date) -> str | None:
    w = camera.waiver
    if w is None:
        return "no_waiver"
    try:
        signed = dt.date.fromisoformat(w.signed)
        expires = dt.date.fromisoformat(w.expires) if w.expires else None
    except ValueError:
        return "no_waiver"  # unreadable dates: treat as no valid waiver on file
    if w.revoked:
        return "waiver_revoked"
    if signed > today:
        return "waiver_not_yet_valid"
    if expires is not None and today > expires:
        return "waiver_expired"
    return None
