"""The transparency report: what the center did with its cameras, from the audit log alone.

A city publishes how often its Real Time Crime Center opened incidents,
looked at private cameras and for how long, was refused, lifted privacy masks,
exported footage and replayed recorded pictures. Computing this from the audit
log alone (not from application state) means the published numbers are exactly as trustworthy as
the log, and the report states whether the log's chain verified.

Periods are whole calendar days, ``date_from`` to ``date_to`` inclusive, in
``tz`` (UTC unless told). Counts are of events whose time falls in the period.
Viewing time pairs each ``view_start`` with its ``view_stop`` by the
``view_id`` in ``detail`` or, failing that, by (camera, incident, operator) in
order; a view never stopped counts until the next ``app_stop`` or the end of
the period (or now, if that is earlier). Time outside the period is cut off.
Everything is split by the camera's ownership as recorded in the event
(``unknown`` when the event did not record it).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rtcc_wall.core import audit
from rtcc_wall.core.audit import AuditEvent, VerifyResult, format_ts, utc_now
from rtcc_wall.core.redact import redact

BUCKETS: Final = ("city", "private", "unknown")


def _bucket(ownership: str | None) -> str:
    return ownership if ownership in ("city", "private") else "unknown"


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One line of the table. ``by_ownership`` is None for a metric with no camera."""

    metric: str
    label: str
    total: float
    by_ownership: dict[str, float] | None
    decimals: int = 0

    def cell(self, value: float | None) -> str:
        if value is None:
            return ""
        return f"{value:.{self.decimals}f}"


