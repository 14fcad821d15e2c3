"""Bulk enrollment: private (and city) cameras from an owners' registry into the config.

Registries come as a CSV export of the enrollment spreadsheet or as GeoJSON
Point features. Each row is validated with the config's own ``CameraConfig``
model, so a row that imports is a camera the wall accepts. Nothing is
half-imported: one bad row, and nothing is written; every problem is listed
at once, naming the row (CSV line, GeoJSON feature index) and the column.
The updated config is written atomically (temp file + ``os.replace``) with a
``.bak`` copy of the file it replaces. Messages go through ``redact``: stream
passwords never reach the terminal.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import difflib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rtcc_wall.config.schema import CameraConfig, Config
from rtcc_wall.core.redact import redact
from rtcc_wall.core.streams import StreamUrlError, parse_stream_url
from rtcc_wall.errors import ConfigError, Problem, RtccError

COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "ownership",
    "lon",
    "lat",
    "heading_deg",
    "fov_deg",
    "range_m",
    "stream",
    "sub_stream",
    "owner_name",
    "owner_contact",
    "waiver_id",
    "waiver_signed",
    "waiver_expires",
    "waiver_revoked",
    "sharing",
    "allowed_hours",
)
#: Columns a CSV header must have; the others may be left out (empty for every row).
REQUIRED_COLUMNS = COLUMNS[:9]

#: Camera keys the registry owns. On update they are replaced; any other key of the
#: existing camera (transport, masks ...) is kept.
REGISTRY_KEYS = frozenset(
    {
        "id",
        "name",
        "ownership",
        "location",
        "heading_deg",
        "fov_deg",
        "range_m",
        "stream",
        "sub_stream",
        "owner",
        "waiver",
        "sharing",
        "allowed_hours",
    }
)

_NESTED_COLUMN = {
    ("location", "lon"): "lon",
    ("location", "lat"): "lat",
    ("owner", "name"): "owner_name",
    ("owner", "contact"): "owner_contact",
    ("waiver", "id"): "waiver_id",
    ("waiver", "signed"): "waiver_signed",
    ("waiver", "expires"): "waiver_expires",
    ("waiver", "revoked"): "waiver_revoked",
}
_FIRST_COLUMN = {"location": "lon", "owner": "owner_name", "waiver": "waiver_id"}


class ImportCancelled(RtccError):
    """The import was cancelled (``cancelled()`` turned true) before anything was written."""


#: ``progress(done, total)``: rows validated so far, of all rows.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RegistryRow:
    """One validated row, and where it came from (for messages)."""

    camera: CameraConfig
    where: str  # "owners.csv:5" or "owners.geojson: features[3]"


@dataclass
class ImportPlan:
    """What an import would do; ``text`` is the new config file."""

    added: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)  # (id, changed keys)
    unchanged: list[str] = field(default_factory=list)
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged"
        )


# --- reading ---------------------------------------------------------------------------


def read_registry(
    path: Path,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[RegistryRow]:
    """Reads and validates every row of a CSV or GeoJSON registry.

    Raises ConfigError listing every problem of every row; ImportCancelled as
    soon as ``cancelled()`` is true (checked before each row).
    """
    fname = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets like to add a BOM
    except FileNotFoundError:
        raise ConfigError([Problem(fname, None, "", "registry file not found")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([Problem(fname, None, "", f"cannot read registry file: {e}")]) from None
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        raw_rows, problems = _geojson_rows(text, fname)
    elif suffix in (".csv", ".txt"):
        raw_rows, problems = _csv_rows(text, fname)
    else:
        raise ConfigError(
            [Problem(fname, None, "", "expected a .csv or .geojson/.json registry file")]
        )
    rows: list[RegistryRow] = []
    first_seen: dict[str, str] = {}
    total = len(raw_rows)
    for done, (raw, loc) in enumerate(raw_rows):
        if cancelled is not None and cancelled():
            raise ImportCancelled(f"cancelled after {done} of {total} rows; nothing was written")
        if progress is not None:
            progress(done, total)
        row, row_problems = _validate_row(raw, loc)
        problems.extend(row_problems)
        cid = _cell(raw, "id")
        if isinstance(cid, str):  # a duplicate is named even when the first row was bad
            if cid in first_seen:
                problems.append(
                    loc.problem("id", f"duplicate camera id {cid!r} (first at {first_seen[cid]})")
                )
                continue
            first_seen[cid] = loc.describe()
        if row is not None:
            rows.append(row)
    if progress is not None:
        progress(total, total)
    if not raw_rows and not problems:
        problems.append(Problem(fname, None, "", "the registry has no rows"))
    if problems:
        raise ConfigError(problems)
    return rows


@dataclass(frozen=True)
class _Loc:
    """Where a row is: a CSV line, or a GeoJSON feature index."""

    file: str
    line: int | None = None
    feature: int | None = None

    def describe(self) -> str:
        return (
            f"{self.file}:{self.line}"
            if self.line is not None
            else (f"{self.file}: features[{self.feature}]")
        )

    def problem(self, column: str, message: str) -> Problem:
        if self.feature is not None:
            where = "geometry" if column in ("lon", "lat") else f"properties.{column}"
            path = f"features[{self.feature}].{where}" if column else f"features[{self.feature}]"
            return Problem(self.file, None, path, redact(message))
        return Problem(self.file, self.line, column, redact(message))


def _did_you_mean(word: str) -> str:
    close = difflib.get_close_matches(word, COLUMNS, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _csv_rows(text: str, fname: str) -> tuple[list[tuple[dict[str, Any], _Loc]], list[Problem]]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    problems: list[Problem] = []
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        return [], [Problem(fname, 1, "", "the CSV file has no header line")]
    for h in header:
        if h not in COLUMNS:
            problems.append(Problem(fname, 1, h, f"unknown column{_did_you_mean(h)}"))
    for h in REQUIRED_COLUMNS:
        if h not in header:
            problems.append(Problem(fname, 1, h, "required column is missing"))
    if problems:
        return [], problems
    reader.fieldnames = header
    rows: list[tuple[dict[str, Any], _Loc]] = []
    try:
        for rec in reader:
            # the line the record ends on: its own line unless a quoted cell spans lines
            loc = _Loc(fname, line=reader.line_num)
            extra = rec.pop(None, None)
            if extra:
                problems.append(loc.problem("", f"{len(extra)} more cell(s) than the header"))
                continue
            rows.append(({k: v for k, v in rec.items() if k is not None}, loc))
    except csv.Error as e:
        problems.append(Problem(fname, reader.line_num, "", f"CSV syntax error: {e}"))
    return rows, problems


def _geojson_rows(text: str, fname: str) -> tuple[list[tuple[dict[str, Any], _Loc]], list[Problem]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        return [], [Problem(fname, e.lineno, "", f"JSON syntax error: {e.msg}")]
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not (isinstance(doc, dict) and doc.get("type") == "FeatureCollection") or not isinstance(
        feats, list
    ):
        return [], [Problem(fname, None, "", "expected a GeoJSON FeatureCollection")]
    rows: list[tuple[dict[str, Any], _Loc]] = []
    problems: list[Problem] = []
    for i, feat in enumerate(feats):
        loc = _Loc(fname, feature=i)
        props = feat.get("properties") if isinstance(feat, dict) else None
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        if not isinstance(props, dict):
            problems.append(Problem(fname, None, f"features[{i}].properties", "expected a mapping"))
            continue
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if (
            not isinstance(geom, dict)
            or geom.get("type") != "Point"
            or not isinstance(coords, list)
            or len(coords) < 2
        ):
            problems.append(
                Problem(fname, None, f"features[{i}].geometry", "expected a Point [lon, lat]")
            )
            continue
        bad = False
        for key in props:
            if key not in COLUMNS:
                problems.append(loc.problem(str(key), f"unknown property{_did_you_mean(str(key))}"))
                bad = True
        row = dict(props)
        for key, value in (("lon", coords[0]), ("lat", coords[1])):
            given = row.get(key)
            if given not in (None, "") and given != value:
                problems.append(
                    loc.problem(key, f"property {key}={given!r} disagrees with the geometry")
                )
                bad = True
            row[key] = value
        if not bad:
            rows.append((row, loc))
    return rows, problems


def _cell(raw: dict[str, Any], key: str) -> Any:
    """A cell's value, or None when empty (an empty cell means "not given")."""
    v = raw.get(key)
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


