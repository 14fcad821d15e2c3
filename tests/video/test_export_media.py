"""Evidence export of real video: recorded from the test RTSP server, checked byte by byte.

One recording of the gst-rtsp-server's ``/cam`` (a 640x360 H.264 clip sent
like a camera's stream) is shared by the module; each test exports it and
reads the result back with PyAV: an unmasked clip must carry the camera's own
NAL units, a masked one must show the mask where the mask is and the camera's
picture elsewhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fractions
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import av
import av.logging
import cv2
import numpy as np
import pytest

from rtcc_wall.core import audit as A
from rtcc_wall.core import export as E
from rtcc_wall.core.access import AccessPolicy, Incident, Operator
from rtcc_wall.core.cameras import Camera
from rtcc_wall.video import export_media as M
from rtcc_wall.video.avio import libav_log_capture
from rtcc_wall.video.masks import make_plan
from rtcc_wall.video.replay import (
    PictureEncoder,
    ReplayPacket,
    ReplayRing,
    ReplaySnapshot,
    StreamInfo,
    decode_snapshot,
    frame_at,
)
from rtcc_wall.video.sources import route_libav_logs
from tests.helpers import stream_camera
from tests.servers.fixtures import RTSP_PASSWORD, RTSP_USER, ClipSet, _ffmpeg_clip
from tests.servers.mjpeg import MjpegServer
from tests.servers.rtsp import RtspServer

#: the left half of the top half of the picture
MASKS = (((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)),)
OFFICER = Operator("officer.one", "operator")
SUPERVISOR = Operator("sgt.two", "supervisor")
INCIDENT = Incident(
    "INC-20261117-0001", 0.0, 0.0, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "C-1", "theft", "r"
)


def camera(stream: str, masks: object = MASKS, cid: str = "cam-1") -> Camera:
    return stream_camera(cid, stream, name="Test camera", masks=masks)


@pytest.fixture(scope="module")
def cam_url(_rtsp_module_server: RtspServer) -> str:
    """``/cam`` of the module's RTSP server: the stand-in for a real camera."""
    return _rtsp_module_server.url("/cam")


@pytest.fixture(scope="module")
def recorded(cam_url: str) -> tuple[Camera, ReplaySnapshot]:
    cam = camera(cam_url)
    seen: list[float] = []
    snap = M.record(cam, 2.0, progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == 2.0
    return cam, snap


@pytest.fixture
def log(tmp_path: Path) -> Iterator[A.AuditLog]:
    with A.AuditLog(tmp_path / "audit.sqlite3") as lg:
        yield lg


def export(
    snap: ReplaySnapshot, cam: Camera, tmp_path: Path, log: A.AuditLog, **kw: object
) -> E.ExportResult:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    args: dict[str, object] = dict(
        camera=cam, operator=OFFICER, incident=INCIDENT, reason="suspect seen", kind="clip",
        out_dir=out, policy=AccessPolicy(), audit=log,
    )  # fmt: skip
    args.update(kw)
    return M.export_replay(snap, **args)  # type: ignore[arg-type]


def mp4_packets(path: Path) -> list[av.Packet]:
    with av.open(str(path)) as c:
        return [p for p in c.demux(c.streams.video[0]) if p.size]


def mp4_frames(path: Path, fmt: str = "bgra") -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format=fmt) for f in c.decode(video=0)]


def source_nals(snap: ReplaySnapshot) -> list[bytes]:
    return [u for p in snap.packets for u in M.annexb_nal_units(p.data)]


# --------------------------------------------------------------------------- recording


def test_recording_starts_at_a_key_frame_and_spans_the_seconds(
    recorded: tuple[Camera, ReplaySnapshot],
) -> None:
    _cam, snap = recorded
    assert snap.packets[0].keyframe
    assert snap.info.codec == "h264"
    assert (snap.info.width, snap.info.height) == (640, 360)
    assert snap.encoded_here is False
    end, start = snap.end_time(), snap.start_time()
    assert end is not None
    assert start is not None
    assert 2.0 <= end - start < 3.5
    assert 28 <= len(snap.packets) <= 50  # 15 fps


