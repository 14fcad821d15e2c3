#!/usr/bin/env python3
"""Deterministic generator of the bundled demo town "Riverton".

Writes ``resources/demo/roads.geojson`` (the road network, already split at
every intersection) and the generated camera block of ``config.example.yaml``
(between the ``BEGIN/END GENERATED CAMERAS`` marker lines).

Run without arguments from anywhere::

    python3 resources/demo/generate_demo.py [--out-dir DIR] [--config PATH]

Everything is derived from a fixed seed, coordinates are rounded to 7 decimals
and JSON is written with sorted keys, one feature per line, so that running it
twice gives byte-identical files and a change to the town gives a readable diff.

Geometry is built in local metres (x east, y north) around the site centre with
an equirectangular projection, then converted to WGS84 lon/lat.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import polygonize, substring, unary_union
from shapely.strtree import STRtree

SEED = 20261127
LON0, LAT0 = -90.1848, 32.2988
EARTH_R = 6_371_008.8
KX = math.radians(1.0) * EARTH_R * math.cos(math.radians(LAT0))
KY = math.radians(1.0) * EARTH_R
HALF = 2250.0  # the map is 4.5 km x 4.5 km; roads leaving town end on this square
TOWN_BOX = 2200.0  # neighbourhood streets stay inside this square
NODE_TOL = 2.5  # metres: points closer than this are the same intersection

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BEGIN_MARK = "# --- BEGIN GENERATED CAMERAS (resources/demo/generate_demo.py) ---"
END_MARK = "# --- END GENERATED CAMERAS ---"

MOTORWAY_CLASSES = frozenset({"motorway", "motorway_link"})
CLASS_ORDER = (
    "motorway",
    "motorway_link",
    "primary",
    "secondary",
    "tertiary",
    "residential",
    "service",
)

XY = tuple[float, float]

# Downtown grid: N-S streets (x) and E-W streets (y), metres.
DT_X = (-475.0, -365.0, -255.0, -145.0, -35.0, 75.0, 185.0, 295.0, 405.0, 515.0)
DT_X_NAMES = (
    "Farish St",
    "Lamar St",
    "West St",
    "State St",  # one-way southbound
    "Commerce St",  # one-way northbound
    "Main St",  # primary arterial, built with the arterials
    "President St",
    "Congress St",
    "Mill St",
    "Gallatin St",
)
DT_Y = (-387.0, -282.0, -177.0, -72.0, 33.0, 138.0, 243.0, 348.0, 453.0)
DT_Y_NAMES = (
    "1st Ave",
    "2nd Ave",  # one-way eastbound
    "3rd Ave",  # one-way westbound
    "4th Ave",
    "Capitol St",  # primary arterial, built with the arterials
    "5th Ave",
    "6th Ave",
    "7th Ave",
    "8th Ave",
)
DT_BOX = (DT_X[0], DT_Y[0], DT_X[-1], DT_Y[-1])
# one-way streets: name -> +1 (coordinates in increasing x/y) or -1
DT_ONEWAY = {"Commerce St": +1, "State St": -1, "2nd Ave": +1, "3rd Ave": -1}

# Interchanges of I-55 (y of the crossing arterial) and ramp length along the motorway.
INTERCHANGE_Y = {"McDowell Rd": -1500.0, "Capitol St": 33.0, "Woodrow Wilson Ave": 1300.0}
RAMP_LEN = 380.0
RAMP_OFFSET = 100.0  # ramp terminals are this far either side of the motorway centre
CARRIAGEWAY_HALF_GAP = 15.0

NAME_BASES = (
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Magnolia",
    "Dogwood",
    "Willow",
    "Hickory",
    "Pecan",
    "Cypress",
    "Birch",
    "Laurel",
    "Holly",
    "Aspen",
    "Sycamore",
    "Poplar",
    "Chestnut",
    "Walnut",
    "Juniper",
    "Myrtle",
    "Azalea",
    "Camellia",
    "Jasmine",
    "Sweetgum",
    "Redbud",
    "Cardinal",
    "Mockingbird",
    "Bluebird",
    "Robin",
    "Wren",
    "Heron",
    "Sparrow",
    "Dove",
    "Hawk",
    "Falcon",
    "Quail",
    "Lincoln",
    "Madison",
    "Monroe",
    "Adams",
    "Hamilton",
    "Franklin",
    "Grant",
    "Hayes",
    "Tyler",
    "Polk",
    "Pierce",
    "Fillmore",
    "Taylor",
    "Harrison",
    "Hillcrest",
    "Ridgewood",
    "Briarwood",
    "Fairview",
    "Lakeview",
    "Meadowbrook",
    "Brookside",
    "Glenwood",
    "Kingston",
    "Canterbury",
    "Windsor",
    "Oxford",
    "Cambridge",
    "Belmont",
    "Claremont",
    "Edgewood",
    "Forest",
    "Highland",
    "Riverbend",
    "Sunset",
    "Sunrise",
    "Shady",
    "Spring",
    "Summit",
    "Valley",
    "Willowbrook",
    "Cherry",
    "Peach",
    "Plum",
    "Orchard",
    "Meadow",
    "Prairie",
    "Bayou",
    "Cotton",
    "Belhaven",
    "Fondren",
    "Eastover",
    "Woodland",
    "Old Mill",
    "Ashford",
    "Bellwood",
    "Crestview",
    "Timberlane",
    "Foxhall",
    "Deerfield",
    "Stonegate",
    "Whitfield",
    "Cole",
    "Bradford",
    "Lanier",
    "Rosewood",
    "Greenway",
    "Wildwood",
    "Hollyhock",
    "Bramble",
    "Sage",
    "Clover",
)
STRAIGHT_SUFFIXES = ("St", "Ave", "Dr", "Ln", "Rd")
CURVY_SUFFIXES = ("Dr", "Ln", "Way", "Trl", "Cir")
COURT_SUFFIXES = ("Ct", "Cv", "Pl")
INDUSTRIAL_NAMES = (
    "Warehouse Rd",
    "Distribution Dr",
    "Foundry St",
    "Depot Rd",
    "Freight Ln",
    "Mill Yard Rd",
    "Commerce Park Dr",
    "Industrial Pkwy",
    "Lumber Ln",
    "Quarry Rd",
)


# --------------------------------------------------------------------------- geometry


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    return (round(LON0 + x / KX, 7), round(LAT0 + y / KY, 7))


def to_xy(lon: float, lat: float) -> XY:
    return ((lon - LON0) * KX, (lat - LAT0) * KY)


def heading_of(dx: float, dy: float) -> float:
    """Compass heading (0 = north, 90 = east) of a local vector, in [0, 360)."""
    h = round(math.degrees(math.atan2(dx, dy)) % 360.0, 1)
    return 0.0 if h >= 360.0 else h


def unit(dx: float, dy: float) -> XY:
    n = math.hypot(dx, dy)
    return (dx / n, dy / n)


def catmull_rom(ctrl: Sequence[XY], step: float = 20.0) -> list[XY]:
    """Smooth polyline through every control point (uniform Catmull-Rom).

    Four collinear control points give an exactly straight span between the
    middle two, which is how arterials get straight stretches at interchanges.
    """
    ext = [ctrl[0], *ctrl, ctrl[-1]]
    out: list[XY] = [ctrl[0]]
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        n = max(1, math.ceil(math.dist(p1, p2) / step))
        for k in range(1, n + 1):
            t = k / n
            t2, t3 = t * t, t * t * t
            out.append(
                tuple(  # type: ignore[arg-type]
                    0.5
                    * (
                        2 * p1[c]
                        + (-p0[c] + p2[c]) * t
                        + (2 * p0[c] - 5 * p1[c] + 4 * p2[c] - p3[c]) * t2
                        + (-p0[c] + 3 * p1[c] - 3 * p2[c] + p3[c]) * t3
                    )
                    for c in (0, 1)
                )
            )
    return out


def join(*parts: Sequence[XY]) -> list[XY]:
    """Concatenate polylines that share their end/start points."""
    out: list[XY] = list(parts[0])
    for p in parts[1:]:
        out.extend(p[1:] if math.dist(out[-1], p[0]) < 1e-6 else p)
    return out


def lines_of(g: BaseGeometry) -> list[LineString]:
    if g.is_empty:
        return []
    if isinstance(g, LineString):
        return [g]
    if hasattr(g, "geoms"):
        return [ln for sub in g.geoms for ln in lines_of(sub)]
    return []


def polygons_of(g: BaseGeometry) -> list[Polygon]:
    if g.is_empty:
        return []
    if isinstance(g, Polygon):
        return [g]
    if hasattr(g, "geoms"):
        return [p for sub in g.geoms for p in polygons_of(sub)]
    return []


def points_of(g: BaseGeometry) -> list[Point]:
    if g.is_empty:
        return []
    if isinstance(g, Point):
        return [g]
    if isinstance(g, LineString):
        raise ValueError(f"roads overlap along a line near {g.coords[0]}")
    if hasattr(g, "geoms"):
        return [p for sub in g.geoms for p in points_of(sub)]
    return []


def tangent_at(line: LineString, d: float) -> XY:
    a = line.interpolate(max(0.0, d - 4.0))
    b = line.interpolate(min(line.length, d + 4.0))
    return unit(b.x - a.x, b.y - a.y)


def trim_between(pts: Sequence[XY], a: LineString | None, b: LineString | None) -> list[XY]:
    """The part of a rough polyline between its crossings with ``a`` and ``b``."""
    line = LineString(pts)
    d0 = line.project(points_of(line.intersection(a))[0]) if a is not None else 0.0
    d1 = line.project(points_of(line.intersection(b))[0]) if b is not None else line.length
    return list(substring(line, min(d0, d1), max(d0, d1)).coords)


def motorway_x(y: float) -> float:
    """Centre line of I-55, which runs north-south along the east side of town."""
    return 1680.0 + 70.0 * math.sin(y / 1300.0)


# --------------------------------------------------------------------------- model


@dataclass
class Way:
    coords: list[XY]
    highway: str
    name: str
    maxspeed: str
    oneway: bool = False

    @property
    def bridged(self) -> bool:
        """Motorway lines cross other roads on bridges unless they end on them."""
        return self.highway in MOTORWAY_CLASSES

    def props(self) -> tuple[str, str, str, str]:
        return (self.highway, self.name, self.maxspeed, "yes" if self.oneway else "no")


@dataclass
class Segment:
    a: int
    b: int
    coords: list[tuple[float, float]]  # lon/lat, rounded
    props: tuple[str, str, str, str]  # highway, name, maxspeed, oneway

    def xy(self) -> list[XY]:
        return [to_xy(lon, lat) for lon, lat in self.coords]


@dataclass
class Camera:
    id: str
    name: str
    ownership: str
    xy: XY
    heading: float
    fov: int
    range_m: int
    owner: tuple[str, str] | None = None
    waiver: tuple[str, str, str] | None = None


@dataclass
class Town:
    rng: random.Random
    ways: list[Way] = field(default_factory=list)
    named: dict[str, LineString] = field(default_factory=dict)  # arterial name -> metres
    used_names: set[str] = field(default_factory=set)
    aligned_names: dict[tuple[str, int], str] = field(default_factory=dict)
    industrial_streets: int = 0

    def add(self, way: Way) -> Way:
        self.ways.append(way)
        self.used_names.add(way.name)
        return way

    def add_road(
        self, name: str, highway: str, sections: Iterable[tuple[Sequence[XY], str]]
    ) -> LineString:
        """A named two-way road made of sections with their own speed limits."""
        allpts: list[XY] = []
        for pts, speed in sections:
            self.add(Way(list(pts), highway, name, speed))
            allpts = join(allpts, pts) if allpts else list(pts)
        line = LineString(allpts)
        self.named[name] = line
        return line

    def fresh_name(self, suffixes: Sequence[str]) -> str:
        for _ in range(60):
            name = f"{self.rng.choice(NAME_BASES)} {self.rng.choice(suffixes)}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        for prefix in ("N", "S", "E", "W", "Old", "New"):
            name = f"{prefix} {self.rng.choice(NAME_BASES)} {self.rng.choice(suffixes)}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        raise RuntimeError("ran out of street names")


# --------------------------------------------------------------------------- features


def build_arterials(town: Town) -> None:
    """Primary/secondary arterials crossing the town, and tertiary collectors."""
    h = HALF
    wx = {k: motorway_x(v) for k, v in INTERCHANGE_Y.items()}
    x0, y0, x1, y1 = DT_BOX
    # Main St: south edge -> downtown -> north edge (primary)
    town.add_road(
        "Main St",
        "primary",
        [
            (catmull_rom([(-230, -h), (-120, -1700), (40, -1150), (75, -800), (75, y0)]), "45 mph"),
            ([(75, y0), (75, y1)], "35 mph"),
            (catmull_rom([(75, y1), (75, 800), (150, 1400), (230, 1900), (300, h)]), "45 mph"),
        ],
    )
    # Capitol St: west edge over the river -> downtown -> I-55 -> east edge (primary)
    cy = INTERCHANGE_Y["Capitol St"]
    town.add_road(
        "Capitol St",
        "primary",
        [
            (
                catmull_rom([(-h, -90), (-1800, -30), (-1300, 45), (-800, cy), (x0, cy)]),
                "45 mph",
            ),
            ([(x0, cy), (x1, cy)], "35 mph"),
            ([(x1, cy), (wx["Capitol St"], cy), (h, cy)], "45 mph"),
        ],
    )
    wy = INTERCHANGE_Y["Woodrow Wilson Ave"]
    town.add_road(
        "Woodrow Wilson Ave",
        "secondary",
        [
            (
                catmull_rom(
                    [
                        (-h, 1180),
                        (-1700, 1240),
                        (-1150, 1300),
                        (-500, 1335),
                        (200, wy),
                        (900, wy),
                        (1300, wy),
                        (h, wy),
                    ]
                ),
                "40 mph",
            )
        ],
    )
    ellis = town.add_road(
        "Ellis Ave",
        "secondary",
        [
            (
                catmull_rom(
                    [
                        (-1050, -h),
                        (-1120, -1600),
                        (-1170, -800),
                        (-1150, 0),
                        (-1100, 800),
                        (-1150, 1600),
                        (-1250, h),
                    ]
                ),
                "40 mph",
            )
        ],
    )
    my = INTERCHANGE_Y["McDowell Rd"]
    mcd = trim_between(
        catmull_rom(
            [(-1300, -1520), (-600, -1540), (0, -1480), (500, my), (800, my), (1300, my), (h, my)]
        ),
        ellis,
        None,
    )
    town.add_road("McDowell Rd", "secondary", [(mcd, "40 mph")])
    town.add_road(
        "Raymond Rd",
        "secondary",
        [
            (
                catmull_rom([(x0, y0), (-800, -700), (-1150, -1000), (-1600, -1250), (-h, -1500)]),
                "40 mph",
            )
        ],
    )
    canton = town.add_road(
        "Canton Rd",
        "secondary",
        [
            (
                catmull_rom(
                    [(x1, y1), (750, 800), (1000, 1150), (1150, 1500), (1300, 1900), (1420, h)]
                ),
                "40 mph",
            )
        ],
    )
    # tertiary collectors
    northside = LineString(
        catmull_rom([(-1400, 2000), (-600, 2030), (0, 1990), (700, 2010), (1500, 2000)])
    )
    town.add_road(
        "Northside Dr", "tertiary", [(trim_between(northside.coords, ellis, canton), "30 mph")]
    )
    north = town.named["Northside Dr"]
    bailey = catmull_rom([(-600, -100), (-600, 400), (-640, 1000), (-590, 1600), (-600, 2200)])
    town.add_road(
        "Bailey Ave",
        "tertiary",
        [(trim_between(bailey, town.named["Capitol St"], north), "30 mph")],
    )
    fort = catmull_rom([(-1300, 800), (-700, 790), (0, 820), (600, 800), (1000, 790)])
    town.add_road(
        "Fortification St",
        "tertiary",
        [(trim_between(fort, ellis, canton), "30 mph")],
    )
    town.add_road("Jefferson St", "tertiary", [([(900, my), (900, wy)], "30 mph")])
    town.add_road("Industrial Blvd", "tertiary", [([(2030, my), (2030, cy), (2030, wy)], "30 mph")])
    # Gallatin St and Farish St continue the east and west edges of the downtown grid
    gallatin = trim_between([(x1, y0), (x1, -1700)], None, town.named["McDowell Rd"])
    town.add_road("Gallatin St", "tertiary", [(gallatin, "30 mph")])
    farish = trim_between([(x0, y1), (x0, 1500)], None, town.named["Woodrow Wilson Ave"])
    town.add_road("Farish St", "tertiary", [(farish, "30 mph")])
    terry = catmull_rom([(-540, -300), (-600, -900), (-650, -1400), (-600, -1900), (-560, -h)])
    town.add_road(
        "Terry Rd",
        "tertiary",
        [(trim_between(terry, town.named["Raymond Rd"], None), "30 mph")],
    )


def build_downtown(town: Town) -> None:
    """The ~1 km downtown grid with two one-way pairs, alleys and parking lots."""
    x0, y0, x1, y1 = DT_BOX
    for x, name in zip(DT_X, DT_X_NAMES, strict=True):
        if name == "Main St":
            continue
        hw = "tertiary" if name in DT_ONEWAY or x in (x0, x1) else "residential"
        pts: list[XY] = [(x, y) for y in DT_Y]
        oneway = name in DT_ONEWAY
        if DT_ONEWAY.get(name) == -1:
            pts.reverse()
        town.add(Way(pts, hw, name, "25 mph", oneway))
    for y, name in zip(DT_Y, DT_Y_NAMES, strict=True):
        if name == "Capitol St":
            continue
        hw = "tertiary" if name in DT_ONEWAY or y in (y0, y1) else "residential"
        pts = [(x, y) for x in DT_X]
        oneway = name in DT_ONEWAY
        if DT_ONEWAY.get(name) == -1:
            pts.reverse()
        town.add(Way(pts, hw, name, "25 mph", oneway))
    rng = town.rng
    for i in range(len(DT_X) - 1):
        for j in range(len(DT_Y) - 1):
            xa, xb = DT_X[i], DT_X[i + 1]
            ya, yb = DT_Y[j], DT_Y[j + 1]
            r = rng.random()
            if r < 0.35:  # an alley through the block, east-west
                ym = round((ya + yb) / 2 + rng.uniform(-8, 8), 1)
                town.add(Way([(xa, ym), (xb, ym)], "service", "", "15 mph"))
            elif r < 0.6:  # a parking lot entrance from the south or north side
                xm = round(xa + (xb - xa) * rng.uniform(0.35, 0.65), 1)
                depth = rng.uniform(30, 42)
                if rng.random() < 0.5:
                    town.add(Way([(xm, ya), (xm, ya + depth)], "service", "", "15 mph"))
                else:
                    town.add(Way([(xm, yb), (xm, yb - depth)], "service", "", "15 mph"))


def build_motorway(town: Town) -> None:
    """I-55: two one-way carriageways with diamond interchanges at three arterials."""
    h = HALF
    g = CARRIAGEWAY_HALF_GAP
    ys = {round(-h + 50.0 * k, 6) for k in range(int(2 * h / 50) + 1)}
    for ya in INTERCHANGE_Y.values():
        ys |= {ya - RAMP_LEN, ya + RAMP_LEN}
    ys_sorted = sorted(ys)
    nb = [(motorway_x(y) + g, y) for y in ys_sorted]
    sb = [(motorway_x(y) - g, y) for y in reversed(ys_sorted)]
    town.add(Way(nb, "motorway", "I-55", "70 mph", True))
    town.add(Way(sb, "motorway", "I-55", "70 mph", True))
    town.named["I-55 northbound"] = LineString(nb)
    town.named["I-55 southbound"] = LineString(sb)

    def ramp(y_from: float, y_to: float, side: float, leaving: bool) -> list[XY]:
        """Ramp between a carriageway (side = +1 east, -1 west) and the arterial at y_to."""
        pts = []
        for k in range(17):
            t = k / 16
            y = y_from + (y_to - y_from) * t
            ease = (1 - math.cos(math.pi * t)) / 2
            x = motorway_x(y) + side * (g + (RAMP_OFFSET - g) * ease)
            pts.append((x, y))
        return pts if leaving else pts[::-1]

    for road, ya in INTERCHANGE_Y.items():
        # NB carriageway is on the east side (right-hand traffic)
        ramps = {
            f"I-55 NB off-ramp to {road}": ramp(ya - RAMP_LEN, ya, +1, True),
            f"I-55 NB on-ramp from {road}": ramp(ya + RAMP_LEN, ya, +1, False),
            f"I-55 SB off-ramp to {road}": ramp(ya + RAMP_LEN, ya, -1, True),
            f"I-55 SB on-ramp from {road}": ramp(ya - RAMP_LEN, ya, -1, False),
        }
        for name, pts in ramps.items():
            town.add(Way(pts, "motorway_link", name, "40 mph", True))
            town.named[name] = LineString(pts)
    # Beyond the map edges the carriageways are joined, so that simulated traffic
    # leaving town on I-55 comes back on the other carriageway.
    for end in (+1, -1):
        y = end * h
        xm = motorway_x(y)
        arc = [
            (xm + g * math.cos(math.pi * k / 8), y + end * g * math.sin(math.pi * k / 8))
            for k in range(9)
        ]
        if end < 0:
            arc.reverse()
        town.add(Way(arc, "motorway_link", "I-55 turnaround (off map)", "35 mph", True))


def town_limits(rng: random.Random) -> Polygon:
    """Irregular outline of the built-up area; the corners of the map stay rural."""
    pts = []
    p1, p2 = rng.uniform(0, 6.28), rng.uniform(0, 6.28)
    for k in range(72):
        a = 2 * math.pi * k / 72
        r = 2050 + 260 * math.sin(3 * a + p1) + 140 * math.cos(5 * a + p2)
        pts.append((r * math.cos(a), r * math.sin(a)))
    return Polygon(pts)


def exclusions() -> BaseGeometry:
    """Areas without neighbourhood streets: river, parks, golf course, I-55 corridor."""
    river = LineString(
        [(-1750 + 220 * math.sin(y / 650 + 1.0), y) for y in range(-2400, 2401, 25)]
    ).buffer(75)
    corridor = LineString([(motorway_x(y), y) for y in range(-2400, 2401, 25)]).buffer(140)
    park = box(-1060, 1450, -730, 1820)
    golf = affinity.scale(Point(1200, -800).buffer(1.0), 230, 330)
    school = box(-330, -1080, -60, -880)
    cemetery = box(300, 1500, 560, 1720)
    return unary_union([river, corridor, park, golf, school, cemetery])


def _overshoot(coords: Sequence[XY], by: float = 1.0) -> list[XY]:
    """Extend both ends a little so that T-junctions are noded despite rounding."""
    (ax, ay), (bx, by_) = coords[0], coords[1]
    (cx, cy), (dx, dy) = coords[-2], coords[-1]
    u0 = unit(ax - bx, ay - by_)
    u1 = unit(dx - cx, dy - cy)
    return [(ax + by * u0[0], ay + by * u0[1]), *coords[1:-1], (dx + by * u1[0], dy + by * u1[1])]


def _raw_faces(town: Town) -> list[Polygon]:
    """Areas enclosed by the roads built so far (downtown blocks excluded)."""
    lines = [
        LineString(_overshoot(w.coords))
        for w in town.ways
        if not w.bridged and w.highway != "service"
    ]
    lines.append(LineString([(motorway_x(y), y) for y in range(-2400, 2401, 25)]))
    lines.append(box(-TOWN_BOX, -TOWN_BOX, TOWN_BOX, TOWN_BOX).exterior)
    faces = list(polygonize(unary_union(lines)))
    faces.sort(key=lambda f: (round(f.centroid.y, 1), round(f.centroid.x, 1)))
    dt = box(*DT_BOX)
    return [f for f in faces if not dt.contains(f.representative_point())]


def build_collectors(town: Town, min_area: float) -> None:
    """Split big areas between arterials with gently winding tertiary collectors."""
    rng = town.rng
    corridor = LineString([(motorway_x(y), y) for y in range(-2400, 2401, 25)]).buffer(140)
    for face in _raw_faces(town):
        c = face.representative_point()
        if face.area < min_area or c.x > motorway_x(c.y):
            continue
        a = _face_angle(face) + math.pi / 2 + math.radians(rng.uniform(-12, 12))
        u, n = (math.cos(a), math.sin(a)), (-math.sin(a), math.cos(a))
        size = math.dist(face.bounds[:2], face.bounds[2:])
        ctrl = []
        for s in (-size, -size / 3, 0.0, size / 3, size):
            off = rng.uniform(-45, 45) if abs(s) < size else 0.0
            ctrl.append((c.x + s * u[0] + off * n[0], c.y + s * u[1] + off * n[1]))
        line = LineString(catmull_rom(ctrl, 25.0))
        pieces = lines_of(shapely.line_merge(line.intersection(face.difference(corridor))))
        pieces = [p for p in pieces if p.length > 250]
        if not pieces:
            continue
        piece = min(pieces, key=lambda p: p.distance(c))
        name = town.fresh_name(("Rd", "Dr", "Pkwy"))
        town.add(Way(list(piece.coords), "tertiary", name, "30 mph"))


def framework_faces(town: Town) -> list[Polygon]:
    """Blocks enclosed by arterials/collectors, minus the excluded areas."""
    keep_out = exclusions()
    limits = town_limits(town.rng)
    out: list[Polygon] = []
    for f in _raw_faces(town):
        for part in polygons_of(f.intersection(limits).difference(keep_out)):
            if part.area > 25_000:
                out.append(part)
    return out


def _clip(lines: Iterable[LineString], face: Polygon, inner: BaseGeometry) -> list[LineString]:
    """Clip pattern lines to a block; drop pieces hugging the block's edge."""
    out = []
    for ln in lines:
        for piece in lines_of(shapely.line_merge(ln.intersection(face))):
            if piece.length >= 35 and piece.intersection(inner).length >= 15:
                out.append(piece)
    return out