def _camera_input(raw: dict[str, Any]) -> dict[str, Any]:
    """A row as the nested mapping ``CameraConfig`` validates."""
    data: dict[str, Any] = {}
    for key in ("id", "name", "ownership", "heading_deg", "fov_deg", "range_m", "stream"):
        if (v := _cell(raw, key)) is not None:
            data[key] = v
    for key in ("sub_stream", "sharing", "allowed_hours"):
        if (v := _cell(raw, key)) is not None:
            data[key] = v
    lon, lat = _cell(raw, "lon"), _cell(raw, "lat")
    if lon is not None or lat is not None:
        data["location"] = {k: v for k, v in (("lon", lon), ("lat", lat)) if v is not None}
    for group, keys in (("owner", ("name", "contact")), ("waiver", _WAIVER_KEYS)):
        sub = {k: v for k in keys if (v := _cell(raw, f"{group}_{k}")) is not None}
        if sub:
            data[group] = sub
    return data


_WAIVER_KEYS = ("id", "signed", "expires", "revoked")


def _column(loc: tuple[int | str, ...]) -> str:
    parts = tuple(str(p) for p in loc)
    if len(parts) >= 2 and (parts[0], parts[1]) in _NESTED_COLUMN:
        return _NESTED_COLUMN[(parts[0], parts[1])]
    if parts and parts[0] in _FIRST_COLUMN:
        return _FIRST_COLUMN[parts[0]]
    return parts[0] if parts else ""


