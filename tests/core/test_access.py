"""The access policy: every rule that guards a private camera, one by one and all together."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from rtcc_wall.config.schema import AccessConfig, CameraConfig
from rtcc_wall.core.access import (
    MESSAGES,
    AccessPolicy,
    AccessSettings,
    HoursError,
    Incident,
    Operator,
    View,
    parse_hours,
)
from rtcc_wall.core.cameras import Camera, Sharing, WaiverInfo

NOW = dt.datetime(2026, 6, 15, 14, 30)  # local wall-clock time, a Monday afternoon
OPERATOR = Operator("A. Diaz", "operator")
AUDITOR = Operator("R. Lee", "auditor")


def private_cam(
    *,
    x: float = 100.0,
    sharing: Sharing | None = "live_during_incident",
    waiver: WaiverInfo | None = None,
    hours: str | None = None,
    cid: str = "p1",
) -> Camera:
    return Camera(
        id=cid,
        name="Shop",
        ownership="private",
        lon=0.0,
        lat=0.0,
        x=x,
        y=0.0,
        heading_deg=0.0,
        fov_deg=90.0,
        range_m=30.0,
        stream="rtsp://viewer:pw@10.0.0.5/s1",
        waiver=waiver
        if waiver is not None
        else WaiverInfo("W-1", "2026-01-01", "2027-01-01", False),
        sharing=sharing,
        allowed_hours=hours,
    )


def city_cam() -> Camera:
    return Camera("c1", "Main St", "city", 0.0, 0.0, 0.0, 0.0, 0.0, 60.0, 100.0, "sim://")


def incident(
    *, closed_at: dt.datetime | None = None, approvals: frozenset[str] = frozenset()
) -> Incident:
    return Incident(
        id="I-1",
        x=0.0,
        y=0.0,
        opened_at=NOW - dt.timedelta(minutes=10),
        case_number="2026-000123",
        type="robbery",
        reason="armed robbery reported at the bakery",
        closed_at=closed_at,
        owner_approvals=approvals,
    )


def _decide(
    cam: Camera,
    *,
    op: Operator = OPERATOR,
    inc: Incident | None = None,
    no_incident: bool = False,
    now: dt.datetime = NOW,
    reason: str | None = "suspect fled north",
    policy: AccessPolicy | None = None,
) -> Any:
    inc = None if no_incident else (inc or incident())
    return (policy or AccessPolicy()).decide(cam, op, inc, now, reason=reason)


WAIVER = WaiverInfo("W-1", "2026-01-01", "2027-01-01", False)

# (label, camera, decide() keyword arguments, expected code)
TABLE: list[tuple[str, Camera, dict[str, Any], str]] = [
    ("all rules hold", private_cam(), {}, "allowed"),
    ("no incident", private_cam(), {"no_incident": True}, "no_incident"),
    (
        "incident closed",
        private_cam(),
        {"inc": incident(closed_at=NOW - dt.timedelta(seconds=1))},
        "incident_closed",
    ),
    (
        "closes later: still open",
        private_cam(),
        {"inc": incident(closed_at=NOW + dt.timedelta(1))},
        "allowed",
    ),
    ("500 m away: inside", private_cam(x=500.0), {}, "allowed"),
    ("501 m away", private_cam(x=501.0), {}, "out_of_radius"),
    ("no waiver", dataclasses.replace(private_cam(), waiver=None), {}, "no_waiver"),
    (
        "signed tomorrow",
        private_cam(waiver=dataclasses.replace(WAIVER, signed="2026-06-16")),
        {},
        "waiver_not_yet_valid",
    ),
    (
        "signed today",
        private_cam(waiver=dataclasses.replace(WAIVER, signed="2026-06-15")),
        {},
        "allowed",
    ),
    (
        "expired yesterday",
        private_cam(waiver=dataclasses.replace(WAIVER, expires="2026-06-14")),
        {},
        "waiver_expired",
    ),
    (
        "expires today",
        private_cam(waiver=dataclasses.replace(WAIVER, expires="2026-06-15")),
        {},
        "allowed",
    ),
    ("no expiry", private_cam(waiver=dataclasses.replace(WAIVER, expires=None)), {}, "allowed"),
    (
        "revoked",
        private_cam(waiver=dataclasses.replace(WAIVER, revoked=True)),
        {},
        "waiver_revoked",
    ),
    ("registry only", private_cam(sharing="registry_only"), {}, "registry_only"),
    ("on request, not approved", private_cam(sharing="on_request"), {}, "owner_approval_missing"),
    (
        "on request, approved for another camera",
        private_cam(sharing="on_request"),
        {"inc": incident(approvals=frozenset({"p2"}))},
        "owner_approval_missing",
    ),
    (
        "on request, approved",
        private_cam(sharing="on_request"),
        {"inc": incident(approvals=frozenset({"p1"}))},
        "allowed",
    ),
    ("no sharing given: the default tier", private_cam(sharing=None), {}, "allowed"),
    ("inside hours", private_cam(hours="08:00-18:00"), {}, "allowed"),
    ("outside hours", private_cam(hours="15:00-18:00"), {}, "outside_allowed_hours"),
    ("end minute excluded", private_cam(hours="08:00-14:30"), {}, "outside_allowed_hours"),
    ("start minute included", private_cam(hours="14:30-15:00"), {}, "allowed"),
    ("night hours, afternoon", private_cam(hours="22:00-06:00"), {}, "outside_allowed_hours"),
    (
        "night hours, 02:00",
        private_cam(hours="22:00-06:00"),
        {"now": NOW.replace(hour=2, minute=0)},
        "allowed",
    ),
    (
        "night hours, 23:59",
        private_cam(hours="22:00-06:00"),
        {"now": NOW.replace(hour=23, minute=59)},
        "allowed",
    ),
    ("wrap, afternoon inside", private_cam(hours="12:00-03:00"), {}, "allowed"),
    ("auditor", private_cam(), {"op": AUDITOR}, "role_not_allowed"),
    ("supervisor", private_cam(), {"op": Operator("S", "supervisor")}, "allowed"),
    ("no reason", private_cam(), {"reason": None}, "reason_required"),
    ("blank reason", private_cam(), {"reason": "   "}, "reason_required"),
    ("city camera, no incident", city_cam(), {"no_incident": True, "reason": None}, "allowed"),
    ("city camera, auditor", city_cam(), {"op": AUDITOR, "no_incident": True}, "allowed"),
    (
        "city camera, incident required",
        city_cam(),
        {"no_incident": True, "policy": AccessPolicy(AccessSettings(city_require_incident=True))},
        "city_no_incident",
    ),
    (
        "city camera, incident required and closed",
        city_cam(),
        {
            "inc": incident(closed_at=NOW),
            "policy": AccessPolicy(AccessSettings(city_require_incident=True)),
        },
        "city_incident_closed",
    ),
    (
        "city camera, role not configured",
        city_cam(),
        {"op": AUDITOR, "policy": AccessPolicy(AccessSettings(city_roles=("operator",)))},
        "role_not_allowed",
    ),
]


@pytest.mark.parametrize(("label", "camera", "kwargs", "code"), TABLE, ids=[t[0] for t in TABLE])
def test_rule_table(label: str, camera: Camera, kwargs: dict[str, Any], code: str) -> None:
    d = _decide(camera, **kwargs)
    assert d.code == code, label
    assert d.allowed is (code == "allowed")
    assert d.message == MESSAGES[code]
    if d.allowed and camera.ownership == "private":
        assert d.expires_at == kwargs.get("now", NOW) + dt.timedelta(minutes=15)
    else:
        assert d.expires_at is None


def test_denial_messages_name_the_camera_kind() -> None:
    assert _decide(private_cam(), no_incident=True).message == "Private camera: no open incident"
    for code, msg in MESSAGES.items():
        assert msg, code


def test_radius_is_configurable() -> None:
    policy = AccessPolicy(AccessSettings(private_radius_m=50.0))
    assert _decide(private_cam(x=49.0), policy=policy).allowed
    assert _decide(private_cam(x=51.0), policy=policy).code == "out_of_radius"


# --- every rule at once: allowed iff all hold -------------------------------------------------

#: The rules a private view needs, and the code a broken one is denied with.
RULES: dict[str, str] = {
    "incident": "no_incident",
    "open": "incident_closed",
    "radius": "out_of_radius",
    "waiver": "no_waiver",
    "signed": "waiver_not_yet_valid",
    "not_expired": "waiver_expired",
    "not_revoked": "waiver_revoked",
    "tier": "registry_only",  # or owner_approval_missing, by variant
    "hours": "outside_allowed_hours",
    "role": "role_not_allowed",
    "reason": "reason_required",
}
#: Rules that cannot be checked without another one (no incident: nothing to be near).
NEEDS = {"open": "incident", "radius": "incident", "signed": "waiver", "not_expired": "waiver"}
NEEDS |= {"not_revoked": "waiver"}
HOURS_IN = [None, "14:00-14:31", "14:30-14:29", "23:00-15:00", "00:00-23:59"]
HOURS_OUT = ["14:31-14:00", "15:00-14:30", "22:00-06:00", "08:00-14:30"]

broken_rules = st.one_of(
    st.just(frozenset[str]()),
    st.sampled_from(sorted(RULES)).map(lambda r: frozenset({r})),
    st.frozensets(st.sampled_from(sorted(RULES))),
)


@settings(max_examples=500, deadline=None)
@given(broken=broken_rules, data=st.data())
def test_allowed_iff_every_condition_holds(broken: frozenset[str], data: st.DataObject) -> None:
    days = st.integers(1, 400)
    signed = NOW.date() + dt.timedelta(
        days=data.draw(days) if "signed" in broken else -data.draw(st.integers(0, 400))
    )
    if "not_expired" in broken:
        expires: dt.date | None = NOW.date() - dt.timedelta(days=data.draw(days))
    else:
        expires = data.draw(
            st.one_of(
                st.none(), st.integers(0, 400).map(lambda n: NOW.date() + dt.timedelta(days=n))
            )
        )
    waiver = WaiverInfo(
        "W-1", signed.isoformat(), expires.isoformat() if expires else None, "not_revoked" in broken
    )
    if "tier" in broken:
        sharing: Sharing | None = data.draw(st.sampled_from(["registry_only", "on_request"]))
        approved = False
    else:
        sharing = data.draw(st.sampled_from(["live_during_incident", None, "on_request"]))
        approved = sharing == "on_request"
    distance = data.draw(st.floats(500.01, 5000.0) if "radius" in broken else st.floats(0.0, 500.0))
    cam = dataclasses.replace(
        private_cam(
            x=distance,
            sharing=sharing,
            hours=data.draw(st.sampled_from(HOURS_OUT if "hours" in broken else HOURS_IN)),
        ),
        waiver=None if "waiver" in broken else waiver,
    )
    inc = incident(
        closed_at=NOW - dt.timedelta(seconds=1) if "open" in broken else None,
        approvals=frozenset({"p1"}) if approved else frozenset({"p2"}),
    )
    role: Any = (
        "auditor" if "role" in broken else data.draw(st.sampled_from(["operator", "supervisor"]))
    )
    reason = data.draw(
        st.sampled_from([None, "", "   "])
        if "reason" in broken
        else st.text(min_size=1).filter(str.strip)
    )

    d = AccessPolicy().decide(
        cam, Operator("x", role), None if "incident" in broken else inc, NOW, reason=reason
    )

    effective = {r for r in broken if NEEDS.get(r) not in broken}
    expected = {RULES[r] for r in effective}
    if "tier" in effective and sharing == "on_request":
        expected.discard("registry_only")
        if "incident" not in broken:
            expected.add("owner_approval_missing")
    assert d.allowed is (not effective)
    if effective:
        assert d.code in expected
        assert d.expires_at is None
        if len(expected) == 1:  # a single broken rule is the one named
            assert d.code == next(iter(expected))
    else:
        assert d.code == "allowed"
        assert d.expires_at == NOW + dt.timedelta(minutes=15)


# --- allowed_hours -------------------------------------------------------------------------


def _minutes_in_window(start: int, end: int) -> set[int]:
    """Reference: walk the clock from start to end, one minute at a time."""
    out, m = set(), start
    while m != end:
        out.add(m)
        m = (m + 1) % 1440
    return out


@given(
    start=st.integers(0, 1439),
    end=st.integers(0, 1439),
    at=st.integers(0, 1439),
)
def test_hours_window_matches_walking_the_clock(start: int, end: int, at: int) -> None:
    if start == end:
        return
    text = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    hours = parse_hours(text)
    t = dt.time(at // 60, at % 60, 59)
    assert hours.contains(t) is (at in _minutes_in_window(start, end))


@pytest.mark.parametrize(
    "bad",
    ["8:00-18:00", "08:00-24:00", "08:60-09:00", "0800-1800", "08:00 - 18:00x", "", "08:00-08:00"],
)
def test_hours_format_is_checked(bad: str) -> None:
    with pytest.raises(HoursError, match="HH:MM-HH:MM|equal"):
        parse_hours(bad)


def test_unparseable_hours_on_a_hand_built_camera_deny() -> None:
    assert _decide(private_cam(hours="always")).code == "outside_allowed_hours"


# --- views: expiry, extension, stopping ------------------------------------------------------


def _start(cam: Camera | None = None, inc: Incident | None = None) -> View:
    d, view = AccessPolicy().start(
        cam or private_cam(), OPERATOR, inc or incident(), NOW, reason="  suspect fled north "
    )
    assert d.allowed
    assert view is not None
    return view


def test_start_records_the_view() -> None:
    view = _start()
    assert view.camera_id == "p1"
    assert view.incident_id == "I-1"
    assert view.reason == "suspect fled north"
    assert view.started_at == NOW
    assert view.expires_at == NOW + dt.timedelta(minutes=15)
    d, none = AccessPolicy().start(private_cam(), OPERATOR, None, NOW, reason="x")
    assert (d.code, none) == ("no_incident", None)


def test_view_length_is_configurable() -> None:
    policy = AccessPolicy(AccessSettings(private_view_minutes=5))
    assert _decide(private_cam(), policy=policy).expires_at == NOW + dt.timedelta(minutes=5)


def test_extension_needs_a_new_reason_and_rechecks_every_rule() -> None:
    policy = AccessPolicy()
    cam, inc, view = private_cam(), incident(), _start()
    later = NOW + dt.timedelta(minutes=14)
    assert policy.extend(view, later, "", camera=cam, incident=inc).code == "reason_required"
    assert policy.extend(view, later, None, camera=cam, incident=inc).code == "reason_required"
    d = policy.extend(view, later, "suspect still inside", camera=cam, incident=inc)
    assert d.allowed
    assert d.expires_at == later + dt.timedelta(minutes=15)
    longer = view.extended(d, " suspect still inside ")
    assert longer.expires_at == d.expires_at
    assert longer.reason == "suspect still inside"
    assert longer.started_at == NOW
    revoked = private_cam(waiver=dataclasses.replace(WAIVER, revoked=True))
    assert policy.extend(view, later, "more", camera=revoked, incident=inc).code == "waiver_revoked"
    closed = inc.closed(later)
    assert policy.extend(view, later, "more", camera=cam, incident=closed).code == (
        "incident_closed"
    )
    with pytest.raises(ValueError, match="denied"):
        view.extended(policy.extend(view, later, "", camera=cam, incident=inc), "x")
    with pytest.raises(ValueError, match="camera"):
        policy.extend(view, later, "x", camera=city_cam(), incident=inc)


def test_active_views_to_stop() -> None:
    policy = AccessPolicy()
    inc = incident()
    cams = {
        "p1": private_cam(cid="p1"),
        "p2": private_cam(cid="p2"),
        "p3": private_cam(cid="p3", hours="14:00-14:40"),
        "c1": city_cam(),
    }
    views = [_start(cams[c], inc) for c in ("p1", "p2", "p3")]
    d, city_view = policy.start(cams["c1"], OPERATOR, inc, NOW, reason=None)
    assert d.allowed
    assert city_view is not None
    assert city_view.expires_at is None
    views.append(city_view)
    t = NOW + dt.timedelta(minutes=1)
    assert policy.active_views_to_stop(views, [inc], cams, t) == []

    # the owner of p2 revokes the waiver: only p2 stops
    cams2 = {**cams, "p2": private_cam(cid="p2", waiver=dataclasses.replace(WAIVER, revoked=True))}
    stops = policy.active_views_to_stop(views, [inc], cams2, t)
    assert [(s.view.camera_id, s.code) for s in stops] == [("p2", "waiver_revoked")]
    assert stops[0].message == MESSAGES["waiver_revoked"]

    # the allowed hours of p3 end at 14:40
    stops = policy.active_views_to_stop(views, [inc], cams, NOW.replace(minute=40))
    assert [(s.view.camera_id, s.code) for s in stops] == [("p3", "outside_allowed_hours")]

    # closing the incident stops every private view; the city view goes on
    closed = inc.closed(t)
    stops = policy.active_views_to_stop(views, {"I-1": closed}, cams, t)
    assert [(s.view.camera_id, s.code) for s in stops] == [
        ("p1", "incident_closed"),
        ("p2", "incident_closed"),
        ("p3", "incident_closed"),
    ]
    # ... and so does an incident that is gone, and a camera removed from the registry
    stops = policy.active_views_to_stop(views, [], {"p1": cams["p1"], "c1": cams["c1"]}, t)
    assert [(s.view.camera_id, s.code) for s in stops] == [
        ("p1", "incident_closed"),
        ("p2", "camera_removed"),
        ("p3", "camera_removed"),
    ]

    # time is up after 15 minutes, at the exact second
    end = NOW + dt.timedelta(minutes=15)
    assert policy.active_views_to_stop(views[:1], [inc], cams, end - dt.timedelta(seconds=1)) == []
    stops = policy.active_views_to_stop(views[:2], [inc], cams, end)
    assert {(s.view.camera_id, s.code) for s in stops} == {
        ("p1", "view_expired"),
        ("p2", "view_expired"),
    }
    # an extended view lives on
    ext = policy.extend(views[0], end, "new lead", camera=cams["p1"], incident=inc)
    assert policy.active_views_to_stop([views[0].extended(ext, "new lead")], [inc], cams, end) == []


def test_city_views_stop_with_their_incident_when_required() -> None:
    policy = AccessPolicy(AccessSettings(city_require_incident=True))
    inc = incident()
    cams = {"c1": city_cam()}
    _d, view = policy.start(cams["c1"], OPERATOR, inc, NOW, reason=None)
    assert view is not None
    assert policy.active_views_to_stop([view], [inc], cams, NOW) == []
    closed = [inc.closed(NOW)]
    assert [s.code for s in policy.active_views_to_stop([view], closed, cams, NOW)] == [
        "city_incident_closed"
    ]
    assert [s.code for s in policy.active_views_to_stop([view], [], cams, NOW)] == [
        "city_incident_closed"
    ]
    # without the requirement, a city view outlives its incident
    assert AccessPolicy().active_views_to_stop([view], [], cams, NOW) == []


def test_incident_helpers() -> None:
    inc = incident()
    assert inc.is_open(NOW)
    assert not inc.closed(NOW).is_open(NOW)
    assert inc.with_approval("p9").owner_approvals == frozenset({"p9"})


# --- the config side: enrollment fields and the access: section ------------------------------

CAM: dict[str, Any] = {
    "id": "p1",
    "name": "Shop",
    "ownership": "private",
    "location": {"lon": -90.0, "lat": 32.0},
    "heading_deg": 0,
    "fov_deg": 90,
    "range_m": 30,
    "stream": "sim://",
}


def _errors(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as ei:
        model.model_validate(data)
    return [(tuple(e["loc"]), e["msg"]) for e in ei.value.errors()]


def test_sharing_defaults_for_private_cameras_only() -> None:
    assert CameraConfig.model_validate(CAM).sharing == "live_during_incident"
    assert CameraConfig.model_validate(CAM | {"sharing": "registry_only"}).sharing == (
        "registry_only"
    )
    assert CameraConfig.model_validate(CAM | {"ownership": "city"}).sharing is None
    [(loc, msg)] = _errors(CameraConfig, CAM | {"ownership": "city", "sharing": "on_request"})
    assert loc == ("sharing",)
    assert "only private cameras" in msg
    [(loc, _msg)] = _errors(CameraConfig, CAM | {"sharing": "always"})
    assert loc == ("sharing",)


def test_allowed_hours_are_validated() -> None:
    assert CameraConfig.model_validate(CAM | {"allowed_hours": "22:00-06:00"}).allowed_hours == (
        "22:00-06:00"
    )
    [(loc, msg)] = _errors(CameraConfig, CAM | {"allowed_hours": "22h-6h"})
    assert loc == ("allowed_hours",)
    assert "expected HH:MM-HH:MM in 24-hour local time" in msg
    [(loc, msg)] = _errors(
        CameraConfig, CAM | {"ownership": "city", "allowed_hours": "08:00-18:00"}
    )
    assert "only private cameras" in msg


def test_access_section_defaults() -> None:
    access = AccessConfig()
    assert access.to_settings() == AccessSettings()
    assert access.private_radius_m == 500
    assert access.private_view_minutes == 15
    assert access.roles_allowed_private == ["operator", "supervisor"]
    assert access.city.roles == ["operator", "supervisor", "auditor"]
    assert access.city.require_incident is False
    assert access.require_masks_on_private is False
    assert access.to_operators() == []


def test_access_section_is_strict() -> None:
    assert ("private_radius",) in [loc for loc, _ in _errors(AccessConfig, {"private_radius": 1})]
    assert ("city", "require") in [
        loc for loc, _ in _errors(AccessConfig, {"city": {"require": 1}})
    ]
    locs = [loc for loc, _ in _errors(AccessConfig, {"operators": [{"name": "a", "role": "boss"}]})]
    assert locs == [("operators", 0, "role")]
    dup = [{"name": "a", "role": "operator"}, {"name": "a", "role": "auditor"}]
    [(_loc, msg)] = _errors(AccessConfig, {"operators": dup})
    assert "duplicate operator name(s): a" in msg
    ok = AccessConfig.model_validate(
        {
            "private_radius_m": 250,
            "city": {"require_incident": True, "roles": ["supervisor"]},
            "operators": [{"name": "J. Doe", "role": "supervisor"}],
        }
    )
    assert ok.to_operators() == [Operator("J. Doe", "supervisor")]
    s = ok.to_settings()
    assert (s.private_radius_m, s.city_require_incident, s.city_roles) == (
        250,
        True,
        ("supervisor",),
    )


def test_demo_config_cameras_carry_their_tier(demo_loaded: Any) -> None:
    cams = demo_loaded.cameras.values()
    assert {c.sharing for c in cams if c.ownership == "private"} == {"live_during_incident"}
    assert {c.sharing for c in cams if c.ownership == "city"} == {None}
    assert demo_loaded.config.access.to_settings() == AccessSettings()
