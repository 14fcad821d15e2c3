"""Road networks: GeoJSON LineStrings or OpenStreetMap XML ways -> a directed graph.

Lines are split at every vertex they share with another line (and at their
own endpoints), so that two streets that cross at a common vertex become an
intersection (in OSM files: two ways sharing a node). Each resulting segment
yields one directed edge per allowed direction of travel. Geometry is kept in
local metres (see ``geo.py``). ``load_network`` picks the format from the
file's extension; ``roadcache.load_network_cached`` adds an on-disk cache.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

import numpy as np
import numpy.typing as npt

from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.errors import ConfigError, Problem

MPH = 0.44704
KMH = 1.0 / 3.6

#: Free-flow speed (km/h) by ``highway`` class when ``maxspeed`` is absent.
DEFAULT_SPEED_KMH: dict[str, float] = {
    "motorway": 105.0,
    "trunk": 90.0,
    "primary": 65.0,
    "secondary": 55.0,
    "tertiary": 50.0,
    "motorway_link": 60.0,
    "trunk_link": 50.0,
    "primary_link": 45.0,
    "secondary_link": 40.0,
    "tertiary_link": 40.0,
    "unclassified": 40.0,
    "residential": 40.0,
    "living_street": 15.0,
    "service": 20.0,
}

#: Drawing/ordering groups of road classes, most important first.
ROAD_CLASS_GROUPS: dict[str, tuple[str, ...]] = {
    "motorway": ("motorway", "trunk", "motorway_link", "trunk_link"),
    "arterial": ("primary", "secondary", "primary_link", "secondary_link"),
    "collector": ("tertiary", "tertiary_link", "unclassified"),
    "local": ("residential", "living_street", "service"),
}
CLASS_TO_GROUP = {c: g for g, cs in ROAD_CLASS_GROUPS.items() for c in cs}

_ONEWAY_FORWARD = {"yes", "true", "1"}
_ONEWAY_BACKWARD = {"-1", "reverse"}
_ONEWAY_NONE = {"no", "false", "0", "alternating", "reversible"}
_OTHER_GEOMETRIES = {"Point", "MultiPoint", "Polygon", "MultiPolygon", "GeometryCollection"}
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)


@dataclass
class RoadSegment:
    """An undirected piece of road between two graph nodes, for drawing and lookup."""

    coords: npt.NDArray[np.float64]  # (K, 2) local metres, in the file's order
    highway: str
    name: str
    oneway: int  # 0 both ways, 1 along coords, -1 against coords
    speed_mps: float
    feature_index: int

    @property
    def group(self) -> str:
        return CLASS_TO_GROUP.get(self.highway, "local")


@dataclass
class RoadNetwork:
    """Directed road graph in local metres."""

    projection: LocalProjection
    nodes_xy: npt.NDArray[np.float64]
    segments: list[RoadSegment]
    # directed edges
    edge_from: npt.NDArray[np.int64]
    edge_to: npt.NDArray[np.int64]
    edge_segment: npt.NDArray[np.int64]
    edge_forward: npt.NDArray[np.bool_]  # True: travels along segment coords
    edge_length_m: npt.NDArray[np.float64]
    edge_speed_mps: npt.NDArray[np.float64]
    source: str = ""
    _out: list[list[int]] | None = field(default=None, repr=False)

    @property
    def node_count(self) -> int:
        return int(self.nodes_xy.shape[0])

    @property
    def edge_count(self) -> int:
        return int(self.edge_from.shape[0])

    def out_edges(self, node: int) -> list[int]:
        """Directed edges leaving ``node``."""
        if self._out is None:
            out: list[list[int]] = [[] for _ in range(self.node_count)]
            for e, a in enumerate(self.edge_from.tolist()):
                out[a].append(e)
            self._out = out
        return self._out[node]

    def edge_coords(self, edge: int) -> npt.NDArray[np.float64]:
        """Polyline of a directed edge, in its direction of travel."""
        seg = self.segments[int(self.edge_segment[edge])]
        return seg.coords if self.edge_forward[edge] else seg.coords[::-1]

    def bounds(self) -> tuple[float, float, float, float]:
        """(min_x, min_y, max_x, max_y) of all nodes, local metres."""
        lo = self.nodes_xy.min(axis=0)
        hi = self.nodes_xy.max(axis=0)
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def parse_maxspeed(value: Any) -> float | None:
    """OSM ``maxspeed`` to metres per second; numbers without unit are km/h.

    Returns None for values that cannot be parsed.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) * KMH if value > 0 else None
    if not isinstance(value, str):
        return None
    m = _SPEED_RE.match(value)
    if not m:
        return None
    number = float(m.group(1))
    if number <= 0:
        return None
    unit = (m.group(2) or "km/h").lower()
    return number * (MPH if unit == "mph" else KMH)


