"""What durability costs: audit appends per second with synchronous=FULL vs NORMAL.

The audit log commits every event with ``PRAGMA synchronous=FULL`` (an fsync
of the WAL per commit) so that a view is never shown unless its row is on
disk. This measures, in one run on one disk, how many appends per second that
allows and how it compares with ``NORMAL`` (which may lose the last commits on
power loss, not on a process crash). The wall appends a few events per
operator action, so hundreds per second is plenty; the ratio says what FULL
costs on this machine.

    python benchmarks/audit_write.py [--events 2000] [--dir PATH] [--rounds 3]

``--dir`` chooses the disk (default: a temporary folder, which may be tmpfs
and then makes fsync nearly free: point it at the disk the log will live on).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rtcc_wall.core import audit  # noqa: E402
from rtcc_wall.core.audit import AuditLog  # noqa: E402


def appends_per_second(folder: Path, mode: Literal["FULL", "NORMAL"], events: int) -> float:
    """A fresh log, ``events`` typical view_start rows, wall-clock rate."""
    db = folder / f"bench-{mode.lower()}-{time.monotonic_ns()}.sqlite3"
    with AuditLog(db, synchronous=mode) as log:
        log.append(audit.APP_START, operator="system")  # schema and WAL exist before timing
        t0 = time.perf_counter()
        for i in range(events):
            log.append(
                audit.VIEW_START,
                operator="op-07",
                camera_id=f"priv-{i % 40:03d}",
                incident_id="2026-000123",
                ownership="private",
                reason="armed robbery, suspect vehicle northbound",
                outcome="granted",
                detail={"view_id": f"v{i}", "rule": "incident_radius"},
            )
        elapsed = time.perf_counter() - t0
    result = audit.verify(db)
    if not result.ok or result.rows_checked != events + 1:
        raise SystemExit(f"benchmark log does not verify: {result.message}")
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return events / elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--events", type=int, default=2000, help="appends per measurement")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (median reported)")
    p.add_argument("--dir", type=Path, help="folder on the disk to measure (default: temp)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        rates: dict[str, list[float]] = {"FULL": [], "NORMAL": []}
        for _ in range(args.rounds):  # alternate, so drift in the disk hits both alike
            rates["FULL"].append(appends_per_second(folder, "FULL", args.events))
            rates["NORMAL"].append(appends_per_second(folder, "NORMAL", args.events))
        full, normal = statistics.median(rates["FULL"]), statistics.median(rates["NORMAL"])
        print(f"audit appends, {args.events} per round, {args.rounds} rounds, in {folder}")
        print(f"  synchronous=FULL   {full:10.0f} appends/s  ({1000 / full:.3f} ms each)")
        print(f"  synchronous=NORMAL {normal:10.0f} appends/s  ({1000 / normal:.3f} ms each)")
        print(f"  FULL / NORMAL      {full / normal:10.2f}  (FULL costs {normal / full:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
