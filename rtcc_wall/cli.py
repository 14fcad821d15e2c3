"""Command line: the GUI's options and the subcommands that need no window.

Exit codes: 0 success, 1 a check that ran and failed, 2 bad input (a bad
config, a bad argument).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from rtcc_wall import __version__
from rtcc_wall.core.redact import redact
from rtcc_wall.errors import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rtcc-wall",
        description="Video wall for a Real Time Crime Center. "
        "Subcommands: check-config, nearby (run 'rtcc-wall SUBCOMMAND --help').",
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
        help="save a PNG of the main window after --after seconds, then exit",
    )
    p.add_argument(
        "--after",
        metavar="SECONDS",
        type=float,
        default=3.0,
        help="delay before --screenshot (default 3)",
    )
    p.add_argument("--layout", choices=["1x1", "2x2", "3x3", "4x4"], help="wall layout at start")
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
    from rtcc_wall.config.loader import load_config
    from rtcc_wall.core.spatial import CameraIndex
    from rtcc_wall.paths import discover_config

    path, _origin = discover_config(args.config)
    try:
        loaded = load_config(path)
    except ConfigError as e:
        _print_problems(e)
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
    return {"check-config": (check, cmd_check_config), "nearby": (near, cmd_nearby)}


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