def _oneway(value: Any, highway: str) -> int | None:
    if value is None:
        return 1 if highway in ("motorway",) else 0
    s = str(value).strip().lower()
    if s in _ONEWAY_FORWARD:
        return 1
    if s in _ONEWAY_BACKWARD:
        return -1
    if s in _ONEWAY_NONE:
        return 0
    return None


#: A line to split: feature index, (K, 2) lon/lat vertices, highway, name, oneway, speed (m/s).
_Line = tuple[int, npt.NDArray[np.float64], str, str, int, float]


class _LineLocator:
    """Finds the line of the N-th feature in a GeoJSON text (only used on the error path)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: list[int] | None = None

    def feature_line(self, index: int) -> int | None:
        if self._lines is None:
            self._lines = self._scan()
        return self._lines[index] if 0 <= index < len(self._lines) else None

    def _scan(self) -> list[int]:
        # JSON is YAML: the composer gives every node its start mark.
        import yaml

        try:
            loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            root = yaml.compose(self._text, Loader=loader_cls)
        except yaml.YAMLError:
            return []
        if not isinstance(root, yaml.MappingNode):
            return []
        for key, val in root.value:
            if key.value == "features" and isinstance(val, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in val.value]
        return []


def load_geojson(path: str | Path, projection: LocalProjection) -> RoadNetwork:
    """Loads and validates a GeoJSON road network. Raises ConfigError listing every problem."""
    p = Path(path)
    fname = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(fname, None, "", "road network file not found")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([Problem(fname, None, "", f"cannot read road network: {e}")]) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(
            [
                Problem(
                    fname,
                    e.lineno,
                    "",
                    f"not valid GeoJSON (JSON error at column {e.colno}: {e.msg})",
                )
            ]
        ) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ConfigError([Problem(fname, 1, "type", "expected a GeoJSON FeatureCollection")])
    features = doc.get("features")
    if not isinstance(features, list):
        raise ConfigError([Problem(fname, 1, "features", "expected a list of features")])
    return build_network(features, projection, fname, _LineLocator(text))


def build_network(
    features: list[Any],
    projection: LocalProjection,
    fname: str = "<features>",
    locator: _LineLocator | None = None,
) -> RoadNetwork:
    problems: list[Problem] = []

    def problem(i: int, where: str, msg: str) -> None:
        line = locator.feature_line(i) if locator else None
        problems.append(Problem(fname, line, f"features[{i}].{where}", msg))

    lines: list[_Line] = []
    for i, f in enumerate(features):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            problem(i, "type", "expected a Feature")
            continue
        geom = f.get("geometry")
        props = f.get("properties") or {}
        if not isinstance(props, dict):
            problem(i, "properties", "expected an object")
            continue
        if not isinstance(geom, dict):
            problem(i, "geometry", "missing geometry")
            continue
        gtype = geom.get("type")
        if gtype == "MultiLineString":
            parts = geom.get("coordinates")
        elif gtype == "LineString":
            parts = [geom.get("coordinates")]
        elif gtype in _OTHER_GEOMETRIES:
            # Points, polygons etc. are not roads: skip quietly, like OSM tools do.
            continue
        else:
            problem(i, "geometry.type", f"unknown geometry type {gtype!r} (expected LineString)")
            continue
        highway = props.get("highway")
        if not isinstance(highway, str) or not highway:
            problem(i, "properties.highway", "missing or not a string")
            continue
        oneway = _oneway(props.get("oneway"), highway)
        if oneway is None:
            problem(i, "properties.oneway", f"expected yes, no or -1, got {props.get('oneway')!r}")
            continue
        speed: float | None
        if "maxspeed" in props and props["maxspeed"] not in (None, "", "none", "signals"):
            speed = parse_maxspeed(props["maxspeed"])
            if speed is None:
                problem(
                    i,
                    "properties.maxspeed",
                    f"cannot read speed {props['maxspeed']!r} (use e.g. '30 mph' or '50')",
                )
                continue
        else:
            speed = DEFAULT_SPEED_KMH.get(highway, 30.0) * KMH
        name = props.get("name")
        name = name if isinstance(name, str) else ""
        if not isinstance(parts, list):
            problem(i, "geometry.coordinates", "expected a list of positions")
            continue
        for part in parts:
            coords = _coords(part)
            if coords is None:
                problem(i, "geometry.coordinates", "expected at least two [lon, lat] positions")
                break
            bad = _first_outside_lonlat(coords)
            if bad is not None:
                problem(i, "geometry.coordinates", f"position {bad} is not a valid lon/lat")
                break
            lines.append((i, coords, highway, name, oneway, speed))
    if problems:
        raise ConfigError(problems)
    if not lines:
        raise ConfigError([Problem(fname, None, "features", "no LineString roads in the file")])
    return _split_and_build(lines, projection, fname)


def _first_outside_lonlat(a: npt.NDArray[np.float64]) -> list[float] | None:
    """The first position outside [-180, 180] x [-90, 90], or None."""
    ok = (np.abs(a[:, 0]) <= 180) & (np.abs(a[:, 1]) <= 90)
    if ok.all():
        return None
    return [float(v) for v in a[int(np.argmin(ok))]]


def _coords(part: Any) -> npt.NDArray[np.float64] | None:
    """(K, 2) lon/lat of a GeoJSON position list without consecutive duplicates, K >= 2.

    None when the list is not at least two positions of two finite numbers (bools
    and strings are not numbers, even where numpy would convert them).
    """
    if not isinstance(part, list) or len(part) < 2:
        return None
    a: npt.NDArray[np.float64] | None = None
    try:
        # fast path for the usual JSON lists of ints and floats
        arr = np.array(part, dtype=np.float64)
        if (
            arr.ndim == 2
            and arr.shape[1] >= 2
            and {type(v) for c in part for v in c[:2]} <= {int, float}
        ):
            a = arr[:, :2]
    except (ValueError, TypeError):
        pass
    if a is None:
        a = _coords_checked(part)
        if a is None:
            return None
    if not np.isfinite(a).all():
        return None
    keep = np.ones(len(a), dtype=np.bool_)
    keep[1:] = (a[1:] != a[:-1]).any(axis=1)
    dedup = a[keep]
    return np.ascontiguousarray(dedup) if len(dedup) >= 2 else None


def _coords_checked(part: list[Any]) -> npt.NDArray[np.float64] | None:
    out: list[tuple[float, float]] = []
    for c in part:
        if (
            not isinstance(c, list | tuple)
            or len(c) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in c[:2])
            or not all(math.isfinite(v) for v in c[:2])
        ):
            return None
        out.append((float(c[0]), float(c[1])))
    return np.array(out, dtype=np.float64)


def _split_and_build(
    lines: Iterable[_Line], projection: LocalProjection, fname: str
) -> RoadNetwork:
    """Splits lines (feature index, lon/lat vertices, highway, name, oneway, speed) into a graph."""
    lines = list(lines)
    counts = np.fromiter((len(ln[1]) for ln in lines), dtype=np.int64, count=len(lines))
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    lonlat = np.concatenate([ln[1] for ln in lines]).reshape(-1, 2).astype(np.float64)
    attrs = _LineAttrs(
        feature=[ln[0] for ln in lines],
        highway=[ln[2] for ln in lines],
        name=[ln[3] for ln in lines],
        oneway=[ln[4] for ln in lines],
        speed=[ln[5] for ln in lines],
    )
    return _build_from_arrays(lonlat, offsets, attrs, projection, fname)


@dataclass
class _LineAttrs:
    """Per-line attributes, index-aligned with the lines of ``_build_from_arrays``."""

    feature: list[int]
    highway: list[str]
    name: list[str]
    oneway: list[int]
    speed: list[float]


def _node_keys(lonlat: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """One integer per distinct vertex position: equal keys are the same graph node.

    1e-7 degree is about 1 cm: coordinates equal after rounding are the same node
    (``np.round`` rounds half to even, like Python's ``round``).
    """
    q = np.round(lonlat * 1e7).astype(np.int64)
    qx = q[:, 0] - q[:, 0].min(initial=0)
    qy = q[:, 1] - q[:, 1].min(initial=0)
    span_y = int(qy.max(initial=0)) + 1
    if (int(qx.max(initial=0)) + 1) * span_y < 2**62:
        return qx * span_y + qy
    # far outside lon/lat ranges (callers validate, so only in odd direct use): exact but slower
    _, inv = np.unique(q, axis=0, return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


def _sorted_unique(a: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``np.unique`` by sorting (numpy 2's hash-based unique is slower on millions of ints)."""
    s = np.sort(a)
    keep = np.ones(len(s), dtype=np.bool_)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]


