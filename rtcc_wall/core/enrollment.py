"""Applying a changed configuration to a running wall: enrollment changes take effect at once.

An owner who revokes a waiver (an administrator edits the config, or runs
``rtcc-wall registry import``) must see the private views of that camera stop
within seconds, not at the next restart. ``apply_enrollment`` updates the live
camera registry in place - the access session reads the same mapping - so the
session's next tick (every second) ends views the new waiver no longer allows.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from rtcc_wall.core.cameras import Camera

#: What a running wall takes over without a restart.
LIVE_FIELDS = ("name", "owner", "waiver", "sharing", "allowed_hours", "masks")


@dataclass
class EnrollmentChange:
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    #: Changes a running wall cannot take over (stream URL, position ...): need a restart.
    needs_restart: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.changed or self.removed or self.added or self.needs_restart)

    def summary(self) -> str:
        parts = []
        if self.changed:
            parts.append(f"updated {', '.join(self.changed)}")
        if self.removed:
            parts.append(f"removed {', '.join(self.removed)}")
        if self.added:
            parts.append(f"new {', '.join(self.added)} (on the map after a restart)")
        if self.needs_restart:
            parts.append(
                f"restart to apply stream/position changes of {', '.join(self.needs_restart)}"
            )
        return "; ".join(parts) or "no camera changed"


def _get(c: Camera, name: str) -> object:
    return getattr(c, name, None)


def apply_enrollment(live: MutableMapping[str, Camera], new: dict[str, Camera]) -> EnrollmentChange:
    """Updates ``live`` in place from a freshly loaded registry; returns what changed."""
    change = EnrollmentChange()
    for cid in list(live):
        if cid not in new:
            del live[cid]
            change.removed.append(cid)
    for cid, cam in new.items():
        old = live.get(cid)
        if old is None:
            live[cid] = cam
            change.added.append(cid)
            continue
        live_diff = any(_get(old, f) != _get(cam, f) for f in LIVE_FIELDS)
        other_diff = any(
            _get(old, f) != _get(cam, f)
            for f in ("stream", "sub_stream", "lon", "lat", "heading_deg", "fov_deg", "range_m")
        )
        if live_diff:
            live[cid] = cam
            change.changed.append(cid)
        if other_diff:
            change.needs_restart.append(cid)
    return change
