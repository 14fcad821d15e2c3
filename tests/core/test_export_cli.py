"""``rtcc-wall export create|verify`` as an officer would run them: real processes, real streams.

The demo configuration is copied with camera city-01 pointed at the test RTSP
server behind Basic auth (its password must never show up anywhere) and with
two named operators, an officer and a supervisor.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rtcc_wall.core import audit as A
from tests.helpers import rewrite_manifests
from tests.servers.fixtures import RTSP_PASSWORD, RTSP_USER
from tests.servers.mjpeg import MjpegServer
from tests.servers.rtsp import RtspServer


@dataclass
class Site:
    root: Path
    config: Path
    env: dict[str, str]

    @property
    def audit_db(self) -> Path:
        return self.root / "audit.sqlite3"

    @property
    def out(self) -> Path:
        return self.root / "exports"

    def run(self, *args: str, operator: str = "officer.one") -> subprocess.CompletedProcess[str]:
        env = dict(self.env, RTCC_WALL_OPERATOR=operator)
        return subprocess.run(
            [sys.executable, "-m", "rtcc_wall", *args],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip

    def create(self, *args: str, operator: str = "officer.one") -> subprocess.CompletedProcess[str]:
        return self.run(
            "export", "create", "--config", str(self.config), "--out", str(self.out), *args,
            operator=operator,
        )  # fmt: skip

    def events(self) -> list[A.AuditEvent]:
        return list(A.read_events(self.audit_db))

    def exports(self) -> list[Path]:
        return sorted(self.out.iterdir()) if self.out.exists() else []


def site_config(demo_config_path: Path, root: Path, stream: str) -> Path:
    roads = (demo_config_path.parent / "resources/demo/roads.geojson").resolve()
    text = demo_config_path.read_text().replace(
        "road_network: resources/demo/roads.geojson", f"road_network: {roads}"
    )
    block = text.index("id: city-01")
    at = text.index("stream:", block)
    end = text.index("\n", at)
    text = text[:at] + f'stream: "{stream}"' + text[end:]
    text = text.replace(
        "  operators: []",
        '  operators: [{name: "officer.one", role: operator}, {name: "sgt.two", role: supervisor}]',
    )
    cfg = root / "site.yaml"
    cfg.write_text(text)
    return cfg


def make_site(tmp_path: Path, demo_config_path: Path, url: str) -> Site:
    """A site whose camera ``city-01`` streams from ``url``; audit and exports under tmp_path."""
    env = dict(os.environ)
    env.update(
        HOME=str(tmp_path),
        XDG_DATA_HOME=str(tmp_path / "data"),
        RTCC_WALL_AUDIT_DB=str(tmp_path / "audit.sqlite3"),
        RTCC_WALL_INCIDENTS_DB=str(tmp_path / "incidents.sqlite3"),
        RTCC_WALL_LOG="DEBUG",
    )
    env.pop("RTCC_WALL_CONFIG", None)
    return Site(tmp_path, site_config(demo_config_path, tmp_path, url), env)


@pytest.fixture
def site(tmp_path: Path, demo_config_path: Path, rtsp_auth_server: RtspServer) -> Site:
    url = rtsp_auth_server.url("/cam", user=RTSP_USER, password=RTSP_PASSWORD)
    return make_site(tmp_path, demo_config_path, url)


def assert_no_password(site: Site, *outputs: subprocess.CompletedProcess[str]) -> None:
    for r in outputs:
        assert RTSP_PASSWORD not in r.stdout + r.stderr
    for f in site.root.rglob("*"):
        if f.is_file() and f.suffix != ".yaml":
            assert RTSP_PASSWORD.encode() not in f.read_bytes(), f


def test_supervisor_exports_an_unmasked_rtsp_clip_end_to_end(site: Site) -> None:
    r = site.create("--camera", "city-01", "--seconds", "2", "--reason", "car seen fleeing",
                    "--unmasked", operator="sgt.two")  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "recording city-01 (rtsp://viewer:***@127.0.0.1:" in r.stdout
    assert "recorded  2.0 of 2 s" in r.stdout
    assert "verify: OK" in r.stdout
    [folder] = site.exports()
    assert folder.name.startswith("no-incident_city-01_")
    assert folder.name.endswith("_clip-unmasked")
    v = site.run("export", "verify", str(folder))
    assert v.returncode == 0, v.stderr
    assert v.stdout.startswith("OK: ")
    meta = json.loads((folder / "data/metadata.json").read_text())
    assert meta["files"][0]["bit_exact"] is True
    assert meta["operator"] == {"name": "sgt.two", "role": "supervisor"}
    assert meta["camera"]["source_url"].startswith("rtsp://127.0.0.1:")
    kinds = [(e.kind, e.outcome) for e in site.events()]
    assert kinds == [
        (A.VIEW_START, "allowed"),
        (A.VIEW_STOP, "released"),
        (A.EXPORT, "exported"),
    ]
    assert site.events()[-1].detail["masked"] is False
    assert A.verify(site.audit_db).ok
    assert_no_password(site, r, v)


def test_unmasked_refused_for_an_officer_and_audited(site: Site) -> None:
    r = site.create("--camera", "city-01", "--seconds", "1", "--reason", "x", "--unmasked")
    assert r.returncode == 1
    assert "refused: an unmasked export needs the supervisor role" in r.stderr
    assert site.exports() == []
    [ev] = site.events()  # refused before recording: no view either
    assert (ev.kind, ev.outcome, ev.operator) == (
        A.EXPORT_DENY, "unmasked_needs_supervisor", "officer.one",
    )  # fmt: skip


def test_verify_names_a_flipped_byte_and_a_missing_folder(site: Site) -> None:
    r = site.create("--camera", "city-01", "--seconds", "1", "--reason", "evidence")
    assert r.returncode == 0, r.stderr
    [folder] = site.exports()
    clip = folder / "data/clip.mp4"
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x40
    clip.write_bytes(bytes(data))
    v = site.run("export", "verify", str(folder))
    assert v.returncode == 1
    assert "FAILED: " in v.stderr
    assert "data/clip.mp4: changed (its SHA-256 differs from manifest-sha256.txt)" in v.stderr
    gone = site.run("export", "verify", str(site.root / "nope"))
    assert gone.returncode == 2
    assert "is not a folder" in gone.stderr


def test_a_stream_that_breaks_mid_recording_exports_what_was_recorded(
    site: Site, rtsp_auth_server: RtspServer
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtcc_wall", "export", "create", "--config", str(site.config),
         "--out", str(site.out), "--camera", "city-01", "--seconds", "30",
         "--reason", "car seen fleeing"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(site.env, RTCC_WALL_OPERATOR="officer.one"),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        seen = ""
        got = 0.0
        while got < 2.0:  # two seconds in (a line about every second)
            line = proc.stdout.readline()
            assert line, f"the recording ended early: {seen}"
            seen += line
            if m := re.match(r"\s*recorded\s+([\d.]+) of", line):
                got = float(m.group(1))
        rtsp_auth_server.kill()  # the camera goes away mid-recording
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
        rtsp_auth_server.start()  # (the module's other tests use it)
    assert proc.returncode == 1, out + err
    assert "city-01 stopped after " in err
    assert " of 30 s: " in err
    assert "; exporting the " in err
    assert "the export holds " in err
    assert "verify: OK" in out
    [folder] = site.exports()
    v = site.run("export", "verify", str(folder), "--audit-db", str(site.audit_db))
    assert v.returncode == 0, v.stderr
    meta = json.loads((folder / "data/metadata.json").read_text())
    assert 1.5 <= meta["time_range_utc"]["seconds"] < 10  # what came before the break
    assert [(e.kind, e.outcome) for e in site.events()] == [
        (A.VIEW_START, "allowed"), (A.VIEW_STOP, "stream_broke"), (A.EXPORT, "exported"),
    ]  # fmt: skip
    assert_no_password(site, subprocess.CompletedProcess(proc.args, 1, seen + out, err))


def test_a_snapshot_of_a_camera_that_froze_after_one_picture(
    tmp_path: Path, demo_config_path: Path
) -> None:
    with MjpegServer(mode="one", password=RTSP_PASSWORD) as camera:
        site = make_site(tmp_path, demo_config_path, camera.url_with("viewer", RTSP_PASSWORD))
        r = site.create("--camera", "city-01", "--seconds", "3", "--reason", "x", "--snapshot")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "city-01 stopped after a single picture: " in r.stderr
    assert "; exporting the single picture recorded" in r.stderr
    assert "the snapshot is of the last picture before the break" in r.stderr
    assert "verify: OK" in r.stdout
    [folder] = site.exports()
    assert (folder / "data/snapshot.png").stat().st_size > 1000
    assert [(e.kind, e.outcome) for e in site.events()] == [
        (A.VIEW_START, "allowed"), (A.VIEW_STOP, "stream_broke"), (A.EXPORT, "exported"),
    ]  # fmt: skip
    assert_no_password(site, r)


def test_verify_against_the_audit_log_catches_rewritten_manifests(site: Site) -> None:
    r = site.create("--camera", "city-01", "--seconds", "1", "--reason", "evidence")
    assert r.returncode == 0, r.stderr
    [folder] = site.exports()
    export_seq = site.events()[-1].seq
    db = str(site.audit_db)
    ok = site.run("export", "verify", str(folder), "--audit-db", db)
    assert ok.returncode == 0, ok.stderr
    assert f"it is the export of audit event seq {export_seq} in " in ok.stdout
    # renamed: the content is what counts
    renamed = folder.with_name("case-2026-004711")
    folder.rename(renamed)
    assert site.run("export", "verify", str(renamed), "--audit-db", db).returncode == 0
    renamed.rename(folder)
    # a changed picture with both manifests recomputed passes the bag's own check ...
    clip = folder / "data/clip.mp4"
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x40
    clip.write_bytes(bytes(data))
    rewrite_manifests(folder)
    assert site.run("export", "verify", str(folder)).returncode == 0
    # ... but not the audit log's
    bad = site.run("export", "verify", str(folder), "--audit-db", db)
    assert bad.returncode == 1
    assert (
        f"manifest-sha256.txt: not the one recorded when this folder was exported (audit event "
        f"seq {export_seq}): the export was changed and its manifests rewritten"
    ) in bad.stderr
    # another site's log knows nothing of it; no log at all is bad input
    other = site.root / "other-audit.sqlite3"
    with A.AuditLog(other) as log:
        log.append(A.APP_START, operator="system")
    unknown = site.run("export", "verify", str(folder), "--audit-db", str(other))
    assert unknown.returncode == 1
    assert "the audit log records no export with this manifest or name" in unknown.stderr
    missing = site.run("export", "verify", str(folder), "--audit-db", str(site.root / "nope"))
    assert missing.returncode == 2
    assert "no audit log at" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--camera", "city-1", "--seconds", "1"], "unknown camera id 'city-1' (did you mean"),
        (["--camera", "city-01", "--seconds", "0"], "--seconds must be more than 0"),
        (["--camera", "city-01", "--seconds", "-3"], "--seconds must be more than 0"),
        (["--camera", "city-01", "--seconds", "1", "--incident", "INC-1"], "no incident 'INC-1'"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(site: Site, args: list[str], message: str) -> None:
    r = site.create(*args, "--reason", "r")
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr
    assert site.exports() == []


def test_out_that_is_not_a_writable_folder(site: Site) -> None:
    blocker = site.root / "a-file"
    blocker.write_text("x")
    r = site.run("export", "create", "--config", str(site.config), "--camera", "city-01",
                 "--seconds", "1", "--reason", "r", "--out", str(blocker / "sub"))  # fmt: skip
    assert r.returncode == 2
    assert "cannot create --out" in r.stderr


def test_private_camera_needs_the_open_incident(site: Site) -> None:
    refused = site.create("--camera", "priv-01", "--seconds", "1", "--reason", "r", "--snapshot")
    assert refused.returncode == 1
    assert "refused: priv-01: Private camera: no open incident" in refused.stderr
    opened = site.run(
        "incident", "open", "--config", str(site.config), "--at", "-90.18405,32.29760",
        "--type", "Burglary", "--case", "C-77", "--reason", "break-in at the shop",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    inc = opened.stdout.strip()
    r = site.create("--camera", "priv-01", "--seconds", "1", "--reason", "window smashed",
                    "--incident", inc, "--snapshot")  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    [folder] = site.exports()
    assert folder.name.startswith(f"{inc}_priv-01_")
    assert folder.name.endswith("_snapshot")
    assert (folder / "data/snapshot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((folder / "data/metadata.json").read_text())
    assert meta["incident"]["id"] == inc
    assert meta["incident"]["case_number"] == "C-77"
    assert meta["camera"]["ownership"] == "private"
    events = json.loads((folder / "data/audit-events.json").read_text())["events"]
    assert [e["kind"] for e in events][:2] == [A.INCIDENT_OPEN, A.VIEW_START]
    assert all(e["incident_id"] == inc for e in events)


def test_ctrl_c_cancels_and_leaves_no_export(site: Site) -> None:
    env = dict(site.env, RTCC_WALL_OPERATOR="officer.one")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtcc_wall", "export", "create", "--config", str(site.config),
         "--camera", "city-02", "--seconds", "60", "--reason", "r", "--out", str(site.out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "recorded  1." in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "cancelled (Ctrl+C); nothing was exported" in err
    assert site.exports() == []
    assert [(e.kind, e.outcome) for e in site.events()] == [
        (A.VIEW_START, "allowed"),
        (A.VIEW_STOP, "cancelled"),
    ]
