"""Command line: the GUI's options and the subcommands that need no window.

Exit codes: 0 success, 1 a check that ran and failed, 2 bad input (a bad
config, a bad argument).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rtcc_wall import __version__
from rtcc_wall.core.layouts import LAYOUTS
from rtcc_wall.core.redact import redact
from rtcc_wall.errors import ConfigError

if TYPE_CHECKING:
    from rtcc_wall.config.loader import LoadedConfig
    from rtcc_wall.core.cameras import Camera
    from rtcc_wall.video.sim import SimWorld

if TYPE_CHECKING:
    from rtcc_wall.config.loader import LoadedConfig
    from rtcc_wall.core.routing import EscapeAnalysis

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130  # Ctrl+C, as a shell reports it


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtcc-wall",
        description="Video wall for a Real Time Crime Center. "
        "Subcommands: check-config, nearby, routes, probe, incident, audit, registry, export, "
        "install-launcher, uninstall-launcher "
        "(run 'rtcc-wall SUBCOMMAND --help').",
    )
    p.add_argument("--version", action="version", version=f"rtcc-wall {__version__}")
    p.add_argument("--config", metavar="FILE", help="configuration file (default: see README)")
    p.add_argument(
        "--demo",
        action="store_true",
        help="run the bundled simulated demo city, ignoring any config",
    )
    p.add_argument(
        "--screenshot",
        metavar="PATH",
        help="save a PNG of the main window after --after seconds, then exit (with --wall: "
        "one PNG per window, each path printed: shots/wall.png writes shots/wall-console.png "
        "and shots/wall-screen-MONITOR.png, the monitor's name with characters other than "
        "letters, digits, '.', '_' and '-' replaced by '_')",
    )
    p.add_argument(
        "--wall",
        action="store_true",
        help="wall mode: a frameless full-screen wall on every monitor but the console's "
        "(views from wall_mode in the config, else the last session's); monitors may come "
        "and go while it runs",
    )
    p.add_argument(
        "--console-screen",
        metavar="INDEX|NAME",
        help="with --wall: the monitor for the console (map, incident panel, camera list), by "
        "index (0 = primary, then left to right) or name as the system reports it (default: "
        "wall_mode.console_screen in the config, else 0); implies --wall",
    )
    p.add_argument(
        "--after",
        metavar="SECONDS",
        type=float,
        default=3.0,
        help="delay before --screenshot (default 3)",
    )
    p.add_argument(
        "--layout",
        choices=list(LAYOUTS),
        metavar="LAYOUT",
        help=f"wall layout at start: {', '.join(LAYOUTS)}",
    )
    p.add_argument(
        "--operator",
        metavar="NAME",
        help="who is at this console (default: $RTCC_WALL_OPERATOR, else the OS user); "
        "the role comes from access.operators in the config",
    )
    p.add_argument(
        "--scenario",
        choices=["getaway"],
        help="with --demo: script an incident in the simulated town (getaway: a magenta "
        "suspect car flees along one of the predicted escape routes)",
    )
    p.add_argument(
        "--incident-at",
        metavar="LON,LAT",
        help="open with an incident at this point (its nearby cameras on the wall)",
    )
    return p


def _lonlat(text: str) -> tuple[float, float]:
    try:
        lon_s, lat_s = text.split(",")
        lon, lat = float(lon_s), float(lat_s)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected LON,LAT like -90.1848,32.2988, got {text!r}"
        ) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid longitude,latitude")
    return lon, lat


def _print_problems(e: ConfigError) -> None:
    for p in e.problems:
        print(redact(str(p)), file=sys.stderr)


def _load_or_report(explicit: str | None) -> LoadedConfig | None:
    """The configuration a headless command works on, or None after printing its problems."""
    from rtcc_wall.config.loader import load_config
    from rtcc_wall.paths import discover_config

    path, _origin = discover_config(explicit)
    try:
        return load_config(path)
    except ConfigError as e:
        _print_problems(e)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    from rtcc_wall.config.loader import load_config

    try:
        loaded = load_config(args.file)
    except ConfigError as e:
        _print_problems(e)
        n = len(e.problems)
        print(f"{args.file}: {n} problem{'s' if n != 1 else ''} found", file=sys.stderr)
        return EXIT_BAD_INPUT
    net = loaded.network
    private = sum(1 for c in loaded.cameras.values() if c.ownership == "private")
    print(
        f"{args.file}: OK — site {loaded.site_name!r}, {len(loaded.cameras)} cameras "
        f"({len(loaded.cameras) - private} city, {private} private), road network "
        f"{len(net.segments)} segments / {net.node_count} intersections"
    )
    return EXIT_OK


def cmd_nearby(args: argparse.Namespace) -> int:
    from rtcc_wall.core.spatial import CameraIndex

    loaded = _load_or_report(args.config)
    if loaded is None:
        return EXIT_BAD_INPUT
    radius = args.radius if args.radius is not None else loaded.config.incident.radius_m
    if radius <= 0:
        print("--radius must be positive", file=sys.stderr)
        return EXIT_BAD_INPUT
    lon, lat = args.at
    x, y = loaded.projection.to_xy(lon, lat)
    found = CameraIndex(loaded.cameras.values()).nearby(x, y, radius)
    if args.json:
        doc = {
            "at": {"lon": lon, "lat": lat},
            "radius_m": radius,
            "cameras": [n.as_dict() for n in found],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{len(found)} camera(s) within {radius:.0f} m of {lon:.6f},{lat:.6f}")
    if found:
        print(f"{'id':<14} {'name':<34} {'ownership':<9} {'dist m':>7}  sees point")
        for n in found:
            c = n.camera
            print(
                f"{c.id:<14} {c.name[:34]:<34} {c.ownership:<9} {n.distance_m:>7.1f}  "
                f"{'yes' if n.covers_point else 'no'}"
            )
    return EXIT_OK


def _probe_target(
    args: argparse.Namespace,
) -> tuple[Camera | None, LoadedConfig | None, str | None]:
    """(camera, loaded config or None, error message or None) for ``probe``'s argument.

    A camera id of the config wins; anything else must be a stream URL (or an
    existing file). The config is only required when it was asked for
    (``--config``) or when a sim:// camera needs its road network.
    """
    from rtcc_wall.config.loader import load_config
    from rtcc_wall.core.cameras import make_camera
    from rtcc_wall.core.geo import LocalProjection
    from rtcc_wall.core.streams import StreamUrlError, parse_stream_url
    from rtcc_wall.paths import discover_config

    path, origin = discover_config(args.config)
    loaded = None
    config_error: ConfigError | None = None
    try:
        loaded = load_config(path)
    except ConfigError as e:
        config_error = e
    if config_error is not None and origin == "argument":
        _print_problems(config_error)
        return None, None, f"{path}: the configuration has problems"
    arg = args.target
    if loaded is not None and arg in loaded.cameras:
        return loaded.cameras[arg], loaded, None
    try:
        spec = parse_stream_url(arg)
    except StreamUrlError as e:
        return None, None, redact(str(e))
    if spec.kind == "file" and "://" not in arg and not Path(arg).exists():
        where = f" in {path}" if loaded is not None else ""
        return None, None, redact(f"{arg!r} is neither a camera id{where} nor an existing file")
    if spec.kind == "sim" and loaded is None:
        return None, None, "sim:// cameras need the road network of a configuration (--config)"
    projection = loaded.projection if loaded is not None else LocalProjection(0.0, 0.0)
    lon, lat = (projection.lon0, projection.lat0) if loaded is not None else (0.0, 0.0)
    camera = make_camera(
        id="probe",
        name="probe",
        ownership="city",
        lon=lon,
        lat=lat,
        heading_deg=0.0,
        fov_deg=60.0,
        range_m=50.0,
        stream=arg,
        transport=args.transport or "tcp",
        projection=projection,
    )
    return camera, loaded, None


def cmd_probe(args: argparse.Namespace) -> int:
    import dataclasses
    import threading

    from rtcc_wall.video.probe import StateChange, probe_camera

    if args.seconds <= 0:
        print("--seconds must be positive", file=sys.stderr)
        return EXIT_BAD_INPUT
    camera, loaded, error = _probe_target(args)
    if error is not None or camera is None:
        print(f"rtcc-wall probe: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.transport and camera.transport != args.transport:
        camera = dataclasses.replace(camera, transport=args.transport)

    world_provider: Callable[[], SimWorld] | None = None
    if loaded is not None:
        network = loaded.network
        world_lock = threading.Lock()
        worlds: list[SimWorld] = []

        def build_world() -> SimWorld:
            """The simulated town of the config, built once, on the worker's thread."""
            from rtcc_wall.video.manager import SIM_VEHICLES
            from rtcc_wall.video.sim import SimWorld

            with world_lock:
                if not worlds:
                    worlds.append(SimWorld(network, vehicles=SIM_VEHICLES))
                return worlds[0]

        world_provider = build_world

    print_lock = threading.Lock()

    def show(change: StateChange) -> None:
        with print_lock:
            print(change.line(), flush=True)

    if not args.json:
        print(f"probing {camera.id} ({redact(camera.stream)}) for {args.seconds:g} s", flush=True)
    result = probe_camera(
        camera,
        seconds=args.seconds,
        sim_world_provider=world_provider,
        on_change=None if args.json else show,
    )
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        with print_lock:
            print("summary:")
            for line in result.summary_lines():
                print(f"  {line}")
    return EXIT_OK if result.ok else EXIT_FAILED


