"""Loading a configuration file: YAML -> validated, typed objects, or every problem at once.

``yaml.safe_load`` builds the data; ``yaml.compose`` of the same text gives
each node its line, so that a pydantic error location (``cameras.3.fov_deg``)
maps back to ``FILE:LINE``. Checks that span fields or files (duplicate ids,
the road network, cameras far from the map, sim:// parameters) run in the
same pass, so a user sees every problem in one go. No message ever contains a
stream password: everything goes through ``redact``.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rtcc_wall.config.schema import CameraConfig, Config
from rtcc_wall.core.cameras import Camera, OwnerInfo, WaiverInfo, make_camera
from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.redact import redact
from rtcc_wall.core.roadcache import load_network_cached
from rtcc_wall.core.roads import RoadNetwork
from rtcc_wall.core.streams import StreamUrlError, parse_stream_url
from rtcc_wall.errors import ConfigError, Problem

Loc = tuple[str | int, ...]


@dataclass
class LoadedConfig:
    """A configuration that passed every check, with the core objects built from it."""

    path: Path
    config: Config
    projection: LocalProjection
    network: RoadNetwork
    cameras: dict[str, Camera]  # in file order

    @property
    def site_name(self) -> str:
        return self.config.site.name


class _Lines:
    """Maps a location in the YAML document to the line where it is written."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def node(self, loc: Loc) -> tuple[yaml.Node | None, yaml.Node | None]:
        """Returns (value node, key node) of the deepest existing node along ``loc``."""
        node = self.root
        key_node: yaml.Node | None = None
        for part in loc:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == part:
                        node, key_node = v, k
                        break
                else:
                    return node, key_node
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if 0 <= part < len(node.value):
                    node, key_node = node.value[part], None
                else:
                    return node, key_node
            else:
                return node, key_node
        return node, key_node

    def line(self, loc: Loc, *, key: bool = False) -> int | None:
        value, key_node = self.node(loc)
        n = key_node if (key and key_node is not None) else value
        return n.start_mark.line + 1 if n is not None else None


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for "did you mean")."""
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        for a in typing.get_args(tp):
            if a is not type(None):
                return _unwrap(a)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    return tp


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _pydantic_problems(err: ValidationError, fname: str, lines: _Lines) -> list[Problem]:
    problems: list[Problem] = []
    for e in err.errors(include_url=False, include_input=False):
        loc: Loc = tuple(e["loc"])
        etype = e["type"]
        if etype == "extra_forbidden":
            parent = loc[:-1]
            model = _model_at(parent)
            options = list(model.model_fields) if model else []
            msg = f"unknown key{_did_you_mean(str(loc[-1]), options)}"
            if options:
                msg += f"; allowed here: {', '.join(options)}"
            problems.append(Problem(fname, lines.line(loc, key=True), _path(loc), msg))
        elif etype == "missing":
            problems.append(
                Problem(fname, lines.line(loc[:-1]), _path(loc), "required key is missing")
            )
        else:
            problems.append(Problem(fname, lines.line(loc), _path(loc), redact(e["msg"])))
    return problems


def _parse_yaml(text: str, fname: str) -> tuple[Any, _Lines]:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        what = redact(str(e.problem or e.context or "syntax error"))
        raise ConfigError([Problem(fname, line, "", f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as e:
        raise ConfigError([Problem(fname, None, "", f"YAML error: {redact(str(e))}")]) from None
    return data, _Lines(root)


def _duplicate_keys(root: yaml.Node | None, fname: str) -> list[Problem]:
    """A key written twice in one mapping: YAML keeps the last silently, we say so."""
    out: list[Problem] = []
    stack: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in node.value:
                key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                here = f"{path}.{key}" if path else key
                if key in seen:
                    out.append(
                        Problem(
                            fname, k.start_mark.line + 1, here,
                            f"written twice (first on line {seen[key]}); only one is used",
                        )
                    )  # fmt: skip
                else:
                    seen[key] = k.start_mark.line + 1
                stack.append((v, here))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node.value))
    return out


def load_config(path: str | Path) -> LoadedConfig:
    """Loads, validates and builds a configuration. Raises ConfigError with every problem."""
    p = Path(path)
    fname = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(fname, None, "", "config file not found")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([Problem(fname, None, "", f"cannot read config file: {e}")]) from None
    data, lines = _parse_yaml(text, fname)
    if data is None:
        raise ConfigError([Problem(fname, 1, "", "the file is empty")])
    if not isinstance(data, dict):
        raise ConfigError([Problem(fname, 1, "", "the top level must be a mapping (key: value)")])

    problems: list[Problem] = _duplicate_keys(lines.root, fname)
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        problems.extend(_pydantic_problems(e, fname, lines))
        # Keep checking what can be checked: the road file and the cameras that did parse.
        config = None
    problems.extend(_check_cameras_raw(data, fname, lines))
    problems.extend(_check_masks_raw(data, fname, lines))
    network: RoadNetwork | None = None
    projection: LocalProjection | None = None
    site = data.get("site") if isinstance(data.get("site"), dict) else None
    if config is not None:
        projection = LocalProjection(config.site.center.lon, config.site.center.lat)
        road_path = _resolve(p, config.site.road_network)
        try:
            network = load_network_cached(road_path, projection)
        except ConfigError as e:
            problems.append(
                Problem(
                    fname,
                    lines.line(("site", "road_network")),
                    "site.road_network",
                    f"cannot load road network {road_path}",
                )
            )
            problems.extend(e.problems)
    elif site is not None and isinstance(site.get("road_network"), str):
        road_path = _resolve(p, site["road_network"])
        if not road_path.is_file():
            problems.append(
                Problem(
                    fname,
                    lines.line(("site", "road_network")),
                    "site.road_network",
                    f"file not found: {road_path}",
                )
            )
    if config is not None:
        problems.extend(_check_semantics(config, fname, lines, network, projection))
    if problems or config is None or network is None or projection is None:
        raise ConfigError(_dedup(problems))
    cameras = {c.id: _camera(c, projection) for c in config.cameras}
    return LoadedConfig(p, config, projection, network, cameras)


def _resolve(config_path: Path, ref: str) -> Path:
    rp = Path(ref).expanduser()
    return rp if rp.is_absolute() else (config_path.parent / rp)


def _dedup(problems: list[Problem]) -> list[Problem]:
    """Each problem once, in file order (files as first met), then by line."""
    seen: set[str] = set()
    out: list[Problem] = []
    for pr in problems:
        s = str(pr)
        if s not in seen:
            seen.add(s)
            out.append(pr)
    files = {f: i for i, f in enumerate(dict.fromkeys(p.file for p in out))}
    return sorted(out, key=lambda p: (files[p.file], p.line or 0))


def _check_cameras_raw(data: dict[str, Any], fname: str, lines: _Lines) -> list[Problem]:
    """Stream URL checks, done on the raw data so they run even when other fields fail."""
    problems: list[Problem] = []
    cams = data.get("cameras")
    if not isinstance(cams, list):
        return problems
    for i, cam in enumerate(cams):
        if not isinstance(cam, dict):
            continue
        for key in ("stream", "sub_stream"):
            url = cam.get(key)
            if isinstance(url, str) and url.strip():
                try:
                    parse_stream_url(url)
                except StreamUrlError as e:
                    loc: Loc = ("cameras", i, key)
                    problems.append(Problem(fname, lines.line(loc), _path(loc), redact(str(e))))
    return problems


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_masks_raw(data: dict[str, Any], fname: str, lines: _Lines) -> list[Problem]:
    """Mask polygons: at least 3 points each, every coordinate in [0, 1].

    Done on the raw data, like the stream URLs, so a wrong point is reported even when
    another field of the camera fails, and named exactly (``cameras[3].masks[0][2]``).
    Wrong shapes and types (a point that is not [x, y], a quoted number) are left to the
    schema, which reports them once.
    """
    problems: list[Problem] = []
    cams = data.get("cameras")
    if not isinstance(cams, list):
        return problems
    for i, cam in enumerate(cams):
        masks = cam.get("masks") if isinstance(cam, dict) else None
        if not isinstance(masks, list):
            continue
        for j, poly in enumerate(masks):
            if not isinstance(poly, list):
                continue
            if len(poly) < 3:
                loc: Loc = ("cameras", i, "masks", j)
                problems.append(
                    Problem(
                        fname,
                        lines.line(loc),
                        _path(loc),
                        f"a mask polygon needs at least 3 points [x, y], got {len(poly)}",
                    )
                )
            for k, point in enumerate(poly):
                if not isinstance(point, list) or len(point) != 2:
                    continue
                for axis, v in zip(("x", "y"), point, strict=True):
                    if _is_number(v) and not 0.0 <= float(v) <= 1.0:  # NaN fails too
                        loc = ("cameras", i, "masks", j, k)
                        problems.append(
                            Problem(
                                fname,
                                lines.line(loc),
                                _path(loc),
                                f"{axis} must be between 0 and 1 (a fraction of the picture's "
                                f"{'width' if axis == 'x' else 'height'}), got {v}",
                            )
                        )
    return problems


def _check_semantics(
    config: Config,
    fname: str,
    lines: _Lines,
    network: RoadNetwork | None,
    projection: LocalProjection | None,
) -> list[Problem]:
    problems: list[Problem] = []

    def add(loc: Loc, msg: str) -> None:
        problems.append(Problem(fname, lines.line(loc), _path(loc), msg))

    if not config.cameras:
        add(("cameras",), "no cameras configured")
    seen: dict[str, int] = {}
    for i, cam in enumerate(config.cameras):
        if cam.id in seen:
            add(
                ("cameras", i, "id"),
                f"duplicate camera id {cam.id!r} (first at cameras[{seen[cam.id]}])",
            )
        else:
            seen[cam.id] = i
        if cam.ownership == "private":
            if cam.owner is None:
                add(("cameras", i), "a private camera needs an owner: {name, contact}")
            if cam.waiver is None:
                add(
                    ("cameras", i),
                    "a private camera needs a waiver: {id, signed, expires, revoked}",
                )
        elif cam.waiver is not None:
            add(("cameras", i, "waiver"), "only private cameras carry a waiver")
        if cam.ownership == "private" and config.access.require_masks_on_private and not cam.masks:
            add(
                ("cameras", i),
                f"private camera {cam.id!r} has no privacy masks, but "
                "access.require_masks_on_private is true: add masks: [[[x, y], ...], ...]",
            )
        if cam.waiver and cam.waiver.expires and cam.waiver.expires < cam.waiver.signed:
            add(("cameras", i, "waiver", "expires"), "expires before it was signed")
    known = list(seen)
    for j, cid in enumerate(config.wall.cameras):
        if cid not in seen:
            add(("wall", "cameras", j), f"unknown camera id {cid!r}{_did_you_mean(cid, known)}")
    view_names: dict[str, int] = {}
    for i, view in enumerate(config.views):
        if view.name in view_names:
            first = view_names[view.name]
            add(("views", i, "name"), f"a second view named {view.name!r} (first: views[{first}])")
        view_names.setdefault(view.name, i)
        for j, cid in enumerate(view.cameras):
            if cid not in seen:
                add(
                    ("views", i, "cameras", j),
                    f"unknown camera id {cid!r}{_did_you_mean(cid, known)}",
                )
    for i, sv in enumerate(config.wall_mode.screens):
        if sv.view not in view_names:
            add(
                ("wall_mode", "screens", i, "view"),
                f"no view named {sv.view!r} in views{_did_you_mean(sv.view, list(view_names))}",
            )
    if network is not None and projection is not None:
        x0, y0, x1, y1 = network.bounds()
        limit = config.site.max_camera_distance_from_map_m
        cx, cy = projection.to_xy(config.site.center.lon, config.site.center.lat)
        if math.hypot(max(x0 - cx, 0, cx - x1), max(y0 - cy, 0, cy - y1)) > limit:
            add(("site", "center"), "the map centre lies far outside the road network")
        for i, cam in enumerate(config.cameras):
            x, y = projection.to_xy(cam.location.lon, cam.location.lat)
            d = math.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1))
            if d > limit:
                add(
                    ("cameras", i, "location"),
                    f"camera {cam.id!r} lies {d / 1000:.1f} km outside the road network's area "
                    f"(limit {limit:.0f} m; swapped lon/lat?)",
                )
    return problems


def _camera(c: CameraConfig, projection: LocalProjection) -> Camera:
    return make_camera(
        id=c.id,
        name=c.name,
        ownership=c.ownership,
        lon=c.location.lon,
        lat=c.location.lat,
        heading_deg=c.heading_deg,
        fov_deg=c.fov_deg,
        range_m=c.range_m,
        stream=c.stream,
        sub_stream=c.sub_stream,
        transport=c.transport,
        projection=projection,
        owner=OwnerInfo(c.owner.name, c.owner.contact) if c.owner else None,
        waiver=(
            WaiverInfo(
                c.waiver.id,
                c.waiver.signed.isoformat(),
                c.waiver.expires.isoformat() if c.waiver.expires else None,
                c.waiver.revoked,
            )
            if c.waiver
            else None
        ),
        sharing=c.sharing,
        allowed_hours=c.allowed_hours,
        masks=tuple(tuple((float(x), float(y)) for x, y in poly) for poly in c.masks),
    )