def _blocks(piece: LineString, cutters: Sequence[LineString]) -> list[LineString]:
    ds = sorted(
        piece.project(p)
        for c in cutters
        if piece.distance(c) < 1e-6
        for p in points_of(piece.intersection(c))
    )
    cuts = [0.0] + [d for d in ds if 1.0 < d < piece.length - 1.0] + [piece.length]
    return [substring(piece, a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b - a > 1.0]


def _family(
    o: XY,
    angle: float,
    spacing: float,
    face: Polygon,
    jitter: float,
    rng: random.Random,
    wave: tuple[float, float, float] | None = None,
) -> list[tuple[int, LineString]]:
    """Parallel lines (direction ``angle``) spaced ``spacing`` apart across ``face``.

    ``wave`` = (amplitude, wavelength, phase) makes them sinuous. Returns
    (index, line) where index counts lines from ``o``, for consistent names.
    """
    u = (math.cos(angle), math.sin(angle))
    n = (-u[1], u[0])
    corners = face.envelope.exterior.coords
    ss = [(cx - o[0]) * u[0] + (cy - o[1]) * u[1] for cx, cy in corners]
    ts = [(cx - o[0]) * n[0] + (cy - o[1]) * n[1] for cx, cy in corners]
    out = []
    for k in range(math.ceil(min(ts) / spacing), math.floor(max(ts) / spacing) + 1):
        t0 = k * spacing + (rng.uniform(-jitter, jitter) if jitter else 0.0)
        s_lo, s_hi = min(ss) - 20, max(ss) + 20
        if wave is None:
            svals = [s_lo, s_hi]
        else:
            svals = [s_lo + i * 15.0 for i in range(int((s_hi - s_lo) / 15.0) + 2)]
        pts = []
        for s in svals:
            t = t0
            if wave is not None:
                amp, lam, ph = wave
                t += amp * math.sin(2 * math.pi * s / lam + ph + 0.5 * math.sin(k))
            pts.append((o[0] + s * u[0] + t * n[0], o[1] + s * u[1] + t * n[1]))
        out.append((k, LineString(pts)))
    return out


def _face_angle(face: Polygon) -> float:
    rect = face.minimum_rotated_rectangle.exterior.coords
    e1 = (rect[1][0] - rect[0][0], rect[1][1] - rect[0][1])
    e2 = (rect[2][0] - rect[1][0], rect[2][1] - rect[1][1])
    e = e1 if math.hypot(*e1) >= math.hypot(*e2) else e2
    return math.atan2(e[1], e[0]) % math.pi


def build_neighbourhoods(town: Town) -> None:
    """Residential streets filling the blocks between arterials."""
    rng = town.rng
    for face in framework_faces(town):
        c = face.centroid
        inner = face.buffer(-28)
        if inner.is_empty:
            continue
        if c.x > motorway_x(c.y):
            _industrial(town, face, inner)
        elif abs(c.x - 20) < 800 and abs(c.y - 33) < 800:
            _aligned_grid(town, face, inner)
        else:
            kind = rng.choice(("grid", "grid", "curvy", "curvy", "suburb"))
            angle = _face_angle(face) + math.radians(rng.uniform(-15, 15))
            if kind == "grid":
                _grid(town, face, inner, angle)
            else:
                _curvy(town, face, inner, angle, courts=0.45 if kind == "curvy" else 0.8)


def _emit_blocks(
    town: Town,
    pieces: Sequence[tuple[str, LineString]],
    cutters: Sequence[LineString],
    p_drop: float,
    p_stub: float,
    highway: str = "residential",
    speed: str = "25 mph",
) -> list[LineString]:
    rng = town.rng
    kept = []
    for name, piece in pieces:
        for blk in _blocks(piece, cutters):
            r = rng.random()
            if r < p_drop:
                continue
            if r < p_drop + p_stub and blk.length > 70:
                f = rng.uniform(0.4, 0.6)
                if rng.random() < 0.5:
                    blk = substring(blk, 0.0, f * blk.length)
                else:
                    blk = substring(blk, (1 - f) * blk.length, blk.length)
            town.add(Way(list(blk.coords), highway, name, speed))
            kept.append(blk)
    return kept


def _aligned_grid(town: Town, face: Polygon, inner: BaseGeometry) -> None:
    """Old neighbourhoods next to downtown continue its grid and street names."""
    o = (DT_X[5], DT_Y[4])
    ew = _family(o, 0.0, DT_Y[1] - DT_Y[0], face, 0.0, town.rng)
    ns = _family(o, math.pi / 2, DT_X[1] - DT_X[0], face, 0.0, town.rng)
    ew_p = [(_aligned_name(town, "ew", k), p) for k, ln in ew for p in _clip([ln], face, inner)]
    ns_p = [(_aligned_name(town, "ns", -k), p) for k, ln in ns for p in _clip([ln], face, inner)]
    _emit_blocks(town, ew_p, [p for _, p in ns_p], 0.03, 0.05)
    _emit_blocks(town, ns_p, [p for _, p in ew_p], 0.05, 0.07)


def _aligned_name(town: Town, fam: str, k: int) -> str:
    key = (fam, k)
    if key not in town.aligned_names:
        if fam == "ew" and -4 <= k <= 4:
            name = DT_Y_NAMES[k + 4]
        elif fam == "ew" and k > 4:
            n = k + 4
            suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10 if n not in (11, 12, 13) else 0, "th")
            name = f"{n}{suffix} Ave"
        elif fam == "ns" and -5 <= k <= 4:
            name = DT_X_NAMES[k + 5]
        else:
            name = town.fresh_name(STRAIGHT_SUFFIXES)
        # the downtown one-way streets become two-way outside downtown
        town.aligned_names[key] = name
    return town.aligned_names[key]