def _validate_row(raw: dict[str, Any], loc: _Loc) -> tuple[RegistryRow | None, list[Problem]]:
    data = _camera_input(raw)
    cid = data.get("id")
    tag = f" (camera {cid!r})" if isinstance(cid, str) else ""
    problems: list[Problem] = []
    for key in ("stream", "sub_stream"):
        url = data.get(key)
        if isinstance(url, str):
            try:
                parse_stream_url(url)
            except StreamUrlError as e:
                problems.append(loc.problem(key, f"{e}{tag}"))
    # the loader's cross-field rules, per row so that the row is named; on the raw
    # values, so that they are reported together with the field errors
    ownership = data.get("ownership")
    if ownership == "private":
        if "owner" not in data:
            problems.append(
                loc.problem(
                    "owner_name", f"a private camera needs owner_name and owner_contact{tag}"
                )
            )
        if "waiver" not in data:
            problems.append(
                loc.problem("waiver_id", f"a private camera needs waiver_id and waiver_signed{tag}")
            )
    elif ownership == "city" and "waiver" in data:
        problems.append(loc.problem("waiver_id", f"only private cameras carry a waiver{tag}"))
    try:
        cam = CameraConfig.model_validate(data)
    except ValidationError as e:
        for err in e.errors(include_url=False, include_input=False):
            eloc = tuple(err["loc"])
            col = _column(eloc)
            if err["type"] == "missing":
                if len(eloc) == 1 and eloc[0] in _FIRST_COLUMN:
                    msg = f"required ({eloc[0]} columns are empty)"
                else:
                    msg = "required value is missing"
            else:
                msg = err["msg"]
            problems.append(loc.problem(col, f"{msg}{tag}"))
        return None, problems
    if cam.waiver and cam.waiver.expires and cam.waiver.expires < cam.waiver.signed:
        problems.append(loc.problem("waiver_expires", f"expires before it was signed{tag}"))
    if problems:
        return None, problems
    return RegistryRow(cam, loc.describe()), []


