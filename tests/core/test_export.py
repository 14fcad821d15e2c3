"""Evidence export core: BagIt round trip, tampering found, names safe, nothing half written.

The pictures here are plain bytes from a small writer: the bag, the audit and
the access rules do not care what is inside a file (``tests/video`` exports
real video).
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from rtcc_wall.core import audit as A
from rtcc_wall.core import export as E
from rtcc_wall.core.access import AccessPolicy, Incident, Operator
from rtcc_wall.core.cameras import Camera, OwnerInfo, WaiverInfo, make_camera
from rtcc_wall.core.geo import LocalProjection
from tests.helpers import rewrite_manifests

T0 = dt.datetime(2026, 11, 17, 8, 0, 30, tzinfo=dt.UTC).timestamp()
PASSWORD = "Pw-canary-913"
OFFICER = Operator("officer.one", "operator")
SUPERVISOR = Operator("sgt.two", "supervisor")
PROJ = LocalProjection(-90.0, 32.0)


def city_camera(**kw: object) -> Camera:
    args: dict[str, object] = dict(
        id="city-01",
        name="Main St & 1st",
        ownership="city",
        lon=-90.0,
        lat=32.0,
        heading_deg=90.0,
        fov_deg=60.0,
        range_m=80.0,
        stream=f"rtsp://viewer:{PASSWORD}@10.0.0.5:554/stream1",
        projection=PROJ,
        masks=(((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)),),
    )
    args.update(kw)
    return make_camera(**args)  # type: ignore[arg-type]


def private_camera() -> Camera:
    return city_camera(
        id="priv-01",
        name="Bakery doorbell",
        ownership="private",
        owner=OwnerInfo("Bakery", "+1 555 0100"),
        waiver=WaiverInfo("W-1", "2020-01-01", None, False),
    )


def incident(closed: bool = False) -> Incident:
    opened = dt.datetime(2026, 11, 17, 8, 0, tzinfo=dt.UTC)
    return Incident(
        id="INC-20261117-0001",
        x=10.0,
        y=0.0,
        opened_at=opened,
        case_number="C-42",
        type="robbery",
        reason="armed robbery at the bakery",
        closed_at=opened + dt.timedelta(seconds=30) if closed else None,
    )


def request(tmp_path: Path, **kw: object) -> E.ExportRequest:
    out = tmp_path / "exports"
    out.mkdir(exist_ok=True)
    args: dict[str, object] = dict(
        camera=city_camera(),
        operator=OFFICER,
        incident=incident(),
        reason="suspect vehicle seen here",
        kind="clip",
        masked=True,
        start=T0,
        end=T0 + 10,
        out_dir=out,
        site_name="Testville",
    )
    args.update(kw)
    return E.ExportRequest(**args)  # type: ignore[arg-type]


SOURCE = E.SourceFacts("h264", 640, 360, 15.0, encoded_here=False, masked_in_buffer=False)


def writer(payload: bytes = b"\x00\x00\x00\x01fake-video" * 1000) -> E.MediaWriter:
    def write(partial: E.PartialExport) -> Sequence[E.MediaFile]:
        p = partial.data_path("clip.mp4")
        p.write_bytes(payload)
        return [
            E.MediaFile("clip.mp4", "clip", T0, T0 + 10, 150, 640, 360, "h264", True, False, "t")
        ]

    return write


@pytest.fixture
def log(tmp_path: Path) -> A.AuditLog:
    with A.AuditLog(tmp_path / "audit.sqlite3") as lg:
        lg.append(A.APP_START, operator="officer.one")
        lg.append(
            A.INCIDENT_OPEN,
            operator="officer.one",
            incident_id="INC-20261117-0001",
            reason="armed robbery",
        )
        lg.append(A.VIEW_START, operator="officer.one", camera_id="other", incident_id="INC-X")
        yield lg


NOW = dt.datetime(2026, 11, 17, 8, 1, tzinfo=dt.UTC)


def export(tmp_path: Path, log: A.AuditLog, **kw: object) -> E.ExportResult:
    w = kw.pop("write", writer())
    return E.run_export(
        request(tmp_path, **kw),
        SOURCE,
        w,  # type: ignore[arg-type]
        policy=AccessPolicy(),
        audit=log,
        now=NOW,
    )


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir())


# --------------------------------------------------------------------------- round trip


def test_round_trip_verifies_and_is_a_bagit_bag(tmp_path: Path, log: A.AuditLog) -> None:
    res = export(tmp_path, log)
    assert res.problems == []
    assert E.verify(res.path) == []
    assert res.name == "INC-20261117-0001_city-01_20261117T080030Z_clip"
    assert leftovers(res.path.parent) == [res.name]  # no temporary folder left
    top = sorted(p.name for p in res.path.iterdir())
    assert top == ["bag-info.txt", "bagit.txt", "data", "manifest-sha256.txt",
                   "tagmanifest-sha256.txt"]  # fmt: skip
    assert (res.path / "bagit.txt").read_text() == (
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )
    manifest = (res.path / "manifest-sha256.txt").read_text().splitlines()
    assert [ln.split("  ")[1] for ln in manifest] == [
        "data/audit-events.json",
        "data/clip.mp4",
        "data/metadata.json",
    ]
    for ln in manifest:
        digest, rel = ln.split("  ")
        assert hashlib.sha256((res.path / rel).read_bytes()).hexdigest() == digest
    info = dict(ln.split(": ", 1) for ln in (res.path / "bag-info.txt").read_text().splitlines())
    sizes = [(res.path / ln.split("  ")[1]).stat().st_size for ln in manifest]
    assert info["Payload-Oxum"] == f"{sum(sizes)}.3"
    assert info["External-Identifier"] == res.name
    assert info["Contact-Name"] == "officer.one"
    assert info["Source-Organization"] == "Testville"
    assert hashlib.sha256((res.path / "manifest-sha256.txt").read_bytes()).hexdigest() == (
        res.manifest_sha256
    )


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils sha256sum missing")
def test_anyone_can_check_it_with_sha256sum(tmp_path: Path, log: A.AuditLog) -> None:
    res = export(tmp_path, log)
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        r = subprocess.run(
            ["sha256sum", "-c", manifest], cwd=res.path, capture_output=True, text=True
        )
        assert r.returncode == 0, r.stdout + r.stderr


def test_metadata_names_everything_and_no_password(tmp_path: Path, log: A.AuditLog) -> None:
    res = export(tmp_path, log)
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["format"] == E.FORMAT
    assert meta["incident"]["id"] == "INC-20261117-0001"
    assert meta["incident"]["case_number"] == "C-42"
    assert meta["camera"]["id"] == "city-01"
    assert meta["camera"]["name"] == "Main St & 1st"
    assert meta["camera"]["ownership"] == "city"
    assert meta["camera"]["source_url"] == "rtsp://10.0.0.5:554/stream1"  # no user, no password
    assert meta["time_range_utc"] == {
        "from": "2026-11-17T08:00:30.000000Z",
        "to": "2026-11-17T08:00:40.000000Z",
        "seconds": 10.0,
    }
    assert meta["operator"] == {"name": "officer.one", "role": "operator"}
    assert meta["reason"] == "suspect vehicle seen here"
    assert meta["privacy_masks"]["masked"] is True
    assert meta["privacy_masks"]["configured"] == 1
    assert meta["files"][0]["path"] == "data/clip.mp4"
    for f in res.path.rglob("*"):
        if f.is_file():
            assert PASSWORD.encode() not in f.read_bytes(), f


def test_audit_events_and_export_event(tmp_path: Path, log: A.AuditLog) -> None:
    res = export(tmp_path, log)
    doc = json.loads((res.path / "data/audit-events.json").read_text())
    assert doc["format"] == E.AUDIT_EVENTS_FORMAT
    assert doc["log"]["verified"] is True
    kinds = [e["kind"] for e in doc["events"]]
    assert kinds == [A.INCIDENT_OPEN]  # only this incident's events
    by_seq = {e.seq: e for e in A.read_events(log.path)}
    for ev in doc["events"]:
        keys = ("seq", "ts_utc", "kind", "operator", "camera_id", "incident_id", "ownership",
                "reason", "outcome", "detail", "prev_hash")  # fmt: skip
        fields = [ev[k] for k in keys]
        assert A.row_hash(fields) == ev["hash"] == by_seq[ev["seq"]].hash
    last = list(A.read_events(log.path))[-1]
    assert last.kind == A.EXPORT
    assert last.seq == res.audit_seq
    assert last.outcome == "exported"
    assert last.camera_id == "city-01"
    assert last.incident_id == "INC-20261117-0001"
    assert last.reason == "suspect vehicle seen here"
    assert last.detail["manifest_sha256"] == res.manifest_sha256
    assert last.detail["folder"] == res.name
    assert last.detail["masked"] is True
    assert last.detail["from_utc"] == "2026-11-17T08:00:30.000000Z"
    assert A.verify(log.path).ok


def test_without_incident_the_cameras_events_in_the_range(tmp_path: Path, log: A.AuditLog) -> None:
    now = dt.datetime.now(dt.UTC).timestamp()
    log.append(A.VIEW_START, operator="x", camera_id="city-01")
    res = export(tmp_path, log, incident=None, start=now - 30, end=now + 30)
    doc = json.loads((res.path / "data/audit-events.json").read_text())
    assert [e["kind"] for e in doc["events"]] == [A.VIEW_START]
    assert res.name.startswith("no-incident_city-01_")


def test_without_incident_the_view_running_at_the_start_is_included(
    tmp_path: Path, log: A.AuditLog
) -> None:
    log.append(A.VIEW_START, operator="x", camera_id="city-01", outcome="earlier view")
    log.append(A.VIEW_STOP, operator="x", camera_id="city-01", outcome="earlier view")
    log.append(A.VIEW_START, operator="x", camera_id="city-01", outcome="this view")
    log.append(A.VIEW_START, operator="x", camera_id="city-02")
    now = dt.datetime.now(dt.UTC).timestamp()
    res = export(tmp_path, log, incident=None, start=now + 0.5, end=now + 60)
    doc = json.loads((res.path / "data/audit-events.json").read_text())
    assert [(e["kind"], e["outcome"]) for e in doc["events"]] == [(A.VIEW_START, "this view")]


# --------------------------------------------------------------------------- tampering


@pytest.fixture
def bag(tmp_path: Path, log: A.AuditLog) -> Path:
    return export(tmp_path, log).path


def flip(path: Path, at: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_one_flipped_byte_fails_naming_the_file(bag: Path) -> None:
    flip(bag / "data/clip.mp4")
    assert E.verify(bag) == [
        "data/clip.mp4: changed (its SHA-256 differs from manifest-sha256.txt)"
    ]


@pytest.mark.parametrize("rel", ["data/metadata.json", "data/audit-events.json"])
def test_edited_metadata_fails(bag: Path, rel: str) -> None:
    flip(bag / rel, at=20)
    assert E.verify(bag) == [f"{rel}: changed (its SHA-256 differs from manifest-sha256.txt)"]


def test_rewritten_manifest_is_caught_by_the_tag_manifest(bag: Path) -> None:
    # the tamperer changes the clip and updates its line in the manifest
    clip = bag / "data/clip.mp4"
    flip(clip)
    new = hashlib.sha256(clip.read_bytes()).hexdigest()
    lines = (bag / "manifest-sha256.txt").read_text().splitlines()
    lines = [f"{new}  data/clip.mp4" if ln.endswith("data/clip.mp4") else ln for ln in lines]
    (bag / "manifest-sha256.txt").write_text("\n".join(lines) + "\n")
    assert E.verify(bag) == [
        "manifest-sha256.txt: changed (its SHA-256 differs from tagmanifest-sha256.txt)"
    ]


def test_missing_and_extra_files(bag: Path) -> None:
    (bag / "data/clip.mp4").unlink()
    (bag / "data/sub").mkdir()
    (bag / "data/sub/planted.mp4").write_bytes(b"x")
    (bag / "notes.txt").write_text("hi")
    problems = E.verify(bag)
    assert "data/clip.mp4: missing (listed in manifest-sha256.txt)" in problems
    assert "data/sub/planted.mp4: not listed in manifest-sha256.txt (added after the export)" in (
        problems
    )
    assert "notes.txt: not listed in tagmanifest-sha256.txt (added after the export)" in problems
    assert any(p.startswith("bag-info.txt: Payload-Oxum is ") for p in problems)


def test_truncated_file_changes_the_oxum(bag: Path) -> None:
    clip = bag / "data/clip.mp4"
    clip.write_bytes(clip.read_bytes()[:-10])
    problems = E.verify(bag)
    assert problems[0] == "data/clip.mp4: changed (its SHA-256 differs from manifest-sha256.txt)"
    assert problems[1].startswith("bag-info.txt: Payload-Oxum is ")
    assert len(problems) == 2


def test_bad_bagit_declaration_and_missing_tag_files(bag: Path) -> None:
    (bag / "bagit.txt").write_text("BagIt-Version: 0.97\n")
    (bag / "tagmanifest-sha256.txt").unlink()
    problems = E.verify(bag)
    assert "bagit.txt: not a BagIt 1.0 declaration in UTF-8" in problems
    assert any(p.startswith("tagmanifest-sha256.txt: missing") for p in problems)


def test_unsafe_manifest_paths_are_reported_not_followed(bag: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("not in the bag")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    with open(bag / "manifest-sha256.txt", "a") as f:
        f.write(f"{digest}  data/../../outside.txt\n{digest}  /etc/passwd\nnot a line\n")
    problems = E.verify(bag)
    assert "manifest-sha256.txt line 4: unsafe path 'data/../../outside.txt'" in problems
    assert "manifest-sha256.txt line 5: unsafe path '/etc/passwd'" in problems
    assert "manifest-sha256.txt line 6: not 'SHA256 PATH'" in problems


def test_not_a_folder(tmp_path: Path) -> None:
    assert E.verify(tmp_path / "nope") == [f"{tmp_path / 'nope'}: no such folder"]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("city-01", "city-01"),
        ("INC-20261117-0001", "INC-20261117-0001"),
        ("../../etc/passwd", "etc_passwd"),
        ("..\\..\\windows", "windows"),
        ("a/b", "a_b"),
        ("tab\there\nnew", "tab_here_new"),
        (".hidden", "hidden"),
        ("a..b", "a_b"),
        ("Café 7", "Caf_7"),
        ("x" * 100, "x" * 64),
    ],
)
def test_safe_component(text: str, want: str) -> None:
    assert E.safe_component(text, "id") == want


@pytest.mark.parametrize("text", ["", "..", "/", "...", "\x00", "__"])
def test_safe_component_refuses_what_leaves_nothing(text: str) -> None:
    with pytest.raises(E.ExportError, match="gives no usable folder name"):
        E.safe_component(text, "camera id")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("..", "relative reference"),
        ("", "relative reference"),
        (".x.partial-1", "starts with a dot"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("a\nb", "control character"),
    ],
)
def test_check_folder_name(name: str, problem: str) -> None:
    with pytest.raises(E.ExportError, match=problem):
        E.check_folder_name(name)


def test_hostile_ids_stay_inside_the_out_folder(tmp_path: Path, log: A.AuditLog) -> None:
    cam = city_camera(id="../../../escape", masks=())
    inc = Incident("..\\INC/../x", 0.0, 0.0, NOW, "c", "t", "r")
    res = export(tmp_path, log, camera=cam, incident=inc)
    assert res.path.parent == tmp_path / "exports"
    assert res.name == "INC_x_escape_20261117T080030Z_clip"
    assert E.verify(res.path) == []


def test_payload_paths_cannot_escape(tmp_path: Path) -> None:
    with E.start_export(tmp_path, "x") as partial:
        for bad in ("../x", "a/../../x", "/abs", "", "a\\b"):
            with pytest.raises(ValueError, match="not a plain relative payload path"):
                partial.data_path(bad)
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- never overwrite


def test_existing_export_is_never_overwritten(tmp_path: Path, log: A.AuditLog) -> None:
    first = export(tmp_path, log)
    before = {p: p.read_bytes() for p in first.path.rglob("*") if p.is_file()}
    with pytest.raises(E.ExportExists, match="never overwritten"):
        export(tmp_path, log, write=writer(b"other bytes"))
    assert {p: p.read_bytes() for p in first.path.rglob("*") if p.is_file()} == before
    assert leftovers(first.path.parent) == [first.name]


def test_folder_appearing_meanwhile_is_not_replaced(tmp_path: Path, log: A.AuditLog) -> None:
    """Even an empty folder of that name (which a plain rename would replace) is kept."""
    name = "INC-20261117-0001_city-01_20261117T080030Z_clip"

    def sneaky(partial: E.PartialExport) -> Sequence[E.MediaFile]:
        (partial.out_dir / name).mkdir()
        return writer()(partial)

    with pytest.raises(E.ExportExists):
        export(tmp_path, log, write=sneaky)
    out = tmp_path / "exports"
    assert leftovers(out) == [name]
    assert list((out / name).iterdir()) == []
    events = list(A.read_events(log.path))
    assert [e.kind for e in events[-2:]] == [A.EXPORT, A.EXPORT_DENY]
    assert events[-1].outcome == "failed"
    assert events[-1].detail["export_seq"] == events[-2].seq


# --------------------------------------------------------------------------- failures


def test_full_disk_while_writing_media_leaves_nothing(tmp_path: Path, log: A.AuditLog) -> None:
    def full(partial: E.PartialExport) -> Sequence[E.MediaFile]:
        with open(partial.data_path("clip.mp4"), "wb") as f:
            f.write(b"half a clip")
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(E.ExportError, match="no space left on the device"):
        export(tmp_path, log, write=full)
    assert leftovers(tmp_path / "exports") == []
    assert [e.kind for e in A.read_events(log.path)][-1] != A.EXPORT


def test_full_disk_while_writing_the_manifest_leaves_nothing(
    tmp_path: Path, log: A.AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = E._write_synced

    def write(path: Path, data: bytes) -> None:
        if path.name == E.MANIFEST:
            with open(path, "xb") as f:
                f.write(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(E, "_write_synced", write)
    with pytest.raises(E.ExportError, match="no space left on the device"):
        export(tmp_path, log)
    assert leftovers(tmp_path / "exports") == []


def test_audit_log_failure_means_no_export(tmp_path: Path, log: A.AuditLog) -> None:
    def fail(*a: object, **kw: object) -> A.AuditEvent:
        raise A.AuditWriteError("disk I/O error")

    real = log.append

    def append(kind: str, **kw: object) -> A.AuditEvent:
        if kind == A.EXPORT:
            return fail()
        return real(kind, **kw)  # type: ignore[arg-type]

    log.append = append  # type: ignore[method-assign]
    with pytest.raises(E.ExportError, match="could not be recorded in the audit log"):
        export(tmp_path, log)
    assert leftovers(tmp_path / "exports") == []


def test_cancel_leaves_nothing(tmp_path: Path, log: A.AuditLog) -> None:
    cancel = threading.Event()

    def slow(partial: E.PartialExport) -> Sequence[E.MediaFile]:
        files = writer()(partial)
        cancel.set()  # the operator pressed Cancel while the clip was written
        return files

    with pytest.raises(E.ExportCancelled):
        E.run_export(
            request(tmp_path), SOURCE, slow, policy=AccessPolicy(), audit=log, now=NOW,
            cancel=cancel,
        )  # fmt: skip
    assert leftovers(tmp_path / "exports") == []


def test_a_crash_leaves_only_a_partial_folder_that_verify_rejects(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from rtcc_wall.core import export as E
        partial = E.start_export(Path({str(out)!r}), "INC-1_cam_20261119T000000Z_clip")
        partial.data_path("clip.mp4").write_bytes(b"x" * 100000)
        real = E._write_synced
        def crash(path, data):
            real(path, data)
            if path.name == E.BAG_INFO:
                os._exit(9)  # power cut between the tag files
        E._write_synced = crash
        partial.finish({{}})
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 9, r.stderr
    left = list(out.iterdir())
    assert len(left) == 1
    partial = left[0]
    assert partial.name.startswith(".INC-1_cam_20261119T000000Z_clip.partial-")
    problems = E.verify(partial)
    assert problems[0].startswith(f"{partial.name}: incomplete export")
    assert any(p.startswith("tagmanifest-sha256.txt: missing") for p in problems)
    assert any(p.startswith("bagit.txt: missing") for p in problems)


# --------------------------------------------------------------------------- access


def last_event(log: A.AuditLog) -> A.AuditEvent:
    return list(A.read_events(log.path))[-1]


def test_unmasked_needs_a_supervisor_and_the_refusal_is_audited(
    tmp_path: Path, log: A.AuditLog
) -> None:
    with pytest.raises(E.ExportDenied, match="needs the supervisor role") as err:
        export(tmp_path, log, masked=False)
    assert err.value.code == "unmasked_needs_supervisor"
    assert leftovers(tmp_path / "exports") == []
    ev = last_event(log)
    assert ev.kind == A.EXPORT_DENY
    assert ev.outcome == "unmasked_needs_supervisor"
    assert ev.operator == "officer.one"
    assert ev.detail["masked"] is False

    res = export(tmp_path, log, masked=False, operator=SUPERVISOR)
    assert res.name == "INC-20261117-0001_city-01_20261117T080030Z_clip-unmasked"
    ev = last_event(log)
    assert ev.kind == A.EXPORT
    assert ev.operator == "sgt.two"
    assert ev.detail["masked"] is False
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["privacy_masks"]["state"].startswith("UNMASKED")
    assert meta["privacy_masks"]["masked"] is False


def test_private_camera_follows_the_view_policy(tmp_path: Path, log: A.AuditLog) -> None:
    with pytest.raises(E.ExportDenied) as err:
        export(tmp_path, log, camera=private_camera(), incident=None)
    assert err.value.code == "no_incident"
    assert last_event(log).outcome == "no_incident"
    far = Incident("INC-FAR", 5000.0, 0.0, NOW, "c", "t", "r")
    with pytest.raises(E.ExportDenied) as err:
        export(tmp_path, log, camera=private_camera(), incident=far)
    assert err.value.code == "out_of_radius"
    res = export(tmp_path, log, camera=private_camera())
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["camera"]["owner"] == "Bakery"
    assert meta["camera"]["waiver_id"] == "W-1"


def test_closed_incident_and_empty_reason_are_refused(tmp_path: Path, log: A.AuditLog) -> None:
    with pytest.raises(E.ExportDenied) as err:
        export(tmp_path, log, incident=incident(closed=True))
    assert err.value.code == "incident_closed"
    with pytest.raises(E.ExportDenied) as err:
        export(tmp_path, log, reason="   ")
    assert err.value.code == "reason_required"
    assert leftovers(tmp_path / "exports") == []
    assert [e.kind for e in A.read_events(log.path)][-2:] == [A.EXPORT_DENY, A.EXPORT_DENY]


def test_unmasked_from_a_masked_buffer_is_impossible(tmp_path: Path, log: A.AuditLog) -> None:
    masked_src = E.SourceFacts("h264", 640, 360, 12.0, encoded_here=True, masked_in_buffer=True)
    with pytest.raises(E.ExportDenied, match="holds masked pictures only"):
        E.run_export(
            request(tmp_path, masked=False, operator=SUPERVISOR), masked_src, writer(),
            policy=AccessPolicy(), audit=log, now=NOW,
        )  # fmt: skip


def test_reason_with_a_url_is_redacted_everywhere(tmp_path: Path, log: A.AuditLog) -> None:
    reason = f"tip: rtsp://admin:{PASSWORD}@10.1.1.1/x shows the car"
    res = export(tmp_path, log, reason=reason)
    for f in res.path.rglob("*"):
        if f.is_file():
            assert PASSWORD.encode() not in f.read_bytes(), f
    assert PASSWORD not in (last_event(log).reason or "")
    assert PASSWORD.encode() not in Path(log.path).read_bytes()


def test_out_folder_must_be_a_writable_folder(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(E.ExportError, match="is not a folder"):
        E.start_export(f, "x")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        target = ro
        if os.access(ro, os.W_OK):
            # root ignores file modes; a process's /proc folder refuses writes even to root
            target = Path(f"/proc/{os.getpid()}")
            if not target.is_dir() or os.access(target, os.W_OK):
                pytest.skip("no folder here refuses writes to this user")
        with pytest.raises(E.ExportError, match="is not writable"):
            E.start_export(target, "x")
    finally:
        ro.chmod(0o700)


def _export_seq(log: A.AuditLog) -> int:
    return [e for e in A.read_events(log.path) if e.kind == A.EXPORT][-1].seq


def test_checked_against_the_audit_log(bag: Path, log: A.AuditLog) -> None:
    assert E.verify_with_audit(bag, log.path) == ([], [], _export_seq(log))


def test_a_log_that_does_not_verify_vouches_for_nothing(bag: Path, log: A.AuditLog) -> None:
    raw = sqlite3.connect(log.path)  # an edited row (the triggers dropped first)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("UPDATE events SET reason = 'nothing to see' WHERE seq = 2")
    raw.commit()
    raw.close()
    problems, notes, seq = E.verify_with_audit(bag, log.path)
    assert seq == _export_seq(log)  # the export's row itself is still found
    assert len(problems) == 1
    assert problems[0].startswith("audit log: does not verify (")
    assert problems[0].endswith("); it vouches for nothing")
    assert any("triggers" in n for n in notes)  # the log's own warning is passed on


def test_edited_bag_info_with_a_rewritten_tag_manifest(bag: Path, log: A.AuditLog) -> None:
    info = bag / "bag-info.txt"
    info.write_text(info.read_text() + "Contact-Name: someone else\n")
    rewrite_manifests(bag, "tagmanifest-sha256.txt")
    assert E.verify(bag) == []  # the bag alone cannot tell
    problems, _notes, seq = E.verify_with_audit(bag, log.path)
    assert seq == _export_seq(log)
    assert problems == [
        f"tagmanifest-sha256.txt: not the one recorded at the export (audit event seq {seq}): "
        "bag-info.txt or bagit.txt was changed and the tag manifest rewritten"
    ]


def test_a_matching_export_event_added_later(bag: Path, log: A.AuditLog) -> None:
    """Whoever can write the log can append an event for a forged bag: a second event
    for the same folder gives it away (and a checkpoint kept elsewhere dates it)."""
    original = _export_seq(log)
    flip(bag / "data/clip.mp4")
    rewrite_manifests(bag, "manifest-sha256.txt", "tagmanifest-sha256.txt")
    forged = {
        "folder": bag.name,
        "manifest_sha256": hashlib.sha256((bag / "manifest-sha256.txt").read_bytes()).hexdigest(),
        "tagmanifest_sha256": hashlib.sha256(
            (bag / "tagmanifest-sha256.txt").read_bytes()
        ).hexdigest(),
    }
    cp = bag.parent.parent / "checkpoint.json"
    A.checkpoint(log.path, cp)
    log.append(A.EXPORT, operator="forger", camera_id="city-01", detail=forged)
    assert E.verify(bag) == []
    problems, notes, seq = E.verify_with_audit(bag, log.path, checkpoint=cp)
    assert seq == original + 1
    assert problems == [
        f"{bag.name}: the audit log has other export events for this folder (seq {original}) "
        "with other contents: one was added later"
    ]
    assert notes == [
        f"audit event seq {seq} was written after the checkpoint: it is only as trustworthy "
        "as this machine's log"
    ]


def test_an_export_withdrawn_by_a_failed_rename_is_not_a_rival(bag: Path, log: A.AuditLog) -> None:
    """Two exports in the same second share a folder name; the second one's event is
    recorded, its rename fails and an export_deny withdraws it: not a forgery."""
    seq = _export_seq(log)
    other = log.append(A.EXPORT, operator="officer.one", camera_id="city-01",
                       detail={"folder": bag.name, "manifest_sha256": "0" * 64})  # fmt: skip
    log.append(A.EXPORT_DENY, operator="officer.one", camera_id="city-01", outcome="failed",
               detail={"folder": bag.name, "export_seq": other.seq})  # fmt: skip
    assert E.verify_with_audit(bag, log.path) == ([], [], seq)