def _grid(town: Town, face: Polygon, inner: BaseGeometry, angle: float) -> None:
    rng = town.rng
    sy = rng.uniform(75, 105)
    sx = rng.uniform(100, 150)
    o = (face.centroid.x + rng.uniform(-40, 40), face.centroid.y + rng.uniform(-40, 40))
    a = _family(o, angle, sy, face, 12.0, rng)
    b = _family(o, angle + math.pi / 2, sx, face, 18.0, rng)
    a_p = [(town.fresh_name(STRAIGHT_SUFFIXES), p) for _, ln in a for p in _clip([ln], face, inner)]
    b_p = [(town.fresh_name(STRAIGHT_SUFFIXES), p) for _, ln in b for p in _clip([ln], face, inner)]
    _emit_blocks(town, a_p, [p for _, p in b_p], 0.04, 0.06)
    _emit_blocks(town, b_p, [p for _, p in a_p], 0.08, 0.10)


def _curvy(town: Town, face: Polygon, inner: BaseGeometry, angle: float, courts: float) -> None:
    """Winding suburban streets, straight connectors and cul-de-sacs (courts)."""
    rng = town.rng
    sy = rng.uniform(85, 110)
    sx = rng.uniform(180, 280)
    wave = (rng.uniform(8, 22), rng.uniform(380, 700), rng.uniform(0, 6.28))
    o = (face.centroid.x, face.centroid.y)
    a = _family(o, angle, sy, face, 0.0, rng, wave)
    b = _family(o, angle + math.pi / 2, sx, face, 25.0, rng)
    a_p = [(town.fresh_name(CURVY_SUFFIXES), p) for _, ln in a for p in _clip([ln], face, inner)]
    b_p = [(town.fresh_name(STRAIGHT_SUFFIXES), p) for _, ln in b for p in _clip([ln], face, inner)]
    kept_a = _emit_blocks(town, a_p, [p for _, p in b_p], 0.02, 0.0)
    _emit_blocks(town, b_p, [p for _, p in a_p], 0.15, 0.05)
    safe = face.buffer(-12)
    for blk in kept_a:
        if blk.length < 150 or rng.random() > courts:
            continue
        d = blk.length * rng.uniform(0.4, 0.6)
        p = blk.interpolate(d)
        tx, ty = tangent_at(blk, d)
        side = rng.choice((-1.0, 1.0))
        ln = sy * rng.uniform(0.33, 0.42)
        end = (p.x - side * ty * ln, p.y + side * tx * ln)
        court = LineString([(p.x, p.y), end])
        if safe.contains(court):
            town.add(
                Way(list(court.coords), "residential", town.fresh_name(COURT_SUFFIXES), "25 mph")
            )