def _iso_time(text: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time like 2026-11-27T14:05:00+01:00, got {text!r}"
        ) from None
    return t if t.tzinfo else t.astimezone()  # naive: the machine's local time


def _speed_range(text: str) -> tuple[float, float]:
    try:
        slow_s, fast_s = text.split("-")
        slow, fast = float(slow_s), float(fast_s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SLOW-FAST like 0.8-1.5, got {text!r}") from None
    if not (0.1 <= slow <= fast <= 5.0):
        raise argparse.ArgumentTypeError(f"need 0.1 <= SLOW <= FAST <= 5, got {text!r}")
    return slow, fast


def cmd_routes(args: argparse.Namespace) -> int:
    from rtcc_wall.core.routing import (
        CameraFovIndex,
        RoutingError,
        RoutingGraph,
        SpeedRange,
        analyze,
    )

    if not 0 <= args.minutes <= 60:
        print("rtcc-wall routes: --minutes must be between 0 and 60", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not 1 <= args.routes <= 12:
        print("rtcc-wall routes: --routes must be between 1 and 12", file=sys.stderr)
        return EXIT_BAD_INPUT
    loaded = _load_or_report(args.config)
    if loaded is None:
        return EXIT_BAD_INPUT
    lon, lat = args.at
    x, y = loaded.projection.to_xy(lon, lat)
    at = args.time or dt.datetime.now().astimezone()
    graph = RoutingGraph.from_network(loaded.network, ignore_oneway=args.ignore_oneway)
    try:
        result = analyze(
            graph,
            CameraFovIndex(loaded.cameras.values()),
            x,
            y,
            at=at,
            minutes=args.minutes,
            routes=args.routes,
            speed=SpeedRange(*args.speed),
        )
    except RoutingError as e:
        print(f"rtcc-wall routes: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return EXIT_OK
    _print_routes(result)
    return EXIT_OK


def _print_routes(result: EscapeAnalysis) -> None:
    def clock(t: dt.datetime) -> str:
        return t.astimezone().strftime("%H:%M:%S")

    def mmss(s: float) -> str:
        return f"{int(s // 60)}:{int(s % 60):02d}"

    st = result.start
    print(
        f"Incident {result.at.astimezone():%Y-%m-%d %H:%M:%S %Z}, {result.minutes:g} min horizon, "
        f"speed {result.speed.slow:g}-{result.speed.fast:g} x limit"
        + (", one-way ignored" if result.ignore_oneway else "")
    )
    print(f"  snapped {st.snap_distance_m:.0f} m to the nearest road")
    reach = result.area.reachable_nodes(result.minutes)
    print(f"  reachable: {int(reach.sum())} of {len(reach)} intersections")
    choke = {c.camera.id for c in result.choke_points}
    for r in result.routes:
        print(
            f"\nRoute {r.index + 1} ({r.destination_kind}, heading {r.bearing_deg:.0f}°): "
            f"{r.length_m / 1000:.2f} km, {mmss(r.earliest_s)}-{mmss(r.latest_s)} min:s"
        )
        if not r.cameras:
            print("    no camera on this route")
        for c in r.cameras:
            flag = "  CHOKE POINT" if c.camera.id in choke else ""
            print(
                f"    {c.camera.id:<10} {c.camera.name[:34]:<34} +{mmss(c.earliest_s)}..+"
                f"{mmss(c.latest_s)}  ({clock(c.earliest_at)}-{clock(c.latest_at)}){flag}"
            )
        gaps = sum(g.length_m for g in r.coverage_gaps)
        if r.coverage_gaps:
            print(f"    unseen stretches: {len(r.coverage_gaps)}, {gaps:.0f} m in all")


def _date(text: str) -> dt.date:
    try:
        day: dt.date | None = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or len(text) != 10:
        raise argparse.ArgumentTypeError(
            f"expected a date YYYY-MM-DD like 2026-11-27, got {text!r}"
        )
    return day


def cmd_audit(args: argparse.Namespace) -> int:
    """``audit verify|checkpoint|report``: the administrator's side of the audit log."""
    from rtcc_wall.core import audit

    db = Path(args.db) if args.db else audit.default_db_path()
    prog = f"rtcc-wall audit {args.verb}"
    if not db.is_file():
        print(redact(f"{prog}: no audit log at {db}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.verb == "verify":
            return _audit_verify(db, args)
        if args.verb == "checkpoint":
            cp = audit.checkpoint(db, args.out, force=args.force)
            print(redact(f"checkpoint written to {args.out}: seq {cp.seq}, hash {cp.hash}"))
            print("keep it away from this machine; check later with "
                  "'rtcc-wall audit verify --checkpoint FILE'")  # fmt: skip
            return EXIT_OK
        return _audit_report(db, args)
    except audit.AuditChainError as e:
        print(redact(f"{prog}: {e}"), file=sys.stderr)
        return EXIT_FAILED
    except audit.AuditError as e:
        print(redact(f"{prog}: {e}"), file=sys.stderr)
        return EXIT_BAD_INPUT


def _audit_verify(db: Path, args: argparse.Namespace) -> int:
    from rtcc_wall.core.audit import verify

    result = verify(db, checkpoint=args.checkpoint)
    for w in result.warnings:
        print(redact(f"warning: {w}"), file=sys.stderr)
    if result.ok:
        print(redact(f"OK: {result.message}"))
        return EXIT_OK
    print(redact(f"FAILED: {result.message}"), file=sys.stderr)
    print(
        f"the first {result.rows_checked} events (up to seq {result.last_seq}) are intact",
        file=sys.stderr,
    )
    return EXIT_FAILED


def _audit_report(db: Path, args: argparse.Namespace) -> int:
    from rtcc_wall.core.report import transparency_report

    try:
        report = transparency_report(db, args.date_from, args.date_to)
    except ValueError as e:
        print(f"rtcc-wall audit report: {redact(str(e))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    fmt = args.format or (
        "html" if args.out and args.out.lower().endswith((".html", ".htm")) else "csv"
    )
    text = report.to_html() if fmt == "html" else report.to_csv()
    if not report.chain.ok:
        print(
            redact(f"warning: the audit log does not verify: {report.chain.message}"),
            file=sys.stderr,
        )
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as e:
            print(
                redact(f"rtcc-wall audit report: cannot write {args.out}: {e.strerror or e}"),
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        print(redact(f"report written to {args.out}"))
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _audit_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtcc-wall audit",
        description="The tamper-evident audit log: verify its hash chain, write a checkpoint to "
        "keep elsewhere, or compute the transparency report. Default log: "
        "$RTCC_WALL_AUDIT_DB, else audit.sqlite3 in the user data folder.",
    )
    verbs = p.add_subparsers(dest="verb", required=True, metavar="verify|checkpoint|report")
    v = verbs.add_parser(
        "verify",
        help="recompute the hash chain (exit 0 intact, 1 broken)",
        description="Recompute every hash and link; exit 0 if intact, 1 naming the first bad "
        "sequence number. With --checkpoint a truncated or rewritten tail is caught too.",
    )
    v.add_argument("--db", metavar="PATH", help="the audit log (default: see above)")
    v.add_argument("--checkpoint", metavar="FILE", help="a file written by 'audit checkpoint'")
    c = verbs.add_parser(
        "checkpoint",
        help="write the last seq and hash of a verified log to a file",
        description="Write {db path, seq, hash, time, rows} of a verified log as JSON, to be "
        "kept elsewhere: later, 'audit verify --checkpoint' detects a truncated log.",
    )
    c.add_argument("--db", metavar="PATH")
    c.add_argument("--out", metavar="FILE", required=True)
    c.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    r = verbs.add_parser(
        "report",
        help="transparency report for a period (CSV or HTML)",
        description="Counts of incidents, camera views and viewing time, denials, mask lifts, "
        "exports and replays opened, split by camera ownership, for whole UTC days FROM to TO "
        "inclusive.",
    )
    r.add_argument("--db", metavar="PATH")
    r.add_argument("--from", dest="date_from", metavar="DATE", type=_date, required=True)
    r.add_argument("--to", dest="date_to", metavar="DATE", type=_date, required=True)
    r.add_argument("--format", choices=["csv", "html"], help="default: from --out, else csv")
    r.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    return p


def cmd_registry(args: argparse.Namespace) -> int:
    """``registry import``: enroll cameras from an owners' registry, all rows or none."""
    from rtcc_wall.core.registry_import import ImportCancelled, import_registry
    from rtcc_wall.paths import discover_config

    prog = f"rtcc-wall registry {args.verb}"
    config_path, _origin = discover_config(args.config)
    out = Path(args.out) if args.out else None
    # Ctrl+C asks the import to stop at its next safe point: all or nothing stays true
    cancel = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    progress = _TtyProgress(cancel) if sys.stderr.isatty() else None
    try:
        result = import_registry(
            Path(args.file),
            config_path,
            out=out,
            dry_run=args.dry_run,
            progress=progress,
            cancelled=cancel.is_set,
        )
    except ImportCancelled:
        if progress is not None:
            progress.clear()
        print(
            redact(f"{prog}: cancelled; nothing was imported, {out or config_path} is unchanged"),
            file=sys.stderr,
        )
        return EXIT_CANCELLED
    except ConfigError as e:
        if progress is not None:
            progress.clear()
        _print_problems(e)
        n = len(e.problems)
        print(
            f"{prog}: {n} problem{'s' if n != 1 else ''} found; nothing was imported",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except OSError as e:
        print(redact(f"{prog}: cannot write: {e}"), file=sys.stderr)
        return EXIT_FAILED
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if progress is not None:
        progress.clear()
    if cancel.is_set():
        print(f"{prog}: Ctrl+C came after the import was written", file=sys.stderr)
    plan = result.plan
    for cid in plan.added:
        print(f"  added    {cid}")
    for cid, keys in plan.updated:
        print(f"  updated  {cid} ({', '.join(keys)})")
    if args.dry_run:
        print(f"dry run: {plan.summary()}; nothing written")
        return EXIT_OK
    print(plan.summary())
    print(redact(f"written to {result.written}"))
    if result.backup is not None:
        print(redact(f"previous version kept as {result.backup}"))
    return EXIT_OK


class _TtyProgress:
    """``registry import`` progress on a terminal: one line, rewritten at most 10 times a second."""

    def __init__(self, cancel: threading.Event) -> None:
        self._cancel = cancel
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        pct = 100 * done // total if total else 100
        if self._cancel.is_set():
            tail = "cancelling…"
        elif done < total:
            tail = "Ctrl+C cancels"
        else:
            tail = "checking the new configuration…"
        sys.stderr.write(f"\r  validating rows {done}/{total} ({pct}%)  {tail}\x1b[K")
        sys.stderr.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._shown = False


def _registry_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtcc-wall registry",
        description="The camera registry: import owners' enrollments into the configuration.",
    )
    verbs = p.add_subparsers(dest="verb", required=True, metavar="import")
    i = verbs.add_parser(
        "import",
        help="add or update cameras from a CSV or GeoJSON registry",
        description="Validate every row of FILE (CSV with the header id,name,ownership,lon,lat,"
        "heading_deg,fov_deg,range_m,stream,sub_stream,owner_name,owner_contact,waiver_id,"
        "waiver_signed,waiver_expires,waiver_revoked,sharing,allowed_hours; or GeoJSON Point "
        "features with those properties) and add new cameras / update existing ones by id. "
        "If any row is bad nothing is written and every problem is listed (exit 2). The config "
        "is replaced atomically, its previous version kept as CONFIG.bak.",
    )
    i.add_argument("file", metavar="FILE", help="registry file (.csv, .geojson or .json)")
    i.add_argument("--config", metavar="CONFIG", help="configuration to update")
    i.add_argument("--out", metavar="FILE", help="write the result here, not over CONFIG")
    i.add_argument("--dry-run", action="store_true", help="check and summarize; write nothing")
    return p


if TYPE_CHECKING:
    from rtcc_wall.core.access import Operator
    from rtcc_wall.core.incident_store import IncidentStore


def _incident_context(args: argparse.Namespace, prog: str) -> tuple[LoadedConfig, Operator] | None:
    """The config (for the projection, the cameras and the operators) and who is acting."""
    from rtcc_wall.config.loader import load_config
    from rtcc_wall.core.operators import UnknownOperator, current_operator
    from rtcc_wall.paths import discover_config

    path, _origin = discover_config(args.config)
    try:
        loaded = load_config(path)
    except ConfigError as e:
        _print_problems(e)
        print(f"{prog}: the configuration has problems; nothing was changed", file=sys.stderr)
        return None
    try:
        operator = current_operator(loaded.config.access.to_operators(), args.operator)
    except UnknownOperator as e:
        print(redact(f"{prog}: {e}"), file=sys.stderr)
        return None
    return loaded, operator


def cmd_incident(args: argparse.Namespace) -> int:
    """``incident open|close|list|approve``: incidents from a terminal, audited like the wall's."""
    from rtcc_wall.core import incident_store as store_mod
    from rtcc_wall.core.audit import AuditLog, AuditWriteError, default_db_path

    prog = f"rtcc-wall incident {args.verb}"
    db = Path(args.db) if args.db else store_mod.default_db_path()
    if args.verb == "list":
        return _incident_list(db, args, prog)
    context = _incident_context(args, prog)
    if context is None:
        return EXIT_BAD_INPUT
    loaded, operator = context
    now = dt.datetime.now().astimezone()  # local time: the id carries the site's date
    try:
        with (
            AuditLog(Path(args.audit_db) if args.audit_db else default_db_path()) as log,
            store_mod.IncidentStore(db, log) as store,
        ):
            if args.verb == "open":
                return _incident_open(store, loaded, operator, now, args, prog)
            if args.verb == "close":
                inc = store.close(args.id, operator=operator, reason=args.reason, now=now)
                print(f"{inc.id} closed")
                return EXIT_OK
            return _incident_approve(store, loaded, operator, now, args, prog)
    except (store_mod.UnknownIncident, store_mod.IncidentClosed, ValueError) as e:
        print(redact(f"{prog}: {e}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (AuditWriteError, store_mod.IncidentStoreError) as e:
        print(redact(f"{prog}: {e}; nothing was changed"), file=sys.stderr)
        return EXIT_FAILED


def _incident_open(
    store: IncidentStore,
    loaded: LoadedConfig,
    operator: Operator,
    now: dt.datetime,
    args: argparse.Namespace,
    prog: str,
) -> int:
    import math

    lon, lat = args.at
    x, y = loaded.projection.to_xy(lon, lat)
    x0, y0, x1, y1 = loaded.network.bounds()
    off = math.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1))
    limit = loaded.config.site.max_camera_distance_from_map_m
    if off > limit:
        print(
            f"{prog}: {lon},{lat} lies {off / 1000:.1f} km outside the map of "
            f"{loaded.site_name!r} (limit {limit:.0f} m; swapped lon/lat?)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    inc = store.open(
        x=x, y=y, lon=lon, lat=lat, type=args.type, case_number=args.case,
        reason=args.reason, operator=operator, now=now,
    )  # fmt: skip
    print(inc.id)
    return EXIT_OK


def _incident_approve(
    store: IncidentStore,
    loaded: LoadedConfig,
    operator: Operator,
    now: dt.datetime,
    args: argparse.Namespace,
    prog: str,
) -> int:
    import difflib

    from rtcc_wall.core.access import effective_sharing

    camera = loaded.cameras.get(args.camera_id)
    if camera is None:
        close = difflib.get_close_matches(args.camera_id, list(loaded.cameras), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(f"{prog}: unknown camera id {args.camera_id!r}{hint}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if camera.ownership != "private":
        print(f"{prog}: {camera.id} is a city camera; it has no owner to approve", file=sys.stderr)
        return EXIT_BAD_INPUT
    if effective_sharing(camera) != "on_request":
        print(
            f"warning: {camera.id} is not an on_request camera; "
            "the approval is recorded but changes nothing",
            file=sys.stderr,
        )
    inc = store.approve_owner(args.id, camera.id, operator=operator, note=args.note, now=now)
    print(f"{inc.id}: owner approval recorded for {camera.id}")
    return EXIT_OK


def _incident_list(db: Path, args: argparse.Namespace, prog: str) -> int:
    from rtcc_wall.core.incident_store import IncidentStoreError, read_records

    try:
        records = read_records(db, open_only=args.open)
    except IncidentStoreError as e:
        print(redact(f"{prog}: {e}"), file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not records:
        print("no open incidents" if args.open else "no incidents")
        return EXIT_OK
    print(f"{'id':<18} {'opened':<16} {'status':<6} {'type':<16} {'case':<14} opened by")
    for r in records:
        print(
            f"{r.id:<18} {r.opened_at.astimezone():%Y-%m-%d %H:%M} "
            f"{'open' if r.closed_at is None else 'closed':<6} {r.type[:16]:<16} "
            f"{r.case_number[:14]:<14} {r.opened_by}"
        )
    return EXIT_OK


def _incident_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtcc-wall incident",
        description="Open, close and list incidents, and record an on_request owner's approval. "
        "Every change is written to the audit log first; if that fails nothing changes (exit "
        "1). Default database: $RTCC_WALL_INCIDENTS_DB, else incidents.sqlite3 in the user data "
        "folder. The operator is --operator, else $RTCC_WALL_OPERATOR, else the OS user; with "
        "access.operators configured it must be one of them.",
    )
    verbs = p.add_subparsers(dest="verb", required=True, metavar="open|close|list|approve")

    def common(v: argparse.ArgumentParser, *, acting: bool = True) -> None:
        v.add_argument("--db", metavar="PATH", help="the incident database (default: see above)")
        if acting:
            v.add_argument("--config", metavar="FILE", help="configuration (default: see README)")
            v.add_argument("--operator", metavar="NAME", help="who acts (default: see above)")
            v.add_argument("--audit-db", metavar="PATH", help="the audit log (default: as audit)")

    o = verbs.add_parser(
        "open",
        help="open an incident at a point; prints its id",
        description="Open an incident at LON,LAT (which must lie on the configured map) with "
        "its type, case number and the reason; prints the new id (INC-YYYYMMDD-NNNN).",
    )
    o.add_argument("--at", metavar="LON,LAT", type=_lonlat, required=True)
    o.add_argument("--type", metavar="TYPE", required=True, help="e.g. robbery, shooting")
    o.add_argument("--case", metavar="NUMBER", required=True, help="the case number")
    o.add_argument("--reason", metavar="TEXT", required=True, help="why cameras are needed")
    common(o)
    c = verbs.add_parser("close", help="close an open incident", description="Close ID.")
    c.add_argument("id", metavar="ID")
    c.add_argument("--reason", metavar="TEXT", required=True, help="why it is closed")
    common(c)
    ls = verbs.add_parser(
        "list",
        help="list incidents, newest first",
        description="List incidents, newest first (reads only; an absent database is empty).",
    )
    ls.add_argument("--open", action="store_true", help="only those not closed")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    common(ls, acting=False)
    a = verbs.add_parser(
        "approve",
        help="record an on_request camera owner's approval for an incident",
        description="Record that the owner of CAMERA_ID (an on_request private camera) agreed "
        "to stream it for incident ID; NOTE says how the approval was given.",
    )
    a.add_argument("id", metavar="ID")
    a.add_argument("camera_id", metavar="CAMERA_ID")
    a.add_argument("--note", metavar="TEXT", required=True, help="how the owner approved")
    common(a)
    return p


def cmd_install_launcher(args: argparse.Namespace) -> int:
    """``install-launcher``: a menu entry and desktop icon that start the GUI by double-click."""
    from rtcc_wall.launcher import LauncherError, install_launcher

    try:
        result = install_launcher(desktop_icon=not args.no_desktop_icon, dry_run=args.dry_run)
    except LauncherError as e:
        print(redact(f"rtcc-wall install-launcher: {e}"), file=sys.stderr)
        return EXIT_FAILED
    for line in result.messages:
        print(redact(line))
    return EXIT_OK


def cmd_uninstall_launcher(args: argparse.Namespace) -> int:
    from rtcc_wall.launcher import LauncherError, uninstall_launcher

    try:
        result = uninstall_launcher(dry_run=args.dry_run)
    except LauncherError as e:
        print(redact(f"rtcc-wall uninstall-launcher: {e}"), file=sys.stderr)
        return EXIT_FAILED
    for line in result.messages:
        print(redact(line))
    return EXIT_OK


def _launcher_parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    inst = argparse.ArgumentParser(
        prog="rtcc-wall install-launcher",
        description="Start rtcc-wall by double-click: on Linux a menu entry, icons and a desktop "
        "icon for the current user; on Windows Start-menu and desktop shortcuts to "
        "rtcc-wall-gui (no console window); on macOS the equivalent steps are printed. "
        "'uninstall-launcher' removes exactly what this created.",
    )
    inst.add_argument("--no-desktop-icon", action="store_true", help="menu entry only")
    inst.add_argument("--dry-run", action="store_true", help="say what would be done; do nothing")
    uninst = argparse.ArgumentParser(
        prog="rtcc-wall uninstall-launcher",
        description="Remove the menu entry, icons and desktop icon that install-launcher made.",
    )
    uninst.add_argument("--dry-run", action="store_true", help="say what would be removed")
    return inst, uninst


if TYPE_CHECKING:
    import threading

    from rtcc_wall.core.access import AccessPolicy, IncidentLike
    from rtcc_wall.core.audit import AuditLog
    from rtcc_wall.core.session import AccessSession

#: Longest recording ``export create`` makes (the packets are held in memory).
EXPORT_MAX_SECONDS = 300.0
#: Exit code after Ctrl+C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def cmd_export(args: argparse.Namespace) -> int:
    """``export create|verify``: evidence exports from a terminal, audited like the wall's."""
    if args.verb == "verify":
        return _export_verify(args)
    return _export_create(args)


def _export_verify(args: argparse.Namespace) -> int:
    from rtcc_wall.core.audit import AuditError
    from rtcc_wall.core.export import verify, verify_with_audit

    prog = "rtcc-wall export verify"
    folder = Path(args.dir)
    if not folder.is_dir():
        print(redact(f"{prog}: {folder} is not a folder"), file=sys.stderr)
        return EXIT_BAD_INPUT
    db = Path(args.audit_db) if args.audit_db else None
    if db is not None and not db.is_file():
        print(redact(f"{prog}: no audit log at {db}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.checkpoint and db is None:
        print(f"{prog}: --checkpoint needs --audit-db", file=sys.stderr)
        return EXIT_BAD_INPUT
    problems = verify(folder)
    seq: int | None = None
    if db is not None:
        try:
            more, notes, seq = verify_with_audit(folder, db, checkpoint=args.checkpoint)
        except AuditError as e:
            print(redact(f"{prog}: {e}"), file=sys.stderr)
            return EXIT_BAD_INPUT
        problems += more
        for note in notes:
            print(redact(f"note: {note}"), file=sys.stderr)
    if not problems:
        logged = f"; it is the export of audit event seq {seq} in {db}" if db else ""
        print(redact(f"OK: {folder} is intact (every file matches its SHA-256){logged}"))
        return EXIT_OK
    n = len(problems)
    print(redact(f"FAILED: {folder}: {n} problem{'s' if n != 1 else ''}"), file=sys.stderr)
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    return EXIT_FAILED


def _export_out_dir(text: str, prog: str) -> Path | None:
    """``--out``, created if missing; None (after a message) when it cannot be written."""
    import os

    out = Path(text)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(redact(f"{prog}: cannot create --out {out}: {e.strerror or e}"), file=sys.stderr)
        return None
    if not out.is_dir() or not os.access(out, os.W_OK | os.X_OK):
        print(redact(f"{prog}: --out {out} is not a writable folder"), file=sys.stderr)
        return None
    return out


def _export_incident(args: argparse.Namespace, prog: str) -> tuple[IncidentLike | None, int]:
    """(the incident of ``--incident`` or None, EXIT_OK) or (None, exit code after a message)."""
    from rtcc_wall.core.incident_store import IncidentStoreError, default_db_path, read_records

    if args.incident is None:
        return None, EXIT_OK
    db = Path(args.db) if args.db else default_db_path()
    try:
        found = [r for r in read_records(db) if r.id == args.incident]
    except IncidentStoreError as e:
        print(redact(f"{prog}: {e}"), file=sys.stderr)
        return None, EXIT_FAILED
    if not found:
        print(redact(f"{prog}: no incident {args.incident!r} in {db}"), file=sys.stderr)
        return None, EXIT_BAD_INPUT
    return found[0].incident(), EXIT_OK


def _export_create(args: argparse.Namespace) -> int:
    import difflib

    from rtcc_wall.core.access import AccessPolicy
    from rtcc_wall.core.audit import AuditLog, AuditWriteError, default_db_path

    prog = "rtcc-wall export create"
    if not 0 < args.seconds <= EXPORT_MAX_SECONDS:
        print(f"{prog}: --seconds must be more than 0 and at most {EXPORT_MAX_SECONDS:g}, "
              f"got {args.seconds:g}", file=sys.stderr)  # fmt: skip
        return EXIT_BAD_INPUT
    if not args.reason.strip():
        print(f"{prog}: --reason must say why the export is made", file=sys.stderr)
        return EXIT_BAD_INPUT
    context = _incident_context(args, prog)
    if context is None:
        return EXIT_BAD_INPUT
    loaded, operator = context
    camera = loaded.cameras.get(args.camera)
    if camera is None:
        close = difflib.get_close_matches(args.camera, list(loaded.cameras), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(redact(f"{prog}: unknown camera id {args.camera!r}{hint}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    out = _export_out_dir(args.out, prog)
    if out is None:
        return EXIT_BAD_INPUT
    incident, code = _export_incident(args, prog)
    if code != EXIT_OK:
        return code
    policy = AccessPolicy(loaded.config.access.to_settings())
    try:
        audit = AuditLog(Path(args.audit_db) if args.audit_db else default_db_path())
    except AuditWriteError as e:
        print(redact(f"{prog}: {e}; nothing was recorded"), file=sys.stderr)
        return EXIT_FAILED
    with audit:
        return _export_record(args, prog, loaded, camera, operator, incident, out, policy, audit)


def _export_record(
    args: argparse.Namespace,
    prog: str,
    loaded: LoadedConfig,
    camera: Camera,
    operator: Operator,
    incident: IncidentLike | None,
    out: Path,
    policy: AccessPolicy,
    audit: AuditLog,
) -> int:
    """Checks access, records the next seconds as a view of the camera, then exports them."""
    import threading
    import time

    from rtcc_wall.core import export as ex
    from rtcc_wall.core.session import AccessSession

    kind: ex.ExportKind = "snapshot" if args.snapshot else "clip"
    now = time.time()
    ask = ex.ExportRequest(
        camera=camera, operator=operator, incident=incident, reason=args.reason, kind=kind,
        masked=not args.unmasked, start=now, end=now + args.seconds, out_dir=out,
    )  # fmt: skip
    try:  # refused before anything is recorded (and the refusal is audited)
        ex.authorize(ask, policy=policy, audit=audit, now=dt.datetime.now().astimezone())
    except ex.ExportDenied as e:
        print(redact(f"{prog}: refused: {e}"), file=sys.stderr)
        return EXIT_FAILED
    session = AccessSession(
        operator=operator, policy=policy, audit=audit, cameras=loaded.cameras,
        clock=lambda: dt.datetime.now().astimezone(),
    )  # fmt: skip
    session.set_incident(incident, args.reason)
    decision = session.request_view(camera.id, "export")  # VIEW_START: recording is looking
    if not decision.allowed:
        print(redact(f"{prog}: refused: {camera.id}: {decision.message}"), file=sys.stderr)
        return EXIT_FAILED
    cancel = threading.Event()
    try:
        return _export_write(args, prog, loaded, camera, operator, incident, out, policy, audit,
                             session, cancel)  # fmt: skip
    except KeyboardInterrupt:
        cancel.set()
        print(f"\n{prog}: cancelled (Ctrl+C); nothing was exported", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        session.end_view(camera.id, "export", code="cancelled" if cancel.is_set() else "released")


def _export_write(
    args: argparse.Namespace,
    prog: str,
    loaded: LoadedConfig,
    camera: Camera,
    operator: Operator,
    incident: IncidentLike | None,
    out: Path,
    policy: AccessPolicy,
    audit: AuditLog,
    session: AccessSession,
    cancel: threading.Event,
) -> int:
    from rtcc_wall.core import export as ex
    from rtcc_wall.video import export_media

    world: list[SimWorld] = []

    def sim_world() -> SimWorld:
        from rtcc_wall.video.manager import SIM_VEHICLES
        from rtcc_wall.video.sim import SimWorld

        if not world:
            world.append(SimWorld(loaded.network, vehicles=SIM_VEHICLES))
        return world[0]

    shown = [-1]

    def progress(got: float) -> None:
        if int(got) > shown[0]:
            shown[0] = int(got)
            print(f"  recorded {got:4.1f} of {args.seconds:g} s", flush=True)

    print(redact(f"recording {camera.id} ({camera.stream}) for {args.seconds:g} s "
                 "(Ctrl+C cancels)"), flush=True)  # fmt: skip
    short: export_media.RecordingCutShort | None = None
    try:
        snap = export_media.record(
            camera, args.seconds, sim_world_provider=sim_world, progress=progress, cancel=cancel
        )
    except export_media.RecordingCutShort as e:  # evidence recorded is exported, not lost
        got = "the single picture" if e.held == "a single picture" else f"the {e.held}"
        print(redact(f"{prog}: {e}; exporting {got} recorded"), file=sys.stderr)
        snap, short = e.snapshot, e
    except ex.ExportError as e:
        print(redact(f"{prog}: {e}"), file=sys.stderr)
        return EXIT_FAILED
    # the recording is over: VIEW_STOP now (saying whether the stream broke)
    session.end_view(camera.id, "export", code="stream_broke" if short else "released")
    what = "snapshot" if args.snapshot else "clip"
    print(f"exporting the {what} ({'UNMASKED' if args.unmasked else 'masked'}) ...", flush=True)
    try:
        result = export_media.export_replay(
            snap, camera=camera, operator=operator, incident=incident, reason=args.reason,
            kind="snapshot" if args.snapshot else "clip", out_dir=out, policy=policy,
            audit=audit, masked=not args.unmasked, site_name=loaded.site_name, cancel=cancel,
        )  # fmt: skip
    except ex.ExportExists as e:
        print(redact(f"{prog}: {e}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ex.ExportDenied as e:
        print(redact(f"{prog}: refused: {e}"), file=sys.stderr)
        return EXIT_FAILED
    except ex.ExportError as e:
        print(redact(f"{prog}: {e}; nothing was exported"), file=sys.stderr)
        return EXIT_FAILED
    print(redact(f"exported to {result.path}"))
    for f in result.files:
        print(f"  data/{f.rel}: {f.frames} picture(s), {f.width}x{f.height}, {f.how}")
    print(f"  manifest SHA-256 {result.manifest_sha256} (audit event seq {result.audit_seq})")
    if result.problems:
        for p in result.problems:
            print(f"  verify: {p}", file=sys.stderr)
        return EXIT_FAILED
    print("  verify: OK")
    if short is not None:
        if args.snapshot:
            held = "the snapshot is of the last picture before the break"
        else:
            held = f"the export holds {short.held} of the {args.seconds:g} s asked for"
        print(redact(f"{prog}: {held}: the recording stopped early (see above)"),
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    return EXIT_OK


def _export_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtcc-wall export",
        description="Evidence exports: BagIt folders (RFC 8493) with the clip or snapshot, "
        "metadata.json and the incident's audit events, checkable by anyone with "
        "'sha256sum -c manifest-sha256.txt'. Every export and every refusal is audited.",
    )
    verbs = p.add_subparsers(dest="verb", required=True, metavar="create|verify")
    c = verbs.add_parser(
        "create",
        help="record the next N seconds of a camera and export them",
        description="Record the next N seconds of camera ID and export them (an MP4 clip, or "
        "with --snapshot a PNG of the last picture) into a new folder in DIR. Masked by "
        "default; --unmasked needs the supervisor role. Private cameras follow the viewing "
        "rules (an open incident nearby, a valid waiver...). Exit 0 exported, 1 refused or "
        "failed (or the stream broke mid-recording: what was recorded is exported), 2 bad "
        "input, 130 cancelled.",
    )
    c.add_argument("--config", metavar="FILE", help="configuration (default: see README)")
    c.add_argument("--camera", metavar="ID", required=True, help="the camera's id")
    c.add_argument("--seconds", metavar="N", type=float, required=True,
                   help=f"how long to record (at most {EXPORT_MAX_SECONDS:g})")  # fmt: skip
    c.add_argument("--reason", metavar="TEXT", required=True, help="why the export is made")
    c.add_argument("--incident", metavar="ID", help="the open incident it belongs to")
    c.add_argument("--out", metavar="DIR", required=True, help="folder to put the export in")
    c.add_argument("--unmasked", action="store_true",
                   help="without privacy masks (supervisors only; audited)")  # fmt: skip
    c.add_argument("--snapshot", action="store_true", help="a PNG of the last picture, no clip")
    c.add_argument("--operator", metavar="NAME",
                   help="who acts (default: $RTCC_WALL_OPERATOR, else the OS user)")  # fmt: skip
    c.add_argument("--audit-db", metavar="PATH", help="the audit log (default: as audit)")
    c.add_argument("--db", metavar="PATH", help="the incident database (default: as incident)")
    v = verbs.add_parser(
        "verify",
        help="check an export (exit 0 intact, 1 naming each changed, missing or added file)",
        description="Check the BagIt declaration, both manifests and the Payload-Oxum of an "
        "export folder; exit 0 if intact, 1 naming every problem, 2 if DIR is not a folder or "
        "the audit log or checkpoint cannot be read. With --audit-db (the site's log: no "
        "default here, since the check is what it asks for), also check that the log recorded "
        "this export with these very manifests (catches files changed and manifests "
        "rewritten) and that the log verifies.",
    )
    v.add_argument("dir", metavar="DIR")
    v.add_argument("--audit-db", metavar="PATH",
                   help="the site's audit log, to check the export against")  # fmt: skip
    v.add_argument("--checkpoint", metavar="FILE",
                   help="with --audit-db: an audit checkpoint kept elsewhere")  # fmt: skip
    return p


def _sub_parsers() -> dict[
    str, tuple[argparse.ArgumentParser, Callable[[argparse.Namespace], int]]
]:
    check = argparse.ArgumentParser(
        prog="rtcc-wall check-config",
        description="Validate a configuration file; exit 0 if valid, 2 with every problem if not.",
    )
    check.add_argument("file", metavar="FILE")
    near = argparse.ArgumentParser(
        prog="rtcc-wall nearby",
        description="List the cameras near a point, those that see it first, then nearest first.",
    )
    near.add_argument("--config", metavar="FILE")
    near.add_argument("--at", metavar="LON,LAT", type=_lonlat, required=True)
    near.add_argument("--radius", metavar="M", type=float, help="search radius in metres")
    near.add_argument("--json", action="store_true", help="machine-readable output")
    probe = argparse.ArgumentParser(
        prog="rtcc-wall probe",
        description="Connect to one camera as a wall tile would (640x360) and report: state "
        "changes, time to first frame, resolution, codec, fps, reconnects, last error. "
        "Exit 0 if it delivered frames, 1 if not, 2 on bad input.",
    )
    probe.add_argument("--config", metavar="FILE")
    probe.add_argument(
        "target", metavar="CAMERA_ID_OR_URL", help="a camera id of the config, or a stream URL"
    )
    probe.add_argument(
        "--seconds", metavar="N", type=float, default=5.0, help="how long to watch (default 5)"
    )
    probe.add_argument(
        "--transport", choices=["tcp", "udp"], help="RTSP transport (default: the camera's)"
    )
    probe.add_argument("--json", action="store_true", help="machine-readable output")
    routes = argparse.ArgumentParser(
        prog="rtcc-wall routes",
        description="Escape routes from an incident point: the reachable area, distinct routes "
        "and, for each camera along them, when a fleeing vehicle could pass. JSON schema: README.",
    )
    routes.add_argument("--config", metavar="FILE")
    routes.add_argument("--at", metavar="LON,LAT", type=_lonlat, required=True)
    routes.add_argument(
        "--time", metavar="ISO8601", type=_iso_time, help="incident time (default: now)"
    )
    routes.add_argument(
        "--minutes", metavar="N", type=float, default=10.0, help="time since the incident (0-60)"
    )
    routes.add_argument(
        "--ignore-oneway", action="store_true", help="assume the driver ignores one-way streets"
    )
    routes.add_argument("--routes", metavar="K", type=int, default=7, help="how many routes (1-12)")
    routes.add_argument(
        "--speed",
        metavar="SLOW-FAST",
        type=_speed_range,
        default=(0.8, 1.5),
        help="speed as factors of the limit, e.g. 0.8-1.5 (default)",
    )
    routes.add_argument("--json", action="store_true", help="machine-readable output")
    return {
        "check-config": (check, cmd_check_config),
        "nearby": (near, cmd_nearby),
        "probe": (probe, cmd_probe),
        "routes": (routes, cmd_routes),
        "audit": (_audit_parser(), cmd_audit),
        "registry": (_registry_parser(), cmd_registry),
        "incident": (_incident_parser(), cmd_incident),
        "export": (_export_parser(), cmd_export),
        "install-launcher": (_launcher_parsers()[0], cmd_install_launcher),
        "uninstall-launcher": (_launcher_parsers()[1], cmd_uninstall_launcher),
    }


_COORD_OPTIONS = ("--at", "--incident-at")


def _join_negative_coords(argv: list[str]) -> list[str]:
    """``--at -90.1,32.2`` -> ``--at=-90.1,32.2``: argparse takes a leading '-' for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _COORD_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def run(argv: list[str]) -> int:
    argv = _join_negative_coords(argv)
    subs = _sub_parsers()
    if argv and argv[0] in subs:
        parser, func = subs[argv[0]]
        try:
            args = parser.parse_args(argv[1:])
        except SystemExit as e:
            return EXIT_OK if e.code == 0 else EXIT_BAD_INPUT
        return func(args)
    try:
        args = _gui_parser().parse_args(argv)
    except SystemExit as e:
        return EXIT_OK if e.code == 0 else EXIT_BAD_INPUT
    if args.incident_at is not None:
        try:
            args.incident_at = _lonlat(args.incident_at)
        except argparse.ArgumentTypeError as e:
            print(f"rtcc-wall: --incident-at: {e}", file=sys.stderr)
            return EXIT_BAD_INPUT
    from rtcc_wall.app import run_gui

    return run_gui(args)