# --- merging ---------------------------------------------------------------------------


def _tidy(v: float) -> float | int:
    """80.0 -> 80, as a person writes it in the config."""
    return int(v) if v.is_integer() else v


def camera_mapping(cam: CameraConfig) -> dict[str, Any]:
    """The registry keys of a camera as written into the config, in the documented order."""
    out: dict[str, Any] = {
        "id": cam.id,
        "name": cam.name,
        "ownership": cam.ownership,
        "location": {"lon": cam.location.lon, "lat": cam.location.lat},
        "heading_deg": _tidy(cam.heading_deg),
        "fov_deg": _tidy(cam.fov_deg),
        "range_m": _tidy(cam.range_m),
        "stream": cam.stream,
    }
    if cam.sub_stream is not None:
        out["sub_stream"] = cam.sub_stream
    if cam.owner is not None:
        out["owner"] = {"name": cam.owner.name, "contact": cam.owner.contact}
    if cam.waiver is not None:
        w: dict[str, Any] = {"id": cam.waiver.id, "signed": cam.waiver.signed}
        if cam.waiver.expires is not None:
            w["expires"] = cam.waiver.expires
        w["revoked"] = cam.waiver.revoked
        out["waiver"] = w
    if cam.sharing is not None:
        out["sharing"] = cam.sharing
    if cam.allowed_hours is not None:
        out["allowed_hours"] = cam.allowed_hours
    return out