def _industrial(town: Town, face: Polygon, inner: BaseGeometry) -> None:
    """Warehouses east of I-55: dead-end streets off Industrial Blvd, loading lots."""
    rng = town.rng
    o = (face.centroid.x, face.centroid.y)
    pieces = []
    for _, ln in _family(o, 0.0, rng.uniform(130, 170), face, 15.0, rng):
        name = INDUSTRIAL_NAMES[town.industrial_streets % len(INDUSTRIAL_NAMES)]
        town.industrial_streets += 1
        pieces += [(name, p) for p in _clip([ln], face, inner)]
    kept = _emit_blocks(town, pieces, [], 0.0, 0.0, "residential", "25 mph")
    safe = face.buffer(-10)
    for blk in kept:
        for f in (0.3, 0.7):
            if blk.length < 100:
                continue
            p = blk.interpolate(blk.length * f)
            tx, ty = tangent_at(blk, blk.length * f)
            side = rng.choice((-1.0, 1.0))
            stub = LineString([(p.x, p.y), (p.x - side * ty * 50, p.y + side * tx * 50)])
            if safe.contains(stub):
                town.add(Way(list(stub.coords), "service", "", "15 mph"))


# --------------------------------------------------------------------------- noding


class NodeRegistry:
    """Snaps points closer than ``tol`` to one node with one exact coordinate."""

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.xy: list[XY] = []
        self.lonlat: list[tuple[float, float]] = []
        self.cells: dict[tuple[int, int], list[int]] = {}

    def get(self, x: float, y: float) -> int:
        cx, cy = math.floor(x / self.tol), math.floor(y / self.tol)
        best, best_d = -1, self.tol
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for nid in self.cells.get((cx + dx, cy + dy), ()):
                    d = math.dist(self.xy[nid], (x, y))
                    if d <= best_d:
                        best, best_d = nid, d
        if best >= 0:
            return best
        nid = len(self.xy)
        self.xy.append((x, y))
        self.lonlat.append(to_lonlat(x, y))
        self.cells.setdefault((cx, cy), []).append(nid)
        return nid