@dataclass(frozen=True)
class Report:
    db_path: str
    date_from: dt.date
    date_to: dt.date
    tz_name: str
    generated_utc: str
    chain: VerifyResult
    events_in_period: int = 0
    incidents_opened: int = 0
    views: dict[str, int] = field(default_factory=dict)
    view_seconds: dict[str, float] = field(default_factory=dict)
    denials: dict[str, int] = field(default_factory=dict)
    mask_lifts: dict[str, int] = field(default_factory=dict)
    exports: dict[str, int] = field(default_factory=dict)
    replays: dict[str, int] = field(default_factory=dict)

    def rows(self) -> list[ReportRow]:
        def split(
            counts: dict[str, int] | dict[str, float], scale: float = 1.0
        ) -> dict[str, float]:
            return {b: counts.get(b, 0) / scale for b in BUCKETS}

        def row(metric: str, label: str, by: dict[str, float], decimals: int = 0) -> ReportRow:
            return ReportRow(metric, label, sum(by.values()), by, decimals)

        return [
            ReportRow("incidents_opened", "Incidents opened", self.incidents_opened, None),
            row("views", "Camera views started", split(self.views)),
            row("view_minutes", "Viewing time (minutes)", split(self.view_seconds, 60.0), 1),
            row("views_denied", "Views denied", split(self.denials)),
            row("mask_lifts", "Privacy masks lifted", split(self.mask_lifts)),
            row("exports", "Exports", split(self.exports)),
            row("replays", "Replays of recorded pictures opened", split(self.replays)),
        ]

    def to_csv(self) -> str:
        """One line per metric: ``from,to,metric,city,private,unknown,total``.

        The period is on every line, so monthly reports can be concatenated.
        """
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["from", "to", "metric", *BUCKETS, "total"])
        for r in self.rows():
            by = r.by_ownership
            w.writerow(
                [
                    self.date_from.isoformat(),
                    self.date_to.isoformat(),
                    r.metric,
                    *(r.cell(None if by is None else by[b]) for b in BUCKETS),
                    r.cell(r.total),
                ]
            )
        return out.getvalue()

    def to_html(self) -> str:
        """A self-contained page (inline style, no scripts, every text escaped)."""

        def e(text: object) -> str:
            return html.escape(redact(str(text)), quote=True)

        period = f"{self.date_from.isoformat()} to {self.date_to.isoformat()} ({self.tz_name})"
        if self.chain.ok:
            chain = f"verified: {self.chain.message}"
            chain_class = "ok"
        else:
            chain = f"DOES NOT VERIFY — {self.chain.message}; the figures may be incomplete"
            chain_class = "bad"
        head = "".join(
            f"<th>{e(h)}</th>" for h in ("Metric", "City", "Private", "Unknown", "Total")
        )
        body = []
        for r in self.rows():
            by = r.by_ownership
            cells = [r.cell(None if by is None else by[b]) for b in BUCKETS]
            body.append(
                f'<tr><th scope="row">{e(r.label)}</th>'
                + "".join(f"<td>{e(c)}</td>" for c in cells)
                + f"<td>{e(r.cell(r.total))}</td></tr>"
            )
        rows_html = "\n".join(body)
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Transparency report {e(period)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 50em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; margin: 1em 0; }}
th, td {{ border: 1px solid #bbb; padding: 0.4em 0.7em; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }}
thead th {{ background: #eee; }}
tbody th {{ text-align: left; font-weight: normal; }}
.ok {{ color: #185c18; }}
.bad {{ color: #a00; font-weight: bold; }}
.note {{ color: #555; font-size: 0.9em; }}
</style>
</head>
<body>
<h1>Real Time Crime Center transparency report</h1>
<p>Period: {e(period)}<br>
Generated: {e(self.generated_utc)}<br>
Source: audit log {e(self.db_path)}, {self.events_in_period} events in the period<br>
Audit chain: <span class="{chain_class}">{e(chain)}</span></p>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{rows_html}
</tbody>
</table>
<p class="note">Computed from the audit log alone. Split by the ownership of the camera as
recorded in each event. Viewing time pairs each view start with its stop; a view that was
never stopped counts until the application stopped or the end of the period. Time outside
the period is not counted.</p>
</body>
</html>
"""


def _period(date_from: dt.date, date_to: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    if date_to < date_from:
        raise ValueError(f"the period ends ({date_to}) before it starts ({date_from})")
    start = dt.datetime.combine(date_from, dt.time(), tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tz)
    return start, end


class _Views:
    """Pairs view starts with stops and sums clipped durations per ownership bucket."""

    def __init__(self, start: dt.datetime, end: dt.datetime) -> None:
        self.start, self.end = start, end
        self.seconds: dict[str, float] = defaultdict(float)
        self._by_id: dict[str, tuple[dt.datetime, str]] = {}
        self._by_key: dict[tuple[str | None, ...], deque[tuple[dt.datetime, str]]] = defaultdict(
            deque
        )

    @staticmethod
    def _key(ev: AuditEvent) -> tuple[str | None, ...]:
        return (ev.camera_id, ev.incident_id, ev.operator)

    def _close(self, began: dt.datetime, bucket: str, ended: dt.datetime) -> None:
        lo, hi = max(began, self.start), min(ended, self.end)
        if hi > lo:
            self.seconds[bucket] += (hi - lo).total_seconds()

    def started(self, ev: AuditEvent) -> None:
        view_id = ev.detail.get("view_id")
        item = (ev.ts, _bucket(ev.ownership))
        if isinstance(view_id, str | int) and not isinstance(view_id, bool):
            self._by_id[str(view_id)] = item
        else:
            self._by_key[self._key(ev)].append(item)

    def stopped(self, ev: AuditEvent) -> None:
        view_id = ev.detail.get("view_id")
        if isinstance(view_id, str | int) and not isinstance(view_id, bool):
            item = self._by_id.pop(str(view_id), None)
        else:
            queue = self._by_key.get(self._key(ev))
            item = queue.popleft() if queue else None
        if item is not None:  # a stop without a start (before the log began) is ignored
            self._close(*item, ev.ts)

    def close_all(self, at: dt.datetime) -> None:
        for began, bucket in self._by_id.values():
            self._close(began, bucket, at)
        for queue in self._by_key.values():
            for began, bucket in queue:
                self._close(began, bucket, at)
        self._by_id.clear()
        self._by_key.clear()


def transparency_report(
    path: Path | str,
    date_from: dt.date,
    date_to: dt.date,
    *,
    tz: dt.tzinfo = dt.UTC,
    now: dt.datetime | None = None,
) -> Report:
    """Counts and viewing times for the period, split by camera ownership.

    Raises ``ValueError`` for a period that ends before it starts and
    :class:`~rtcc_wall.core.audit.AuditError` when the log cannot be read.
    """
    start, end = _period(date_from, date_to, tz)
    now = now or utc_now()
    chain = audit.verify(path)
    views = _Views(start, end)
    counts: dict[str, dict[str, int]] = {
        k: defaultdict(int)
        for k in (
            audit.VIEW_START, audit.VIEW_DENY, audit.MASK_LIFT, audit.EXPORT, audit.REPLAY_OPEN
        )  # fmt: skip
    }
    incidents = in_period = 0
    # Events before the period matter too: a view started yesterday may run into it.
    events: Iterable[AuditEvent] = audit.read_events(path, before_ts=format_ts(end))
    for ev in events:
        try:
            t = ev.ts
        except ValueError:
            continue  # a malformed time: the chain check reports the row
        inside = start <= t < end
        in_period += inside
        if ev.kind == audit.VIEW_START:
            views.started(ev)
        elif ev.kind == audit.VIEW_STOP:
            views.stopped(ev)
        elif ev.kind == audit.APP_STOP:
            views.close_all(t)
        if not inside:
            continue
        if ev.kind == audit.INCIDENT_OPEN:
            incidents += 1
        elif ev.kind in counts:
            counts[ev.kind][_bucket(ev.ownership)] += 1
    views.close_all(min(end, now))
    return Report(
        db_path=redact(str(path)),
        date_from=date_from,
        date_to=date_to,
        tz_name=str(tz),
        generated_utc=format_ts(now),
        chain=chain,
        events_in_period=in_period,
        incidents_opened=incidents,
        views=dict(counts[audit.VIEW_START]),
        view_seconds=dict(views.seconds),
        denials=dict(counts[audit.VIEW_DENY]),
        mask_lifts=dict(counts[audit.MASK_LIFT]),
        exports=dict(counts[audit.EXPORT]),
        replays=dict(counts[audit.REPLAY_OPEN]),
    )