def plan_import(config_path: Path, rows: list[RegistryRow]) -> ImportPlan:
    """Merges ``rows`` into the config's camera list (by id); ConfigError if that breaks it."""
    fname = str(config_path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([Problem(fname, None, "", f"cannot read config file: {e}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError([Problem(fname, None, "", f"YAML error: {redact(str(e))}")]) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem(fname, None, "", "the top level must be a mapping")])
    cams = data.get("cameras")
    if cams is None:
        cams = []
    if not isinstance(cams, list):
        raise ConfigError([Problem(fname, None, "cameras", "expected a list")])
    new_data = copy.deepcopy(data)
    new_cams: list[Any] = list(copy.deepcopy(cams))
    index = {c.get("id"): i for i, c in enumerate(new_cams) if isinstance(c, dict)}
    plan = ImportPlan()
    for row in rows:
        cam = row.camera
        fresh = camera_mapping(cam)
        i = index.get(cam.id)
        if i is None:
            index[cam.id] = len(new_cams)
            new_cams.append(fresh)
            plan.added.append(cam.id)
            continue
        old = new_cams[i]
        merged = {**fresh, **{k: v for k, v in old.items() if k not in REGISTRY_KEYS}}
        try:
            before: CameraConfig | None = CameraConfig.model_validate(old)
        except ValidationError:
            before = None
        try:
            after = CameraConfig.model_validate(merged)
        except ValidationError as e:  # a kept key no longer fits the new row
            msgs = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in e.errors(include_url=False, include_input=False)
            )
            where = f"after update from {row.where}: {msgs}"
            raise ConfigError([Problem(fname, None, f"cameras[{i}]", redact(where))]) from None
        if before == after:
            plan.unchanged.append(cam.id)
            continue
        changed = sorted(
            k
            for k in type(after).model_fields
            if before is None or getattr(before, k) != getattr(after, k)
        )
        new_cams[i] = merged
        plan.updated.append((cam.id, changed))
    new_data["cameras"] = new_cams
    try:
        Config.model_validate(new_data)
    except ValidationError as e:
        raise ConfigError(
            [
                Problem(
                    fname,
                    None,
                    ".".join(str(p) for p in err["loc"]),
                    redact(f"after the import: {err['msg']}"),
                )
                for err in e.errors(include_url=False, include_input=False)
            ]
        ) from None
    plan.data = new_data
    plan.text = render_config(text, new_data)
    return plan


def render_config(original: str, data: dict[str, Any]) -> str:
    """The new config text.

    When ``cameras`` is the last top-level key (as in config.example.yaml),
    everything above it — the documentation comments included — is kept as
    it was and only the camera list is rewritten; otherwise the whole file
    is dumped anew (its comments are lost, the ``.bak`` keeps them).
    """
    cams_yaml = yaml.safe_dump(
        data.get("cameras", []),
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=None,
    )
    root = yaml.compose(original, Loader=yaml.SafeLoader)
    if isinstance(root, yaml.MappingNode) and root.value:
        last_key = root.value[-1][0]
        if isinstance(last_key, yaml.ScalarNode) and last_key.value == "cameras":
            lines = original.splitlines(keepends=True)
            head = "".join(lines[: last_key.start_mark.line])
            body = "".join(f"  {ln}" if ln.strip() else ln for ln in cams_yaml.splitlines(True))
            return f"{head}cameras:\n{body}"
    return yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )


# --- writing ---------------------------------------------------------------------------


def write_atomically(target: Path, text: str, *, backup: bool = True) -> Path | None:
    """Writes ``text`` to ``target`` so that a reader sees the old or the new file, never half.

    With ``backup``, an existing ``target`` is first copied to ``target.bak``
    (returned). The temp file lives beside the target so ``os.replace`` stays
    on one file system.
    """
    bak: Path | None = None
    if backup and target.exists():
        bak = target.with_name(target.name + ".bak")
        shutil.copy2(target, bak)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if target.exists():
            shutil.copymode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return bak


def check_whole_config(plan: ImportPlan, config_path: Path) -> list[Problem]:
    """Every check ``check-config`` makes (road network, distance to the map ...) on the result.

    Run on a copy in a private temp folder, with the road network path made
    absolute, so that a dry run writes nothing beside the config.
    """
    from rtcc_wall.config.loader import load_config  # config builds on core; import late

    data = copy.deepcopy(plan.data)
    site = data.get("site")
    if isinstance(site, dict) and isinstance(site.get("road_network"), str):
        ref = Path(site["road_network"]).expanduser()
        if not ref.is_absolute():
            site["road_network"] = str((config_path.parent / ref).resolve())
    with tempfile.TemporaryDirectory(prefix="rtcc-import-") as d:
        tmp = Path(d) / config_path.name
        tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        try:
            load_config(tmp)
        except ConfigError as e:
            return [
                Problem(str(config_path), None, p.path, redact(f"after the import: {p.message}"))
                for p in e.problems
            ]
    return []


@dataclass(frozen=True)
class ImportResult:
    plan: ImportPlan
    written: Path | None
    backup: Path | None


def import_registry(
    registry: Path,
    config_path: Path,
    *,
    out: Path | None = None,
    dry_run: bool = False,
    whole_check: Callable[[ImportPlan, Path], list[Problem]] | None = check_whole_config,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ImportResult:
    """Reads, validates, merges and (unless ``dry_run``) writes; ConfigError if anything is wrong.

    Nothing is written unless every row and the resulting config are valid.
    ``progress(done, total)`` follows the row validation; ``cancelled()`` is
    checked before each row and between the steps, the last time right before
    the atomic write: a cancelled import raises ImportCancelled and leaves
    every file as it was.
    """

    def check(step: str) -> None:
        if cancelled is not None and cancelled():
            raise ImportCancelled(f"cancelled {step}; nothing was written")

    rows = read_registry(registry, progress=progress, cancelled=cancelled)
    check("after reading the registry")
    plan = plan_import(config_path, rows)
    check("after merging")
    if whole_check is not None:
        problems = whole_check(plan, config_path)
        if problems:
            raise ConfigError(problems)
        check("after checking the new configuration")
    if dry_run:
        return ImportResult(plan, None, None)
    target = out if out is not None else config_path
    bak = write_atomically(target, plan.text, backup=True)
    return ImportResult(plan, target, bak)