def node_network(ways: Sequence[Way]) -> list[Segment]:
    """Split every way at every junction so that roads only meet at shared endpoints."""
    lines = [LineString(w.coords) for w in ways]
    tree = STRtree(lines)
    reg = NodeRegistry(NODE_TOL)
    splits: list[list[tuple[float, int]]] = [[] for _ in ways]
    for i, ln in enumerate(lines):
        splits[i].append((0.0, reg.get(*ln.coords[0])))
        splits[i].append((ln.length, reg.get(*ln.coords[-1])))
    # T-junctions: a way ending on another way (ramps end on arterials, too)
    for i, ln in enumerate(lines):
        for end in (ln.coords[0], ln.coords[-1]):
            pt = Point(end)
            for j in tree.query(pt, predicate="dwithin", distance=NODE_TOL):
                if j != i:
                    splits[j].append((lines[j].project(pt), reg.get(*end)))
    # crossings (motorway lines pass over other roads on bridges)
    left, right = tree.query(lines, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j or ways[i].bridged or ways[j].bridged:
            continue
        for p in points_of(lines[i].intersection(lines[j])):
            nid = reg.get(p.x, p.y)
            splits[i].append((lines[i].project(p), nid))
            splits[j].append((lines[j].project(p), nid))
    segments = []
    for i, w in enumerate(ways):
        coords = list(lines[i].coords)
        cum = [0.0]
        for a, b in zip(coords, coords[1:], strict=False):
            cum.append(cum[-1] + math.dist(a, b))
        stops: list[tuple[float, int]] = []
        for d, nid in sorted(splits[i]):
            if stops and (nid == stops[-1][1] or d - stops[-1][0] < 0.05):
                continue
            stops.append((d, nid))
        if stops[-1][1] != reg.get(*coords[-1]):  # closed ring or a dropped end
            stops[-1] = (cum[-1], reg.get(*coords[-1]))
        for (da, na), (db, nb) in zip(stops, stops[1:], strict=False):
            inner = [
                coords[k]
                for k in range(len(coords))
                if da < cum[k] < db
                and math.dist(coords[k], reg.xy[na]) > 2 * NODE_TOL
                and math.dist(coords[k], reg.xy[nb]) > 2 * NODE_TOL
            ]
            ll = [reg.lonlat[na]] + [to_lonlat(*p) for p in inner] + [reg.lonlat[nb]]
            dedup = [ll[0]] + [p for p, q in zip(ll[1:], ll, strict=False) if p != q]
            if len(dedup) >= 2 and na != nb:
                segments.append(Segment(na, nb, dedup, w.props()))
    return segments


def _length(seg: Segment) -> float:
    return LineString(seg.xy()).length


def _on_map_edge(lonlat: tuple[float, float]) -> bool:
    x, y = to_xy(*lonlat)
    return max(abs(x), abs(y)) > HALF - 1.0


def strongly_connected(n_nodes: int, segs: Sequence[Segment]) -> list[int]:
    """Component id of every node (iterative Kosaraju)."""
    fwd: list[list[int]] = [[] for _ in range(n_nodes)]
    bwd: list[list[int]] = [[] for _ in range(n_nodes)]
    for s in segs:
        fwd[s.a].append(s.b)
        bwd[s.b].append(s.a)
        if s.props[3] == "no":
            fwd[s.b].append(s.a)
            bwd[s.a].append(s.b)
    order: list[int] = []
    seen = [False] * n_nodes
    for root in range(n_nodes):
        if seen[root]:
            continue
        seen[root] = True
        stack = [(root, 0)]
        while stack:
            v, k = stack.pop()
            if k < len(fwd[v]):
                stack.append((v, k + 1))
                w = fwd[v][k]
                if not seen[w]:
                    seen[w] = True
                    stack.append((w, 0))
            else:
                order.append(v)
    comp = [-1] * n_nodes
    c = 0
    for root in reversed(order):
        if comp[root] >= 0:
            continue
        comp[root] = c
        todo = [root]
        while todo:
            v = todo.pop()
            for w in bwd[v]:
                if comp[w] < 0:
                    comp[w] = c
                    todo.append(w)
        c += 1
    return comp


def clean_network(segs: list[Segment], n_nodes: int) -> list[Segment]:
    """Remove slivers and unreachable bits, merge pieces split by removed junctions."""
    # a street grazing an arterial gives two pieces between the same two nodes: keep
    # the first (arterials are built first)
    seen: dict[frozenset[int], list[LineString]] = {}
    unique = []
    for s in segs:
        line = LineString(s.xy())
        twins = seen.setdefault(frozenset((s.a, s.b)), [])
        if any(line.hausdorff_distance(t) < 2.0 for t in twins):
            continue
        twins.append(line)
        unique.append(s)
    segs = unique
    for _ in range(3):  # short dangling stubs left by clipping
        deg: dict[int, int] = {}
        for s in segs:
            deg[s.a] = deg.get(s.a, 0) + 1
            deg[s.b] = deg.get(s.b, 0) + 1
        segs = [
            s
            for s in segs
            if not (
                _length(s) < 15.0
                and (
                    (deg[s.a] == 1 and not _on_map_edge(s.coords[0]))
                    or (deg[s.b] == 1 and not _on_map_edge(s.coords[-1]))
                )
            )
        ]
    comp = strongly_connected(n_nodes, segs)
    sizes: dict[int, int] = {}
    used = {s.a for s in segs} | {s.b for s in segs}
    for v in used:
        sizes[comp[v]] = sizes.get(comp[v], 0) + 1
    big = max(sizes, key=lambda k: (sizes[k], -k))
    segs = [s for s in segs if comp[s.a] == big and comp[s.b] == big]
    return _merge_degree_two(segs)


def _merge_degree_two(segs: list[Segment]) -> list[Segment]:
    while True:
        inc: dict[int, list[int]] = {}
        for k, s in enumerate(segs):
            inc.setdefault(s.a, []).append(k)
            inc.setdefault(s.b, []).append(k)
        touched: set[int] = set()
        merged: list[Segment] = []
        for node in sorted(inc):
            ks = inc[node]
            if len(ks) != 2 or ks[0] == ks[1] or touched & set(ks):
                continue
            p, q = segs[ks[0]], segs[ks[1]]
            if p.props != q.props:
                continue
            if p.b == node and q.a == node:
                first, second = p, q
            elif q.b == node and p.a == node:
                first, second = q, p
            elif p.props[3] == "yes":
                continue
            elif p.a == node and q.a == node:
                first, second = Segment(p.b, p.a, p.coords[::-1], p.props), q
            else:  # both end at node
                first, second = p, Segment(q.b, q.a, q.coords[::-1], q.props)
            if first.a == second.b:
                continue  # would close a ring
            merged.append(Segment(first.a, second.b, first.coords + second.coords[1:], p.props))
            touched |= set(ks)
        if not merged:
            return segs
        segs = [s for k, s in enumerate(segs) if k not in touched] + merged


# --------------------------------------------------------------------------- cameras


def _camera_along(
    line: LineString, at: XY, forward: bool, back: float = 6.0, side: float = 8.0
) -> tuple[XY, float]:
    """A pole beside the road at ``at``, looking along it (``forward`` = line direction)."""
    d = line.project(Point(at))
    tx, ty = tangent_at(line, d)
    if not forward:
        tx, ty = -tx, -ty
    rx, ry = ty, -tx  # right-hand side
    pos = (at[0] - back * tx + side * rx, at[1] - back * ty + side * ry)
    return pos, heading_of(tx, ty)


def _camera_facing(
    line: LineString, d: float, side: float, dist: float, yaw: float
) -> tuple[XY, float]:
    """A camera ``dist`` metres beside the road looking at it (``yaw`` off square)."""
    p = line.interpolate(d)
    tx, ty = tangent_at(line, d)
    nx, ny = -ty * side, tx * side
    pos = (p.x + nx * dist, p.y + ny * dist)
    look = math.radians(heading_of(-nx, -ny) + yaw)
    return pos, heading_of(math.sin(look), math.cos(look))


def _cross(a: LineString, b: LineString, near: XY | None = None) -> XY:
    pts = points_of(a.intersection(b))
    if near is not None:
        pts.sort(key=lambda p: math.dist((p.x, p.y), near))
    return (pts[0].x, pts[0].y)


def _dt_line(name: str) -> LineString:
    if name in DT_X_NAMES:
        x = DT_X[DT_X_NAMES.index(name)]
        ys = DT_Y if DT_ONEWAY.get(name, 1) > 0 else DT_Y[::-1]
        return LineString([(x, y) for y in ys])
    y = DT_Y[DT_Y_NAMES.index(name)]
    xs = DT_X if DT_ONEWAY.get(name, 1) > 0 else DT_X[::-1]
    return LineString([(x, y) for x in xs])


def place_cameras(town: Town, segs: Sequence[Segment]) -> list[Camera]:
    rng = town.rng
    named = town.named
    cams: list[Camera] = []
    # --- city cameras: city-01..09 are the wall's default tiles
    city: list[tuple[str, LineString, XY, bool, int, int]] = []
    main, capitol = named["Main St"], named["Capitol St"]
    dt = {n: _dt_line(n) for n in (*DT_X_NAMES, *DT_Y_NAMES)}
    dt["Main St"], dt["Capitol St"] = main, capitol

    def at(a: str, b: str) -> XY:
        return _cross(dt.get(a, named.get(a)), dt.get(b, named.get(b)))

    cap_ramps = motorway_x(INTERCHANGE_Y["Capitol St"]) - RAMP_OFFSET
    city += [
        ("Main St & Capitol St", capitol, at("Main St", "Capitol St"), True, 80, 120),
        ("Commerce St & 3rd Ave", dt["Commerce St"], at("Commerce St", "3rd Ave"), True, 70, 110),
        ("Commerce St & 6th Ave", dt["Commerce St"], at("Commerce St", "6th Ave"), True, 70, 110),
        ("State St & 5th Ave", dt["State St"], at("State St", "5th Ave"), True, 70, 110),
        ("2nd Ave & Main St", dt["2nd Ave"], at("2nd Ave", "Main St"), True, 75, 120),
        ("Capitol St & Gallatin St", capitol, at("Capitol St", "Gallatin St"), True, 60, 140),
        ("Capitol St & Jefferson St", capitol, at("Capitol St", "Jefferson St"), True, 60, 150),
        (
            "Capitol St at I-55 ramps",
            capitol,
            (cap_ramps, INTERCHANGE_Y["Capitol St"]),
            True,
            65,
            150,
        ),
        ("Main St & 8th Ave", main, at("Main St", "8th Ave"), True, 80, 120),
    ]
    on_cap = named["I-55 NB on-ramp from Capitol St"]
    off_ww = named["I-55 SB off-ramp to Woodrow Wilson Ave"]
    off_mcd = named["I-55 NB off-ramp to McDowell Rd"]
    city += [
        (
            "I-55 NB on-ramp from Capitol St",
            on_cap,
            on_cap.interpolate(70).coords[0],
            True,
            55,
            100,
        ),
        (
            "I-55 SB off-ramp to Woodrow Wilson Ave",
            off_ww,
            off_ww.interpolate(off_ww.length - 60).coords[0],
            True,
            55,
            100,
        ),
        (
            "I-55 NB off-ramp to McDowell Rd",
            off_mcd,
            off_mcd.interpolate(off_mcd.length - 60).coords[0],
            True,
            55,
            100,
        ),
        (
            "Main St & Woodrow Wilson Ave",
            main,
            _cross(main, named["Woodrow Wilson Ave"]),
            False,
            80,
            120,
        ),
        (
            "Ellis Ave & Raymond Rd",
            named["Raymond Rd"],
            _cross(named["Ellis Ave"], named["Raymond Rd"]),
            True,
            90,
            110,
        ),
    ]
    for k, (name, line, p, fwd, fov, rng_m) in enumerate(city, start=1):
        pos, hd = _camera_along(line, p, fwd)
        cams.append(Camera(f"city-{k:02d}", name, "city", pos, hd, fov, rng_m))

    # --- private cameras: shops downtown, doorbells and driveways in the neighbourhoods
    shops = [
        ("Main St", "3rd Ave", "4th Ave", "Magnolia Pharmacy", "shop camera"),
        ("Commerce St", "5th Ave", "6th Ave", "Delta Pawn & Loan", "storefront camera"),
        ("State St", "4th Ave", "Capitol St", "Blue Plate Diner", "shop camera"),
        ("Capitol St", "President St", "Congress St", "Riverton Hardware Co.", "shop camera"),
        ("2nd Ave", "Lamar St", "West St", "Pearl Street Books", "storefront camera"),
        ("Commerce St", "1st Ave", "2nd Ave", "Capitol Corner Market", "shop camera"),
    ]
    people = [
        "J. Carter",
        "M. Alvarez",
        "T. Nguyen",
        "R. Brooks",
        "L. Patel",
        "D. Thompson",
        "K. Johnson",
        "S. Robinson",
    ]
    phones = rng.sample(range(100), 14)
    waivers = sorted(rng.sample(range(1, 400), 14))
    lines = [LineString(s.xy()) for s in segs]
    tree = STRtree(lines)
    priv: list[tuple[str, XY, float, int, int, str]] = []
    for street, c1, c2, owner, kind in shops:
        a, b = at(street, c1), at(street, c2)
        line = dt[street]
        while True:  # on the facade, not on an alley or a parking lot entrance
            d = (line.project(Point(a)) + line.project(Point(b))) / 2 + rng.uniform(-30, 30)
            side = rng.choice((-1.0, 1.0))
            yaw = rng.choice((-1.0, 1.0)) * rng.uniform(45, 65)
            pos, hd = _camera_facing(line, d, side, 9.0, yaw)
            if not len(tree.query(Point(pos), predicate="dwithin", distance=7.0)):
                break
        number = 100 + 2 * round(abs(d) / 10) + (1 if side > 0 else 0)
        priv.append(
            (f"{street} {number} {kind}", pos, hd, rng.randint(90, 110), rng.randint(30, 60), owner)
        )
    candidates = sorted(
        (s for s in segs if s.props[0] == "residential" and s.props[1] and _length(s) > 110),
        key=lambda s: (s.props[1], s.coords[0]),
    )
    rng.shuffle(candidates)
    chosen: list[XY] = []
    for s in candidates:
        if len(priv) == 14:
            break
        line = LineString(s.xy())
        mid = line.interpolate(0.5, normalized=True)
        if box(*DT_BOX).buffer(150).contains(mid) or any(
            math.dist((mid.x, mid.y), c) < 450 for c in chosen
        ):
            continue
        if line.length > 1.03 * math.dist(line.coords[0], line.coords[-1]):
            continue  # only straight blocks
        side = rng.choice((-1.0, 1.0))
        d = line.length * rng.uniform(0.35, 0.65)
        driveway = len(priv) % 4 == 3
        pos, hd = _camera_facing(
            line,
            d,
            side,
            12.0 if driveway else 10.0,
            rng.uniform(-30, 30) if driveway else rng.uniform(-10, 10),
        )
        near = tree.query(Point(pos), predicate="dwithin", distance=9.0)
        if len(near):
            continue  # too close to another street
        chosen.append((mid.x, mid.y))
        number = 100 + 2 * rng.randint(10, 240) + (1 if side > 0 else 0)
        kind = "driveway camera" if driveway else "doorbell"
        fov = rng.randint(100, 120) if driveway else rng.randint(100, 140)
        priv.append(
            (
                f"{s.props[1]} {number} {kind}",
                pos,
                hd,
                fov,
                rng.randint(25, 40) if driveway else rng.randint(20, 40),
                people[len(priv) - len(shops)],
            )
        )
    for k, (name, pos, hd, fov, rng_m, owner) in enumerate(priv, start=1):
        month, day = rng.randint(1, 10), rng.randint(1, 28)
        cams.append(
            Camera(
                f"priv-{k:02d}",
                name,
                "private",
                pos,
                hd,
                fov,
                rng_m,
                owner=(owner, f"+1 601 555 01{phones[k - 1]:02d}"),
                waiver=(
                    f"W-2026-{waivers[k - 1]:04d}",
                    f"2026-{month:02d}-{day:02d}",
                    f"2027-{month:02d}-{day:02d}",
                ),
            )
        )
    _check_cameras(cams, tree, lines)
    return cams


def _check_cameras(cams: Sequence[Camera], tree: STRtree, lines: Sequence[LineString]) -> None:
    for c in cams:
        pos = Point(to_xy(*to_lonlat(*c.xy)))
        r = math.radians(c.heading)
        half = Point(pos.x + 0.5 * c.range_m * math.sin(r), pos.y + 0.5 * c.range_m * math.cos(r))
        d0 = lines[tree.nearest(pos)].distance(pos)
        d1 = lines[tree.nearest(half)].distance(half)
        if d0 > 20 or d1 > 15:
            raise RuntimeError(
                f"camera {c.id} {c.name!r} does not watch a road ({d0:.1f}, {d1:.1f})"
            )


# --------------------------------------------------------------------------- output


def geojson_text(segs: Sequence[Segment]) -> str:
    rank = {c: k for k, c in enumerate(CLASS_ORDER)}
    ordered = sorted(segs, key=lambda s: (rank[s.props[0]], s.props[1], s.coords[0], s.coords[-1]))
    feats = []
    for s in ordered:
        highway, name, maxspeed, oneway = s.props
        feats.append(
            json.dumps(
                {
                    "type": "Feature",
                    "properties": {
                        "highway": highway,
                        "maxspeed": maxspeed,
                        "name": name,
                        "oneway": oneway,
                    },
                    "geometry": {"type": "LineString", "coordinates": [list(p) for p in s.coords]},
                },
                sort_keys=True,
            )
        )
    head = '{"type": "FeatureCollection", "name": "Riverton (simulated demo city)", "features": [\n'
    return head + ",\n".join(feats) + "\n]}\n"


#: Privacy masks of demo cameras (fractions of the picture, as in the config): the
#: Oak Rd doorbell also sees the neighbours' front yard and window.
DEMO_MASKS: dict[str, tuple[tuple[tuple[float, float], ...], ...]] = {
    "priv-07": (((0.66, 0.28), (1.0, 0.22), (1.0, 1.0), (0.74, 1.0)),),
}


def cameras_yaml(cams: Sequence[Camera]) -> str:
    out = []
    for c in cams:
        if c.id == "city-01":
            out.append("  # City-owned cameras: downtown, the Capitol St corridor to I-55, ramps.")
        if c.id == "priv-01":
            out.append("  # Private cameras shared under a waiver: downtown shops, then homes.")
        lon, lat = to_lonlat(*c.xy)
        out += [
            f"  - id: {c.id}",
            f'    name: "{c.name}"',
            f"    ownership: {c.ownership}",
            f"    location: {{lon: {lon:.7f}, lat: {lat:.7f}}}",
            f"    heading_deg: {c.heading:.1f}",
            f"    fov_deg: {c.fov}",
            f"    range_m: {c.range_m}",
            '    stream: "sim://?fps=12&width=640&height=360"',
        ]
        if c.owner is not None and c.waiver is not None:
            out.append(f'    owner: {{name: "{c.owner[0]}", contact: "{c.owner[1]}"}}')
            wid, signed, expires = c.waiver
            out.append(
                f"    waiver: {{id: {wid}, signed: {signed}, expires: {expires}, revoked: false}}"
            )
        if c.id in DEMO_MASKS:
            out += ["    # the doorbell also sees the neighbours' front yard and window: masked",
                    "    masks:"]  # fmt: skip
            for poly in DEMO_MASKS[c.id]:
                out.append("      - [" + ", ".join(f"[{x:g}, {y:g}]" for x, y in poly) + "]")
    return "\n".join(out) + "\n"


def update_config(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    starts = [k for k, ln in enumerate(lines) if ln.rstrip("\r\n") == BEGIN_MARK]
    ends = [k for k, ln in enumerate(lines) if ln.rstrip("\r\n") == END_MARK]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise SystemExit(f"{path}: expected one pair of generated-camera marker lines")
    new = "".join(lines[: starts[0] + 1]) + block + "".join(lines[ends[0] :])
    if new != text:
        path.write_text(new, encoding="utf-8")


def generate() -> tuple[list[Segment], list[Camera]]:
    town = Town(random.Random(SEED))
    build_arterials(town)
    build_downtown(town)
    build_motorway(town)
    build_collectors(town, 700_000)
    build_collectors(town, 700_000)
    build_neighbourhoods(town)
    segs = node_network(town.ways)
    n_nodes = 1 + max(max(s.a, s.b) for s in segs)
    segs = clean_network(segs, n_nodes)
    cams = place_cameras(town, segs)
    return segs, cams


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=HERE, help="where roads.geojson goes")
    ap.add_argument(
        "--config",
        type=Path,
        default=REPO / "config.example.yaml",
        help="config file whose generated camera block is replaced",
    )
    args = ap.parse_args(argv)
    segs, cams = generate()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "roads.geojson").write_text(geojson_text(segs), encoding="utf-8")
    update_config(args.config, cameras_yaml(cams))
    counts: dict[str, int] = {}
    for s in segs:
        counts[s.props[0]] = counts.get(s.props[0], 0) + 1
    summary = ", ".join(f"{c} {counts.get(c, 0)}" for c in CLASS_ORDER)
    print(f"{len(segs)} segments ({summary}); {len(cams)} cameras")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