def test_recording_an_unreachable_camera_fails_clearly() -> None:
    cam = camera("rtsp://u:Secret-77@127.0.0.1:9/x")
    with pytest.raises(M.RecordingError) as err:
        M.record(cam, 1.0, open_timeout_s=2.0)
    assert "cannot record cam-1" in str(err.value)
    assert "Secret-77" not in str(err.value)


def test_recording_can_be_cancelled(cam_url: str) -> None:
    cancel = threading.Event()
    cam = camera(cam_url)
    with pytest.raises(E.ExportCancelled):
        M.record(cam, 30.0, cancel=cancel, progress=lambda s: s > 0.3 and cancel.set())


def test_a_camera_that_froze_after_one_picture_still_gives_that_picture(
    tmp_path: Path, log: A.AuditLog
) -> None:
    with MjpegServer(fps=5.0, mode="one") as server:
        cam = camera(server.url, masks=())
        with pytest.raises(M.RecordingCutShort) as err:
            M.record(cam, 5.0, read_timeout_s=1.0)
    assert "recording cam-1 stopped after a single picture: " in str(err.value)
    snap = err.value.snapshot
    assert len(snap.packets) == 1
    assert snap.packets[0].keyframe
    res = export(snap, cam, tmp_path, log, kind="snapshot")
    assert res.problems == []
    png = cv2.imread(str(res.path / "data/snapshot.png"))
    assert png is not None
    assert png.shape == (180, 320, 3)
    assert png.std() > 10  # the picture, not a blank one


# --------------------------------------------------------------------------- unmasked, bit-exact


def test_remux_carries_the_cameras_own_nal_units(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path
) -> None:
    _cam, snap = recorded
    path = tmp_path / "r.mp4"
    assert M.remux_clip(snap, path) == len(snap.packets)
    packets = mp4_packets(path)
    assert len(packets) == len(snap.packets)
    got = [u for p in packets for u in M.length_prefixed_nal_units(bytes(p))]
    assert got == source_nals(snap)
    assert [bool(p.is_keyframe) for p in packets] == [p.keyframe for p in snap.packets]
    frames = mp4_frames(path, "yuv420p")
    assert len(frames) == len(snap.packets)
    # the very pictures that decoding the camera's packets gives
    direct = [f.to_ndarray(format="yuv420p") for _i, f in M.decoded_frames(snap)]
    assert len(direct) == len(frames)
    assert all(np.array_equal(a, b) for a, b in zip(frames, direct, strict=True))
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.duration is not None
        seconds = float(s.duration * s.time_base)
    assert seconds == pytest.approx(len(snap.packets) / 15, abs=0.15)


def test_unmasked_export_by_a_supervisor_is_bit_exact_and_audited(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path, log: A.AuditLog
) -> None:
    cam, snap = recorded
    res = export(snap, cam, tmp_path, log, operator=SUPERVISOR, masked=False)
    assert res.problems == []
    clip = res.path / "data/clip.mp4"
    got = [u for p in mp4_packets(clip) for u in M.length_prefixed_nal_units(bytes(p))]
    assert got == source_nals(snap)
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["files"][0]["bit_exact"] is True
    assert meta["files"][0]["masked"] is False
    assert meta["privacy_masks"]["state"].startswith("UNMASKED")
    assert meta["source"]["encoded_here"] is False
    ev = list(A.read_events(log.path))[-1]
    assert (ev.kind, ev.operator, ev.detail["masked"], ev.detail["bit_exact"]) == (
        A.EXPORT, "sgt.two", False, True,
    )  # fmt: skip


