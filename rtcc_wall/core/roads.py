"""Road networks: GeoJSON LineStrings with OpenStreetMap tags -> a directed graph.

Lines are split at every vertex they share with another line (and at their
own endpoints), so that two streets that cross at a common vertex become an
intersection. Each resulting segment yields one directed edge per allowed
direction of travel. Geometry is kept in local metres (see ``geo.py``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

    lines: list[tuple[int, list[tuple[float, float]], str, str, int, float]] = []
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
        else:
            # Points, polygons etc. are not roads: skip quietly, like OSM tools do.
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
            bad = next((c for c in coords if not (-180 <= c[0] <= 180 and -90 <= c[1] <= 90)), None)
            if bad is not None:
                problem(i, "geometry.coordinates", f"position {list(bad)} is not a valid lon/lat")
                break
            lines.append((i, coords, highway, name, oneway, speed))
    if problems:
        raise ConfigError(problems)
    if not lines:
        raise ConfigError([Problem(fname, None, "features", "no LineString roads in the file")])
    return _split_and_build(lines, projection, fname)


def _coords(part: Any) -> list[tuple[float, float]] | None:
    if not isinstance(part, list) or len(part) < 2:
        return None
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
    # drop consecutive duplicates
    dedup = [out[0]] + [b for a, b in zip(out, out[1:], strict=False) if a != b]
    return dedup if len(dedup) >= 2 else None


def _key(c: tuple[float, float]) -> tuple[int, int]:
    # 1e-7 degree is about 1 cm: coordinates equal after rounding are the same node.
    return (round(c[0] * 1e7), round(c[1] * 1e7))


def _split_and_build(
    lines: Iterable[tuple[int, list[tuple[float, float]], str, str, int, float]],
    projection: LocalProjection,
    fname: str,
) -> RoadNetwork:
    lines = list(lines)
    usage: dict[tuple[int, int], int] = {}
    for _, coords, *_rest in lines:
        seen: set[tuple[int, int]] = set()
        for c in coords:
            k = _key(c)
            if k not in seen:
                usage[k] = usage.get(k, 0) + 1
                seen.add(k)
    node_ids: dict[tuple[int, int], int] = {}
    node_lonlat: list[tuple[float, float]] = []

    def node(c: tuple[float, float]) -> int:
        k = _key(c)
        n = node_ids.get(k)
        if n is None:
            n = len(node_lonlat)
            node_ids[k] = n
            node_lonlat.append(c)
        return n

    segments: list[RoadSegment] = []
    seg_nodes: list[tuple[int, int]] = []
    for fi, coords, highway, name, oneway, speed in lines:
        start = 0
        last = len(coords) - 1
        for j in range(1, last + 1):
            if j == last or usage[_key(coords[j])] > 1:
                piece = coords[start : j + 1]
                xy = projection.array_to_xy(piece)
                segments.append(RoadSegment(xy, highway, name, oneway, speed, fi))
                seg_nodes.append((node(piece[0]), node(piece[-1])))
                start = j
    nodes_xy = projection.array_to_xy(node_lonlat)
    e_from: list[int] = []
    e_to: list[int] = []
    e_seg: list[int] = []
    e_fwd: list[bool] = []
    e_len: list[float] = []
    e_spd: list[float] = []
    for s, (seg, (a, b)) in enumerate(zip(segments, seg_nodes, strict=True)):
        d = np.diff(seg.coords, axis=0)
        length = float(np.hypot(d[:, 0], d[:, 1]).sum())
        if seg.oneway >= 0:
            e_from.append(a)
            e_to.append(b)
            e_seg.append(s)
            e_fwd.append(True)
            e_len.append(length)
            e_spd.append(seg.speed_mps)
        if seg.oneway <= 0:
            e_from.append(b)
            e_to.append(a)
            e_seg.append(s)
            e_fwd.append(False)
            e_len.append(length)
            e_spd.append(seg.speed_mps)
    return RoadNetwork(
        projection=projection,
        nodes_xy=nodes_xy,
        segments=segments,
        edge_from=np.asarray(e_from, dtype=np.int64),
        edge_to=np.asarray(e_to, dtype=np.int64),
        edge_segment=np.asarray(e_seg, dtype=np.int64),
        edge_forward=np.asarray(e_fwd, dtype=np.bool_),
        edge_length_m=np.asarray(e_len, dtype=np.float64),
        edge_speed_mps=np.asarray(e_spd, dtype=np.float64),
        source=fname,
    )
