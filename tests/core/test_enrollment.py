from __future__ import annotations

import dataclasses

from rtcc_wall.core.cameras import WaiverInfo
from rtcc_wall.core.enrollment import apply_enrollment


def test_apply_enrollment(demo_loaded) -> None:  # type: ignore[no-untyped-def]
    live = dict(demo_loaded.cameras)
    new = dict(demo_loaded.cameras)
    p = new["priv-01"]
    assert p.waiver is not None
    new["priv-01"] = dataclasses.replace(
        p, waiver=WaiverInfo(p.waiver.id, p.waiver.signed, p.waiver.expires, True)
    )
    new["city-01"] = dataclasses.replace(new["city-01"], stream="sim://?fps=5")
    del new["priv-02"]
    change = apply_enrollment(live, new)
    assert change.changed == ["priv-01"]
    assert change.removed == ["priv-02"]
    assert change.needs_restart == ["city-01"]
    assert live["priv-01"].waiver.revoked  # type: ignore[union-attr]
    assert "priv-02" not in live
    assert live["city-01"] is demo_loaded.cameras["city-01"]  # stream changes wait for a restart
    assert apply_enrollment(live, dict(live)).empty


def test_reloaded_masks_apply_to_the_running_wall(demo_loaded) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from rtcc_wall.core.masks import MaskController

    live = dict(demo_loaded.cameras)
    masks = MaskController(live, None)
    now = dt.datetime.now(dt.UTC)
    assert masks.active_masks("priv-03", now) == ()
    new = dict(live)
    poly = (((0.0, 0.0), (0.5, 0.0), (0.5, 0.5)),)
    new["priv-03"] = dataclasses.replace(new["priv-03"], masks=poly)
    assert apply_enrollment(live, new).changed == ["priv-03"]
    assert masks.active_masks("priv-03", now) == poly