def test_unmasked_export_is_refused_without_the_supervisor_role(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path, log: A.AuditLog
) -> None:
    cam, snap = recorded
    with pytest.raises(E.ExportDenied) as err:
        export(snap, cam, tmp_path, log, masked=False)
    assert err.value.code == "unmasked_needs_supervisor"
    assert list((tmp_path / "out").iterdir()) == []
    ev = list(A.read_events(log.path))[-1]
    assert (ev.kind, ev.outcome, ev.operator) == (
        A.EXPORT_DENY,
        "unmasked_needs_supervisor",
        "officer.one",
    )


def test_camera_without_masks_is_exported_bit_exact_by_default(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path, log: A.AuditLog
) -> None:
    cam, snap = recorded
    bare = camera(cam.stream, masks=())
    res = export(snap, bare, tmp_path, log)
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["files"][0]["bit_exact"] is True
    assert meta["privacy_masks"]["state"] == "no privacy masks are configured for this camera"


# --------------------------------------------------------------------------- masked


def mask_pattern(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(stencil, the mask's BGRA pattern over a whole picture)."""
    plan = make_plan(MASKS, w, h)
    pattern = np.zeros((h, w, 4), np.uint8)
    sh, sw = plan.stencil.shape
    pattern[plan.y0 : plan.y0 + sh, plan.x0 : plan.x0 + sw] = plan.fill
    return plan.full_stencil(), pattern


def test_masked_clip_shows_the_mask_and_the_picture_elsewhere(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path, log: A.AuditLog
) -> None:
    cam, snap = recorded
    res = export(snap, cam, tmp_path, log)
    assert res.problems == []
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["files"][0]["masked"] is True
    assert meta["files"][0]["bit_exact"] is False
    assert meta["privacy_masks"]["state"].startswith("masked")
    frames = mp4_frames(res.path / "data/clip.mp4")
    direct = [img for _t, img in decode_snapshot(snap)]
    assert len(frames) == len(direct)
    stencil, pattern = mask_pattern(640, 360)
    inner = cv2.erode(stencil.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    outside = ~cv2.dilate(stencil.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    for k in (0, len(frames) // 2, len(frames) - 1):
        got = frames[k][..., :3].astype(int)
        src = direct[k][..., :3].astype(int)
        # inside: the mask (the source there is the test pattern, far from it)
        assert np.abs(got[inner] - pattern[..., :3][inner]).mean() < 4
        assert np.abs(src[inner] - pattern[..., :3][inner]).mean() > 40
        # outside: the camera's picture, re-encoded at high quality
        mse = float(((got[outside] - src[outside]) ** 2).mean())
        assert 10 * np.log10(255**2 / max(mse, 1e-9)) > 30


def test_masked_png_snapshot_is_exactly_masked(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path, log: A.AuditLog
) -> None:
    cam, snap = recorded
    at = snap.packets[len(snap.packets) // 2].wall_time
    res = export(snap, cam, tmp_path, log, kind="snapshot", end=at)
    assert res.problems == []
    assert res.name.endswith("_snapshot")
    png = cv2.imread(str(res.path / "data/snapshot.png"), cv2.IMREAD_UNCHANGED)
    assert png.shape == (360, 640, 3)
    stencil, pattern = mask_pattern(640, 360)
    assert np.array_equal(png[stencil], pattern[..., :3][stencil])  # lossless: exact
    found = frame_at(snap, at)
    assert found is not None
    t, raw = found
    assert np.array_equal(png[~stencil], raw[..., :3][~stencil])
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["files"][0]["from_utc"] == meta["files"][0]["to_utc"]
    assert meta["kind"] == "snapshot"


def test_unmasked_png_snapshot_is_the_decoded_picture(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path, log: A.AuditLog
) -> None:
    cam, snap = recorded
    res = export(snap, cam, tmp_path, log, kind="snapshot", masked=False, operator=SUPERVISOR)
    png = cv2.imread(str(res.path / "data/snapshot.png"), cv2.IMREAD_UNCHANGED)
    end = snap.end_time()
    assert end is not None
    found = frame_at(snap, end)
    assert found is not None
    assert np.array_equal(png, found[1][..., :3])


def test_cancel_during_the_masked_encode_leaves_nothing(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path, log: A.AuditLog
) -> None:
    cam, snap = recorded
    cancel = threading.Event()

    def progress(f: float) -> None:
        if f > 0.2:
            cancel.set()

    with pytest.raises(E.ExportCancelled):
        export(snap, cam, tmp_path, log, cancel=cancel, progress=progress)
    assert list((tmp_path / "out").iterdir()) == []
    assert A.EXPORT not in [e.kind for e in A.read_events(log.path)]


def test_time_range_starts_at_the_key_frame_before_it(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path, log: A.AuditLog
) -> None:
    cam, snap = recorded
    t0 = snap.packets[20].wall_time  # inside the second GOP (1 s GOPs at 15 fps)
    t1 = snap.packets[25].wall_time
    res = export(snap, cam, tmp_path, log, start=t0, end=t1, masked=False, operator=SUPERVISOR)
    part = snap.between(t0, t1)
    assert part.packets[0].keyframe
    assert len(mp4_packets(res.path / "data/clip.mp4")) == len(part.packets) < len(snap.packets)
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["time_range_utc"]["from"] == A.format_epoch(part.packets[0].wall_time)
    assert meta["time_range_utc"]["to"] == A.format_epoch(t1)


# --------------------------------------------------------------------------- other sources


def test_mp4_style_source_is_remuxed_with_its_parameter_sets(
    test_clips: ClipSet, tmp_path: Path
) -> None:
    """A file camera gives length-prefixed packets and an avcC record."""
    cam = camera(test_clips.clip_sub.as_uri())
    snap = M.record(cam, 1.0)
    assert snap.info.extradata is not None
    assert snap.info.extradata[:1] == b"\x01"
    length_size, params = M.parse_avcc(snap.info.extradata)
    path = tmp_path / "f.mp4"
    M.remux_clip(snap, path)
    got = [u for p in mp4_packets(path) for u in M.length_prefixed_nal_units(bytes(p))]
    want = [u for p in snap.packets for u in M.length_prefixed_nal_units(p.data, length_size)]
    assert got == params + want
    assert len(mp4_frames(path)) == len(snap.packets)


def test_out_of_band_parameter_sets_are_put_in_front(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path
) -> None:
    """An RTSP camera may send SPS/PPS only in its SDP (the extradata), never in band."""
    _cam, snap = recorded
    stripped = []
    for p in snap.packets:
        units = [u for u in M.annexb_nal_units(p.data) if u[0] & 0x1F not in (7, 8)]
        stripped.append(ReplayPacket(M._annexb(units), p.pts, p.dts, p.keyframe, p.wall_time))
    bare = ReplaySnapshot(snap.camera_id, snap.info, tuple(stripped), False, False)
    path = tmp_path / "o.mp4"
    M.remux_clip(bare, path)
    assert len(mp4_frames(path)) == len(snap.packets)


def test_pictures_encoded_here_are_not_called_bit_exact(tmp_path: Path, log: A.AuditLog) -> None:
    ring = ReplayRing("cam-1", 30)
    enc = PictureEncoder(ring, fps=10)
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (180, 320, 3), dtype=np.uint8)
    for i in range(25):
        enc.encode(np.roll(base, i * 4, axis=1), 1_800_000_000.0 + i / 10)
    snap = ring.snapshot()
    assert snap is not None
    assert snap.encoded_here
    cam = camera("sim://?fps=10", masks=())
    res = export(snap, cam, tmp_path, log)
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["source"]["encoded_here"] is True
    assert meta["files"][0]["bit_exact"] is False
    assert "encoded by rtcc-wall" in meta["files"][0]["how"]
    assert len(mp4_frames(res.path / "data/clip.mp4")) == len(snap.packets)


def test_missing_timestamps_are_filled_in_increasing() -> None:
    info = StreamInfo("h264", 64, 64, fractions.Fraction(1, 90000), 15.0, None)
    pts = [None, 6000, None, 18000, 18000]
    packets = tuple(ReplayPacket(b"x", p, p, i == 0, float(i)) for i, p in enumerate(pts))
    stamps = M._timestamps(ReplaySnapshot("c", info, packets, False, False))
    assert stamps == [(0, 0), (6000, 6000), (12000, 12000), (18000, 18000), (18001, 18001)]


def test_what_a_cut_short_recording_holds_is_said_in_pictures_below_a_tenth_of_a_second(
    recorded: tuple[Camera, ReplaySnapshot],
) -> None:
    _cam, snap = recorded
    three = dataclasses.replace(snap, packets=snap.packets[:3])
    one = dataclasses.replace(snap, packets=snap.packets[:1])
    assert M.RecordingCutShort("m", three, 2.34).held == "2.3 s"
    assert M.RecordingCutShort("m", three, 0.0).held == "3 pictures"
    assert M.RecordingCutShort("m", one, 0.0).held == "a single picture"


def test_a_muxer_failure_says_what_ffmpeg_found_wrong(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path
) -> None:
    _cam, snap = recorded
    bad = dataclasses.replace(snap, info=dataclasses.replace(snap.info, width=0, height=0))
    with pytest.raises(E.ExportError) as err:
        M.remux_clip(bad, tmp_path / "clip.mp4")
    # not just "Invalid argument": the mp4 muxer's own line says why
    path = tmp_path / "clip.mp4"
    assert str(err.value) == (
        f"cam-1: cannot write the MP4 clip {path}: Invalid argument (dimensions not set)"
    )


def test_an_export_error_carries_no_line_of_another_threads(
    recorded: tuple[Camera, ReplaySnapshot], test_clips: ClipSet, tmp_path: Path
) -> None:
    """PyAV keeps one "last error line" for the process: a live camera's damaged picture
    (an error line, no exception) must not become the reason an export failed."""
    with av.open(str(test_clips.clip_360p)) as c:
        packets = [bytes(p) for _, p in zip(range(2), c.demux(video=0), strict=False)]
        extradata = c.streams.video[0].codec_context.extradata
    damaged = bytearray(packets[1])
    for i in range(12, 4 + int.from_bytes(damaged[:4], "big"), 5):  # inside the first NAL unit
        damaged[i] ^= 0x5A

    def camera_thread() -> None:
        ctx = av.CodecContext.create("h264", "r")
        ctx.extradata = extradata
        with libav_log_capture():
            for data in (packets[0], bytes(damaged)):
                ctx.decode(av.Packet(data))

    route_libav_logs()
    logged = av.logging.get_last_error()[0]
    t = threading.Thread(target=camera_thread)
    t.start()
    t.join()
    assert av.logging.get_last_error()[0] > logged  # a camera's line waits to be attached
    _cam, snap = recorded
    path = tmp_path / "clip.mp4"
    path.mkdir()
    with pytest.raises(E.ExportError) as err:
        M.remux_clip(snap, path)
    assert str(err.value) == f"cam-1: cannot write the MP4 clip {path}: Is a directory"


def _stamps(
    pts: list[int | None],
    wall: list[float],
    dts: list[int | None] | None = None,
    keys: tuple[int, ...] = (0,),
) -> list[int]:
    """The export's pts for packets with these pts/dts, arrival times and key frames
    (15 fps, time base 1/90000: a frame is 6000)."""
    info = StreamInfo("h264", 64, 64, fractions.Fraction(1, 90000), 15.0, None)
    d = dts if dts is not None else pts
    packets = tuple(
        ReplayPacket(b"x", p, q, i in keys, w)
        for i, (p, q, w) in enumerate(zip(pts, d, wall, strict=True))
    )
    return [p for p, _ in M._timestamps(ReplaySnapshot("c", info, packets, False, False))]


def test_a_looped_file_keeps_its_pace_across_the_loop() -> None:
    pts: list[int | None] = [0, 6000, 12000, 18000, 0, 6000, 12000]  # the file started again
    wall = [i / 15 for i in range(7)]
    assert _stamps(pts, wall, keys=(0, 4)) == [0, 6000, 12000, 18000, 24000, 30000, 36000]


def test_a_reconnected_camera_keeps_its_outage_in_the_clip() -> None:
    pts: list[int | None] = [0, 6000, 12000, 500, 6500]  # a new RTSP session, 3 s later
    wall = [0.0, 1 / 15, 2 / 15, 2 / 15 + 3.0, 3 / 15 + 3.0]
    assert _stamps(pts, wall, keys=(0, 3)) == [0, 6000, 12000, 282000, 288000]
    # as ffmpeg hands it over: the new session's first (key) frame has no time at all
    first_unknown: list[int | None] = [0, 6000, 12000, None, 6000, 12000]
    wall = [0.0, 1 / 15, 2 / 15, 3.0, 3.0 + 1 / 15, 3.0 + 2 / 15]
    after = 12000 + round((3.0 + 1 / 15 - 2 / 15) * 90000)  # the outage, as it lasted
    assert _stamps(first_unknown, wall, keys=(0, 3)) == [
        0, 6000, 12000, after - 6000, after, after + 6000,
    ]  # fmt: skip
    # a session that starts mid-GOP (no key frame), far back: a restart all the same
    mid_gop: list[int | None] = [900000, 906000, 912000, 6000, 12000]
    wall = [0.0, 1 / 15, 2 / 15, 2.2, 2.2 + 1 / 15]
    assert _stamps(mid_gop, wall)[3:] == [round(2.2 * 90000), round(2.2 * 90000) + 6000]
    # or one far ahead, moments later
    jumped: list[int | None] = [0, 6000, 12000, 9_000_000, 9_006_000]
    assert _stamps(jumped, [i / 15 for i in range(5)], keys=(0, 3)) == [
        0, 6000, 12000, 18000, 24000,
    ]  # fmt: skip


def test_a_pause_in_the_pictures_is_named_in_the_metadata(
    recorded: tuple[Camera, ReplaySnapshot], tmp_path: Path, log: A.AuditLog
) -> None:
    cam, snap = recorded
    half = len(snap.packets) // 2
    paused = dataclasses.replace(
        snap,
        packets=snap.packets[:half]
        + tuple(p._replace(wall_time=p.wall_time + 3.0) for p in snap.packets[half:]),
    )
    res = export(paused, cam, tmp_path, log, operator=SUPERVISOR, masked=False)
    assert res.problems == []
    [entry] = json.loads((res.path / "data/metadata.json").read_text())["files"]
    [gap] = entry["gaps_utc"]
    step = snap.packets[half].wall_time - snap.packets[half - 1].wall_time
    assert gap["seconds"] == pytest.approx(3.0 + step, abs=0.002)
    assert re.search(r"; the camera sent no picture for 3\.\d s in 1 gap\(s\)$", entry["how"])
    (tmp_path / "b").mkdir()
    whole = export(snap, cam, tmp_path / "b", log, operator=SUPERVISOR, masked=False)
    [plain] = json.loads((whole.path / "data/metadata.json").read_text())["files"]
    assert plain["gaps_utc"] == []
    assert "no picture" not in plain["how"]


def test_no_restart_for_reordering_jitter_or_a_step_of_the_workstation_clock() -> None:
    # B-frames: pts out of order, dts in order; packets arriving in a burst after 2 s
    pts: list[int | None] = [6000, 24000, 12000, 18000, 42000, 30000, 36000]
    dts: list[int | None] = [0, 6000, 12000, 18000, 24000, 30000, 36000]
    wall = [0.0, 0.07, 0.13, 2.2, 2.2, 2.2, 2.21]
    assert _stamps(pts, wall, dts) == pts
    # the workstation's clock stepped 60 s ahead (NTP) while the camera's ran on
    steady: list[int | None] = [0, 6000, 12000, 18000]
    assert _stamps(steady, [0.0, 1 / 15, 60.0 + 2 / 15, 60.0 + 3 / 15]) == steady
    # a B-frame camera's new session: pts but no dts for its first pictures, out of order;
    # (their order is lost, as before: the MP4 needs pts >= dts and ffmpeg gave no dts)
    session: list[int | None] = [None, 18000, 6000, 11999]
    no_dts: list[int | None] = [None, None, None, 6000]
    out = _stamps(session, [0.0, 0.07, 0.13, 0.2], no_dts)
    assert out[-1] - out[0] < 2 * 6000  # no restart, no time added


def test_pictures_with_no_time_share_what_room_there_is() -> None:
    pts: list[int | None] = [0, None, None, None, 6000]
    assert _stamps(pts, [0.0, 0.01, 0.02, 0.03, 0.07]) == [0, 1500, 3000, 4500, 6000]


def test_a_clip_of_a_looping_file_camera_plays_at_its_pace(tmp_path: Path, log: A.AuditLog) -> None:
    """A training-room camera loops a 1 s file; 2.5 s of it must last 2.5 s in the clip."""
    short = tmp_path / "one_second.mp4"
    subprocess.run(_ffmpeg_clip(short, 320, 180, 15, 1), check=True, timeout=60)
    cam = camera(str(short), masks=())
    snap = M.record(cam, 2.5)
    res = export(snap, cam, tmp_path, log, operator=SUPERVISOR, masked=False)
    assert res.problems == []
    with av.open(str(res.path / "data/clip.mp4")) as c:
        times = [float(f.time) for f in c.decode(video=0) if f.time is not None]
    steps = np.diff(times)
    assert len(times) == len(snap.packets)
    assert steps.min() > 0.05  # 15 fps: 0.067 s apart, also where the file started again
    assert steps.max() < 0.2  # (the step at a loop point comes from arrival times)
    assert abs(float(np.median(steps)) - 1 / 15) < 0.002
    assert 2.3 <= times[-1] - times[0] <= 3.5


# --------------------------------------------------------------------------- secrets


def test_password_in_the_camera_url_is_nowhere_in_the_export(
    rtsp_auth_server: RtspServer, tmp_path: Path, log: A.AuditLog
) -> None:
    cam = camera(rtsp_auth_server.url("/cam", user=RTSP_USER, password=RTSP_PASSWORD))
    snap = M.record(cam, 1.0)
    res = export(snap, cam, tmp_path, log, reason=f"seen on {cam.stream}")
    assert res.problems == []
    files = [f for f in res.path.rglob("*") if f.is_file()]
    assert len(files) == 7
    for f in files:
        assert RTSP_PASSWORD.encode() not in f.read_bytes(), f
    meta = json.loads((res.path / "data/metadata.json").read_text())
    assert meta["camera"]["source_url"] == rtsp_auth_server.url("/cam")
    assert RTSP_PASSWORD.encode() not in log.path.read_bytes()


def test_mjpeg_camera_unmasked_copy_and_masked_reencode(
    mjpeg_server: MjpegServer, tmp_path: Path, log: A.AuditLog
) -> None:
    cam = camera(mjpeg_server.url)
    snap = M.record(cam, 1.0)
    assert snap.info.codec == "mjpeg"
    exact = export(snap, cam, tmp_path, log, operator=SUPERVISOR, masked=False)
    packets = mp4_packets(exact.path / "data/clip.mp4")
    assert [bytes(p) for p in packets] == [p.data for p in snap.packets]  # the JPEGs themselves
    masked = export(snap, cam, tmp_path, log, kind="clip", start=snap.start_time())
    meta = json.loads((masked.path / "data/metadata.json").read_text())
    assert meta["files"][0]["codec"] == "h264"
    assert meta["files"][0]["masked"] is True
    frames = mp4_frames(masked.path / "data/clip.mp4", "bgr24")
    assert len(frames) == len(snap.packets)
    stencil, pattern = mask_pattern(320, 180)
    inner = cv2.erode(stencil.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert np.abs(frames[-1].astype(int)[inner] - pattern[..., :3][inner]).mean() < 4
