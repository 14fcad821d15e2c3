"""`rtcc-wall incident open|close|list|approve`, run as a user would (real processes).

Every run gets its own incident and audit databases in ``tmp_path`` (``--db``,
``--audit-db``) and the environment points the defaults there too, so no test
touches the user's data folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtcc_wall.core import audit

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config.example.yaml"
ON_MAP = "-90.1848,32.2988"  # the demo town's centre (negative longitude on purpose)


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "incidents.sqlite3"
        self.audit_db = tmp_path / "audit.sqlite3"
        self.env = {
            **os.environ,
            "RTCC_WALL_AUDIT_DB": str(tmp_path / "default-audit.sqlite3"),
            "RTCC_WALL_INCIDENTS_DB": str(tmp_path / "default-incidents.sqlite3"),
            "RTCC_WALL_OPERATOR": "alice",
        }
        self.env.pop("RTCC_WALL_CONFIG", None)

    def run(
        self, *args: str, config: Path = DEMO_CONFIG, acting: bool = True
    ) -> subprocess.CompletedProcess[str]:
        extra = ["--db", str(self.db)]
        if acting:
            extra += ["--audit-db", str(self.audit_db), "--config", str(config)]
        return subprocess.run(
            [sys.executable, "-m", "rtcc_wall", "incident", *args, *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
        )

    def listing(self, *args: str) -> list[dict[str, Any]]:
        r = self.run("list", "--json", *args, acting=False)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert isinstance(doc, list)
        return doc


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def _config(tmp_path: Path, **access: object) -> Path:
    """The demo config with an access section of our own (and an absolute road file)."""
    doc = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    doc["site"]["road_network"] = str(DEMO_CONFIG.parent / doc["site"]["road_network"])
    doc["access"].update(access)
    for cam in doc["cameras"]:
        if cam["id"] == "priv-01":
            cam["sharing"] = "on_request"
    out = tmp_path / "config.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


def test_open_list_close_round_trip(cli: Cli) -> None:
    r = cli.run(
        "open", "--at", ON_MAP, "--type", "robbery", "--case", "2026-004711",
        "--reason", "armed robbery at the pharmacy",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    iid = r.stdout.strip()
    assert iid.startswith("INC-")
    assert len(iid) == len("INC-20261127-0001")

    listed = cli.listing()
    assert [i["id"] for i in listed] == [iid]
    inc = listed[0]
    assert inc["status"] == "open"
    assert (inc["type"], inc["case_number"]) == ("robbery", "2026-004711")
    assert inc["reason"] == "armed robbery at the pharmacy"
    assert (inc["lon"], inc["lat"]) == (-90.1848, 32.2988)
    assert inc["opened_by"] == "alice"
    assert inc["opened_at"].endswith("Z")
    assert cli.listing("--open") == listed

    r = cli.run("close", iid, "--reason", "suspect arrested", "--operator", "bob")
    assert r.returncode == 0, r.stderr
    assert cli.listing("--open") == []
    closed = cli.listing()[0]
    assert closed["status"] == "closed"
    assert (closed["closed_by"], closed["close_reason"]) == ("bob", "suspect arrested")

    r = cli.run("list", acting=False)  # the human table
    assert r.returncode == 0
    assert iid in r.stdout
    assert "closed" in r.stdout

    r = subprocess.run(
        [sys.executable, "-m", "rtcc_wall", "audit", "verify", "--db", str(cli.audit_db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "OK: 2 events" in r.stdout
    events = list(audit.read_events(cli.audit_db))
    assert [e.kind for e in events] == [audit.INCIDENT_OPEN, audit.INCIDENT_CLOSE]
    assert json.loads(events[0].detail_json)["case_number"] == "2026-004711"
    assert not Path(cli.env["RTCC_WALL_AUDIT_DB"]).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "10.0,32.2988"], "outside the map"),
        (["--at", "-90.1848"], "expected LON,LAT"),
        (["--at", ON_MAP, "--type", "  "], "type is required"),
        (["--at", ON_MAP, "--case", ""], "case number is required"),
        (["--at", ON_MAP, "--reason", " "], "reason is required"),
    ],
)
def test_open_with_bad_input_exits_2(cli: Cli, args: list[str], message: str) -> None:
    base = {"--type": "robbery", "--case": "C-1", "--reason": "why"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for kv in base.items() for x in kv]
    r = cli.run("open", *flat)
    assert r.returncode == 2
    assert message in r.stderr
    assert cli.listing() == []


def test_close_unknown_or_twice_exits_2(cli: Cli) -> None:
    r = cli.run("close", "INC-19990101-0001", "--reason", "x")
    assert r.returncode == 2
    assert "no incident 'INC-19990101-0001'" in r.stderr
    iid = cli.run("open", "--at", ON_MAP, "--type", "t", "--case", "c", "--reason", "r").stdout
    assert cli.run("close", iid.strip(), "--reason", "done").returncode == 0
    r = cli.run("close", iid.strip(), "--reason", "again")
    assert r.returncode == 2
    assert "already closed" in r.stderr


def test_a_refused_audit_write_exits_1_and_opens_nothing(cli: Cli) -> None:
    audit.AuditLog(cli.audit_db).close()
    conn = sqlite3.connect(cli.audit_db, isolation_level=None)
    conn.execute(
        "CREATE TRIGGER refuse_all BEFORE INSERT ON events "
        "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
    )
    conn.close()
    r = cli.run("open", "--at", ON_MAP, "--type", "t", "--case", "c", "--reason", "r")
    assert r.returncode == 1
    assert "disk says no" in r.stderr
    assert "nothing was changed" in r.stderr
    assert cli.listing() == []


def test_configured_operators_only(cli: Cli, tmp_path: Path) -> None:
    config = _config(tmp_path, operators=[{"name": "sue", "role": "supervisor"}])
    args = ("open", "--at", ON_MAP, "--type", "t", "--case", "c", "--reason", "r")
    r = cli.run(*args, config=config)  # alice, from the environment, is not listed
    assert r.returncode == 2
    assert "'alice'" in r.stderr
    assert "configured operators: sue" in r.stderr
    r = cli.run(*args, "--operator", "sue", config=config)
    assert r.returncode == 0, r.stderr
    event = next(iter(audit.read_events(cli.audit_db)))
    assert event.operator == "sue"
    assert json.loads(event.detail_json)["role"] == "supervisor"


def test_approve_an_on_request_camera(cli: Cli, tmp_path: Path) -> None:
    config = _config(tmp_path)
    iid = cli.run(
        "open", "--at", ON_MAP, "--type", "t", "--case", "c", "--reason", "r", config=config
    ).stdout.strip()
    r = cli.run("approve", iid, "priv-01", "--note", "owner called back", config=config)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr
    assert cli.listing()[0]["approvals"][0]["camera_id"] == "priv-01"
    r = cli.run("approve", iid, "priv-02", "--note", "n", config=config)
    assert r.returncode == 0
    assert "not an on_request camera" in r.stderr
    r = cli.run("approve", iid, "city-06", "--note", "n", config=config)
    assert r.returncode == 2
    assert "city camera" in r.stderr
    r = cli.run("approve", iid, "priv-0l", "--note", "n", config=config)
    assert r.returncode == 2
    assert "unknown camera id 'priv-0l'" in r.stderr
    kinds = [e.kind for e in audit.read_events(cli.audit_db)]
    assert kinds == [audit.INCIDENT_OPEN, audit.OPERATOR, audit.OPERATOR]
    assert audit.verify(cli.audit_db).ok


def test_list_of_an_absent_database_is_empty(cli: Cli) -> None:
    assert cli.listing() == []
    r = cli.run("list", "--open", acting=False)
    assert r.returncode == 0
    assert "no open incidents" in r.stdout
    assert not cli.db.exists()