def _build_from_arrays(
    lonlat: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.int64],
    attrs: _LineAttrs,
    projection: LocalProjection,
    fname: str,
) -> RoadNetwork:
    """The graph of lines given as one (N, 2) lon/lat array cut by ``offsets`` (L + 1).

    Every line has at least two vertices and no consecutive duplicates. A line is
    split at every vertex used by another line and at its end. Vectorised: cost
    is O(N log N) in the number of vertices (sorting), plus one Python object per
    segment. Node numbers follow the first appearance of a node as a segment end.
    """
    n_lines = len(offsets) - 1
    n = lonlat.shape[0]
    line_of = np.repeat(np.arange(n_lines, dtype=np.int64), np.diff(offsets))
    uniq, inv = np.unique(_node_keys(lonlat), return_inverse=True)
    inv = inv.reshape(-1)
    nu = len(uniq)
    # in how many distinct lines each position occurs
    usage = np.bincount(_sorted_unique(line_of * nu + inv) % nu, minlength=nu)
    is_first = np.zeros(n, dtype=np.bool_)
    is_first[offsets[:-1]] = True
    is_last = np.zeros(n, dtype=np.bool_)
    is_last[offsets[1:] - 1] = True
    ends = np.flatnonzero(~is_first & (is_last | (usage[inv] > 1)))
    seg_line = line_of[ends]
    prev = np.concatenate(([-1], ends[:-1]))
    starts = np.maximum(prev, offsets[:-1][seg_line])  # previous cut, or the line's start

    endpoints = np.stack([starts, ends], axis=1).reshape(-1)
    ep_pos = inv[endpoints]
    ep_uniq, first = np.unique(ep_pos, return_index=True)
    order = np.argsort(first, kind="stable")
    node_of_pos = np.full(nu, -1, dtype=np.int64)
    node_of_pos[ep_uniq[order]] = np.arange(len(ep_uniq), dtype=np.int64)
    nodes_xy = projection.array_to_xy(lonlat[endpoints[first[order]]])
    seg_a = node_of_pos[inv[starts]]
    seg_b = node_of_pos[inv[ends]]

    xy = projection.array_to_xy(lonlat)
    step = np.diff(xy, axis=0)
    step_len = np.hypot(step[:, 0], step[:, 1])
    seg_len = _segment_lengths(step_len, starts, ends)

    seg_line_list = seg_line.tolist()
    with pause_gc():
        segments = _make_segments(xy, starts, ends, seg_line_list, attrs)
    oneway = np.asarray(attrs.oneway, dtype=np.int64)[seg_line]
    speed = np.asarray(attrs.speed, dtype=np.float64)[seg_line]
    n_seg = len(segments)
    # one row per segment: its forward edge, then its backward edge, each if allowed
    allowed = np.stack([oneway >= 0, oneway <= 0], axis=1).reshape(-1)
    seg_ids = np.arange(n_seg, dtype=np.int64)

    def pairs(fwd: npt.NDArray[Any], bwd: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.stack([fwd, bwd], axis=1).reshape(-1)[allowed]

    return RoadNetwork(
        projection=projection,
        nodes_xy=nodes_xy,
        segments=segments,
        edge_from=pairs(seg_a, seg_b).astype(np.int64),
        edge_to=pairs(seg_b, seg_a).astype(np.int64),
        edge_segment=pairs(seg_ids, seg_ids).astype(np.int64),
        edge_forward=pairs(np.ones(n_seg, np.bool_), np.zeros(n_seg, np.bool_)),
        edge_length_m=pairs(seg_len, seg_len).astype(np.float64),
        edge_speed_mps=pairs(speed, speed).astype(np.float64),
        source=fname,
    )


def _make_segments(
    xy: npt.NDArray[np.float64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    seg_line_list: list[int],
    attrs: _LineAttrs,
) -> list[RoadSegment]:
    return [
        RoadSegment(
            xy[s : e + 1],
            attrs.highway[ln],
            attrs.name[ln],
            attrs.oneway[ln],
            attrs.speed[ln],
            attrs.feature[ln],
        )
        for s, e, ln in zip(starts.tolist(), ends.tolist(), seg_line_list, strict=True)
    ]


@contextlib.contextmanager
def pause_gc() -> Iterator[None]:
    """Pauses the cyclic garbage collector while many long-lived objects are made.

    Creating a million segments would otherwise trigger collections that walk
    the whole heap again and again (super-linear time); reference counting still
    frees memory meanwhile, and the collector is resumed as it was.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _segment_lengths(
    step_len: npt.NDArray[np.float64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Sum of ``step_len[s:e]`` per segment, bit-identical to ``step_len[s:e].sum()``.

    ``ndarray.sum`` adds fewer than 8 terms left to right (more terms: pairwise),
    so short segments are summed in 7 vectorised passes and the rare long ones
    one by one.
    """
    steps = ends - starts
    padded = np.append(step_len, 0.0)
    last = len(padded) - 1
    out = padded[np.minimum(starts, last)].copy()
    for j in range(1, 8):
        more = steps > j
        if not more.any():
            break
        out += np.where(more, padded[np.minimum(starts + j, last)], 0.0)
    for i in np.flatnonzero(steps >= 8).tolist():
        out[i] = step_len[starts[i] : ends[i]].sum()
    return out


# --- OpenStreetMap XML ---------------------------------------------------------------

#: ``highway`` values of roads a car may use.
OSM_DRIVABLE: frozenset[str] = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
    | {f"{c}_link" for c in ("motorway", "trunk", "primary", "secondary", "tertiary")}
)
#: ``highway`` values kept only with ``motor_vehicle=yes`` (or ``designated``).
OSM_NON_MOTOR: frozenset[str] = frozenset(
    {"footway", "cycleway", "path", "steps", "pedestrian", "track", "bridleway"}
)
_MOTOR_ALLOWED = {"yes", "designated"}
#: At most this many missing-node problems are listed one by one.
_MAX_LISTED = 20


def osm_way_drivable(tags: dict[str, str]) -> bool:
    """True for a way a car may drive on (``highway``, ``area``, ``motor_vehicle`` tags)."""
    highway = tags.get("highway")
    if not highway or tags.get("area") == "yes":
        return False
    if highway in OSM_DRIVABLE:
        return True
    return highway in OSM_NON_MOTOR and tags.get("motor_vehicle") in _MOTOR_ALLOWED


def osm_oneway(tags: dict[str, str]) -> int:
    """1 along the way, -1 against it, 0 both ways.

    ``junction=roundabout`` and ``highway=motorway`` imply a one-way road unless
    ``oneway`` says otherwise; values other than yes/true/1, -1/reverse and no
    (e.g. ``alternating``) count as two-way.
    """
    value = tags.get("oneway")
    if value is None and tags.get("junction") in ("roundabout", "circular"):
        return 1
    direction = _oneway(value, tags.get("highway", ""))
    return 0 if direction is None else direction


def osm_speed(tags: dict[str, str]) -> float:
    """``maxspeed`` in m/s, or the class default when it is absent or unreadable (``none``)."""
    speed = parse_maxspeed(tags["maxspeed"]) if "maxspeed" in tags else None
    if speed is None:
        speed = DEFAULT_SPEED_KMH.get(tags.get("highway", ""), 30.0) * KMH
    return speed


class _OsmAbort(Exception):
    """Stops the parse at a problem that makes the rest meaningless."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _OsmReader:
    """Streams an OSM XML file through expat, keeping compact arrays only.

    Nodes go into three flat arrays (id, lon, lat); a way's node references go
    into a flat array while the way is open and are dropped again at its end
    unless its tags make it drivable. No element tree is ever built, so memory
    grows with the number of nodes (24 bytes each) and drivable way references,
    not with the size of the XML, and every element's line is known exactly.
    """

    def __init__(self, fname: str) -> None:
        self.fname = fname
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        # OSM files declare no entities: refuse them (no entity expansion bombs).
        self.parser.EntityDeclHandler = self._entity
        self.problems: list[Problem] = []
        self.node_id = array("q")
        self.node_lon = array("d")
        self.node_lat = array("d")
        self.refs = array("q")
        self.ref_lines = array("q")
        self.way_starts: list[int] = []  # offset of each kept way's references
        self.way_ids: list[int] = []
        self.way_lines: list[int] = []
        self.way_tags: list[dict[str, str]] = []
        self.root_seen = False
        self._way: int | None = None  # id of the open way
        self._way_line = 0
        self._way_start = 0
        self._tags: dict[str, str] = {}
        self._in_way = False
        self._skipped = False  # the open element is deleted (JOSM ``action="delete"``)

    def read(self, fobj: Any) -> None:
        try:
            self.parser.ParseFile(fobj)
        except expat.ExpatError as e:
            msg = expat.ErrorString(e.code)
            raise ConfigError(
                [Problem(self.fname, e.lineno, "", f"not valid XML (column {e.offset + 1}: {msg})")]
            ) from None
        except _OsmAbort as e:
            raise ConfigError([e.problem]) from None

    def _line(self) -> int:
        return int(self.parser.CurrentLineNumber)

    def _problem(self, path: str, msg: str) -> None:
        self.problems.append(Problem(self.fname, self._line(), path, msg))

    def _entity(self, name: str, *_args: Any) -> None:
        raise _OsmAbort(
            Problem(self.fname, self._line(), "", f"entity declarations are not allowed ({name})")
        )

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if not self.root_seen:
            self.root_seen = True
            if tag != "osm":
                raise _OsmAbort(
                    Problem(
                        self.fname,
                        self._line(),
                        "",
                        f"not an OpenStreetMap XML file (root element <{tag}>, expected <osm>)",
                    )
                )
            return
        if tag == "node":
            self._node(attrs)
        elif tag == "way":
            self._in_way = True
            self._skipped = attrs.get("action") == "delete" or attrs.get("visible") == "false"
            self._way = _osm_id(attrs.get("id"))
            if self._way is None and not self._skipped:
                self._problem("way", f"expected a numeric id, got {attrs.get('id')!r}")
            self._way_line = self._line()
            self._way_start = len(self.refs)
            self._tags = {}
        elif self._in_way and tag == "nd":
            ref = _osm_id(attrs.get("ref"))
            if ref is None:
                if not self._skipped:
                    self._problem(
                        f"way {self._way}", f"expected a numeric node ref, got {attrs.get('ref')!r}"
                    )
                return
            self.refs.append(ref)
            self.ref_lines.append(self._line())
        elif self._in_way and tag == "tag":
            k, v = attrs.get("k"), attrs.get("v")
            if k is not None and v is not None:
                self._tags[k] = v

    def _node(self, attrs: dict[str, str]) -> None:
        if attrs.get("action") == "delete" or attrs.get("visible") == "false":
            return
        nid = _osm_id(attrs.get("id"))
        try:
            lon = float(attrs["lon"])
            lat = float(attrs["lat"])
        except (KeyError, ValueError):
            self._problem(f"node {attrs.get('id')}", "expected numeric lat and lon attributes")
            return
        if nid is None:
            self._problem("node", f"expected a numeric id, got {attrs.get('id')!r}")
        elif not (-180 <= lon <= 180 and -90 <= lat <= 90):
            self._problem(f"node {nid}", f"lon={lon} lat={lat} is not a valid position")
        else:
            self.node_id.append(nid)
            self.node_lon.append(lon)
            self.node_lat.append(lat)

    def _end(self, tag: str) -> None:
        if tag != "way":
            return
        self._in_way = False
        keep = not self._skipped and self._way is not None and osm_way_drivable(self._tags)
        if keep and self._way is not None:
            self.way_starts.append(self._way_start)
            self.way_ids.append(self._way)
            self.way_lines.append(self._way_line)
            self.way_tags.append(self._tags)
        else:
            del self.refs[self._way_start :]
            del self.ref_lines[self._way_start :]
        self._tags = {}


def _osm_id(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def load_osm(path: str | Path, projection: LocalProjection) -> RoadNetwork:
    """Loads the drivable roads of an OpenStreetMap XML (``.osm``) file.

    Keeps ways whose tags pass ``osm_way_drivable``, reads one-way rules with
    ``osm_oneway`` and speeds with ``osm_speed``, and splits ways at the nodes
    they share, like ``load_geojson``. Raises ConfigError listing every problem:
    malformed XML (with its line and column), nodes without a valid position,
    and way node references missing from the file (the line of the ``<nd>``).
    """
    p = Path(path)
    fname = str(p)
    reader = _OsmReader(fname)
    try:
        with p.open("rb") as f:
            reader.read(f)
    except FileNotFoundError:
        raise ConfigError([Problem(fname, None, "", "road network file not found")]) from None
    except OSError as e:
        raise ConfigError([Problem(fname, None, "", f"cannot read road network: {e}")]) from None
    if not reader.root_seen:
        raise ConfigError([Problem(fname, 1, "", "not valid XML (the file is empty)")])
    if reader.problems:
        raise ConfigError(reader.problems)
    if not reader.way_ids:
        raise ConfigError(
            [
                Problem(
                    fname,
                    None,
                    "",
                    "no drivable roads in the file (no way tagged highway=motorway, primary, "
                    "residential, service ... that is not an area)",
                )
            ]
        )
    return _osm_network(reader, projection, fname)


def _osm_network(reader: _OsmReader, projection: LocalProjection, fname: str) -> RoadNetwork:
    ids = np.frombuffer(reader.node_id, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    refs = np.frombuffer(reader.refs, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, refs), max(len(sorted_ids) - 1, 0))
    found = sorted_ids[pos] == refs if len(sorted_ids) else np.zeros(len(refs), np.bool_)
    way_starts = np.asarray(reader.way_starts, dtype=np.int64)
    if not found.all():
        missing = np.flatnonzero(~found)
        problems = []
        for i in missing[:_MAX_LISTED].tolist():
            w = int(np.searchsorted(way_starts, i, side="right")) - 1
            problems.append(
                Problem(
                    fname,
                    int(reader.ref_lines[i]),
                    f"way {reader.way_ids[w]}",
                    f"refers to node {int(refs[i])}, which is not in the file "
                    "(an extract cut at its border? export it with complete ways)",
                )
            )
        if len(missing) > _MAX_LISTED:
            problems.append(
                Problem(fname, None, "", f"... and {len(missing) - _MAX_LISTED} more missing nodes")
            )
        raise ConfigError(problems)
    lon = np.frombuffer(reader.node_lon, dtype=np.float64)[order][pos]
    lat = np.frombuffer(reader.node_lat, dtype=np.float64)[order][pos]
    lonlat = np.stack([lon, lat], axis=1)
    n = len(refs)
    way_of = np.repeat(
        np.arange(len(way_starts), dtype=np.int64), np.diff(np.append(way_starts, n))
    )
    # drop consecutive repeats of a position within a way (as GeoJSON loading does)
    keep = np.ones(n, dtype=np.bool_)
    keep[1:] = (way_of[1:] != way_of[:-1]) | (lonlat[1:] != lonlat[:-1]).any(axis=1)
    lonlat = lonlat[keep]
    counts = np.bincount(way_of[keep], minlength=len(way_starts))
    # a way left with fewer than two positions is no road (broken data): skip it
    usable = counts >= 2
    vertex_ok = usable[way_of[keep]]
    lonlat = np.ascontiguousarray(lonlat[vertex_ok])
    offsets = np.zeros(int(usable.sum()) + 1, dtype=np.int64)
    np.cumsum(counts[usable], out=offsets[1:])
    kept = np.flatnonzero(usable).tolist()
    if not kept:
        raise ConfigError([Problem(fname, None, "", "no drivable roads in the file")])
    tags = [reader.way_tags[w] for w in kept]
    attrs = _LineAttrs(
        feature=[reader.way_ids[w] for w in kept],
        highway=[t["highway"] for t in tags],
        name=[t.get("name", "") for t in tags],
        oneway=[osm_oneway(t) for t in tags],
        speed=[osm_speed(t) for t in tags],
    )
    return _build_from_arrays(lonlat, offsets, attrs, projection, fname)


# --- Any supported format -------------------------------------------------------------

#: File name endings of the road network formats, and what they are.
NETWORK_FORMATS: dict[str, str] = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".osm": "OpenStreetMap XML",
}


def network_format(path: str | Path) -> str:
    """``"geojson"`` or ``"osm"`` from the file name; ConfigError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix == ".osm":
        return "osm"
    supported = ", ".join(f"{s} ({what})" for s, what in NETWORK_FORMATS.items())
    hint = (
        "; convert .pbf files first, e.g. with `osmium cat FILE.osm.pbf -o FILE.osm`"
        if suffix == ".pbf"
        else ""
    )
    raise ConfigError(
        [
            Problem(
                str(path),
                None,
                "",
                f"unsupported road network format {suffix or '(no extension)'!r}: "
                f"supported are {supported}{hint}",
            )
        ]
    )


def load_network(path: str | Path, projection: LocalProjection) -> RoadNetwork:
    """Loads a road network in any supported format, chosen by the file's extension."""
    if network_format(path) == "osm":
        return load_osm(path, projection)
    return load_geojson(path, projection)
