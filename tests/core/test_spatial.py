from __future__ import annotations

import math

import pytest

from rtcc_wall.core.cameras import make_camera
from rtcc_wall.core.geo import LocalProjection, angle_diff, heading_of
from rtcc_wall.core.spatial import CameraIndex

PROJ = LocalProjection(10.0, 50.0)


def cam(cid: str, x: float, y: float, heading: float, fov: float = 60, rng: float = 100):  # type: ignore[no-untyped-def]
    lon, lat = PROJ.to_lonlat(x, y)
    return make_camera(
        id=cid,
        name=cid,
        ownership="city",
        lon=lon,
        lat=lat,
        heading_deg=heading,
        fov_deg=fov,
        range_m=rng,
        stream="sim://",
        projection=PROJ,
    )


def test_projection_roundtrip_and_scale() -> None:
    x, y = PROJ.to_xy(10.01, 50.0)
    assert y == pytest.approx(0.0)
    # 0.01 degree of longitude at 50 N is about 715 m
    assert x == pytest.approx(715.5, abs=1.0)
    lon, lat = PROJ.to_lonlat(x, 123.0)
    assert lon == pytest.approx(10.01)
    assert PROJ.to_xy(lon, lat)[1] == pytest.approx(123.0)


def test_headings() -> None:
    assert heading_of(1, 0) == pytest.approx(90)
    assert heading_of(0, -1) == pytest.approx(180)
    assert angle_diff(350, 10) == pytest.approx(20)


def test_fov_covers() -> None:
    c = cam("a", 0, 0, heading=90, fov=60, rng=100)
    assert c.covers(50, 0)
    assert c.covers(80, 40)  # 26.6 degrees off axis, within 30
    assert not c.covers(50, 50)  # 45 degrees off axis
    assert not c.covers(-50, 0)  # behind
    assert not c.covers(150, 0)  # beyond range


def test_nearby_ranks_covering_first_then_distance() -> None:
    index = CameraIndex(
        [
            cam("near-away", 10, 0, heading=90),  # 10 m, looks away from the point
            cam("far-sees", 0, 80, heading=270),  # looking west... not at point
            cam("sees", -60, 0, heading=270, fov=60),  # looks away
            cam("sees2", 0, -90, heading=0, fov=40),  # 90 m, looks north at the point
            cam("out", 500, 500, heading=0),
        ]
    )
    got = index.nearby(0.0, 0.0, 200)
    ids = [n.camera.id for n in got]
    assert "out" not in ids
    assert ids[0] == "sees2"
    assert got[0].covers_point
    rest = got[1:]
    assert [n.distance_m for n in rest] == sorted(n.distance_m for n in rest)
    assert got[1].camera.id == "near-away"
    assert math.isclose(got[1].distance_m, 10.0, abs_tol=1e-6)


def test_nearby_matches_brute_force() -> None:
    import random

    rnd = random.Random(4)
    cams = [
        cam(f"c{i}", rnd.uniform(-2000, 2000), rnd.uniform(-2000, 2000), rnd.uniform(0, 359))
        for i in range(500)
    ]
    index = CameraIndex(cams)
    for _ in range(20):
        x, y, r = rnd.uniform(-2000, 2000), rnd.uniform(-2000, 2000), rnd.uniform(50, 600)
        want = {c.id for c in cams if math.hypot(c.x - x, c.y - y) <= r}
        assert {n.camera.id for n in index.nearby(x, y, r)} == want


def test_empty_index() -> None:
    assert CameraIndex([]).nearby(0, 0, 100) == []
