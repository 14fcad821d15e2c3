"""The pictures of an evidence export: MP4 clips and PNG snapshots from a replay snapshot.

``core/export.py`` decides, audits and writes the bag; this module makes the
picture files inside it (always into the bag's temporary folder) and records
the next seconds of a camera for ``rtcc-wall export create``.

How a clip is made:

* **Remux, bit-exact.** An unmasked export (or a masked one of a camera
  without privacy masks) copies the compressed packets into an MP4 unchanged:
  no decode, no re-encode, so the coded pictures are the camera's own bytes.
  MP4 stores H.264 NAL units with length prefixes instead of Annex-B start
  codes: ffmpeg's muxer rewrites only those framing bytes, every NAL unit
  (parameter sets, SEI, slices) is byte-identical to the source
  (``tests/video/test_export_media.py`` compares them). Packets that are
  already length-prefixed (MP4-style sources, ``avcC`` extradata) are turned
  into Annex-B first, with the parameter sets from the extradata in front of
  the first key frame, so the muxer can find them. Timestamps are the
  source's own (a missing one is filled in from its neighbours), shifted to
  start at zero. Pictures that rtcc-wall encoded itself (``encoded_here``:
  simulated and device cameras) are remuxed too but are, by definition, not
  the camera's bytes: ``bit_exact`` is False for them.
* **Masked: decoded, masks burned in, re-encoded.** A masked export of a
  camera with privacy masks decodes every picture at full size, paints the
  masks with the same painter as the live wall (``video/masks.py``: opaque,
  no anti-aliasing, grown by a pixel) and encodes H.264 again (libx264
  ``veryfast``, CRF 18, one thread so that the live wall keeps its CPU).
  Masking happens before encoding, so no pixel of a masked area reaches the
  file; compression only blurs the mask's own hatch.

A snapshot is one decoded picture as a lossless PNG, masked the same way
unless an unmasked export was allowed.

Long work reports progress (0..1) and stops between pictures when ``cancel``
is set (raising :class:`~rtcc_wall.core.export.ExportCancelled`).
"""

from __future__ import annotations

import contextlib
import fractions
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import av
import av.error
import av.logging
import cv2
import numpy as np
from av.video.codeccontext import VideoCodecContext

from rtcc_wall.core.access import AccessPolicy, IncidentLike, Operator
from rtcc_wall.core.audit import AuditLog
from rtcc_wall.core.cameras import Camera, MaskPolygons
from rtcc_wall.core.export import (
    ExportCancelled,
    ExportError,
    ExportKind,
    ExportRequest,
    ExportResult,
    MediaFile,
    PartialExport,
    SourceFacts,
    run_export,
)
from rtcc_wall.core.redact import redact
from rtcc_wall.core.streams import StreamUrlError, parse_stream_url
from rtcc_wall.video.avio import libav_log_capture
from rtcc_wall.video.decode import frame_to_display
from rtcc_wall.video.frames import BGRImage
from rtcc_wall.video.masks import MaskPainter
from rtcc_wall.video.replay import (
    PacketFeeder,
    PictureEncoder,
    ReplayDecodeError,
    ReplayRing,
    ReplaySnapshot,
    StreamInfo,
    frame_at,
    padded_packet,
)
from rtcc_wall.video.sources import (
    DisplaySizedSource,
    SourceError,
    av_error_reason,
    make_source,
)

if TYPE_CHECKING:
    from av.video.stream import VideoStream

    from rtcc_wall.video.sim import SimWorld

log = logging.getLogger(__name__)

Progress = Callable[[float], None]

#: x264 settings of a masked (re-encoded) clip: visually lossless, single-threaded.
REENCODE_PRESET = "veryfast"
REENCODE_CRF = 18
#: Codecs whose packets go into an MP4 unchanged (see ``remuxable``).
REMUX_CODECS = frozenset({"h264", "hevc", "mjpeg"})
#: Pictures encoded for a recording from a picture source (sim/device) fit into this box.
RECORD_BOX = (1920, 1080)


# --------------------------------------------------------------------------- H.264 framing


def annexb_nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex-B byte stream (start codes and trailing zero bytes removed)."""
    out: list[bytes] = []
    starts: list[int] = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        nal = data[s:end].rstrip(b"\x00")
        if nal:
            out.append(nal)
    return out


def length_prefixed_nal_units(data: bytes, length_size: int = 4) -> list[bytes]:
    """The NAL units of a length-prefixed (MP4-style) packet; ``ValueError`` if it is not one."""
    out: list[bytes] = []
    i = 0
    while i < len(data):
        if i + length_size > len(data):
            raise ValueError("truncated NAL length")
        n = int.from_bytes(data[i : i + length_size], "big")
        i += length_size
        if n == 0 or i + n > len(data):
            raise ValueError("NAL length beyond the packet")
        out.append(data[i : i + n])
        i += n
    return out


def is_annexb(data: bytes) -> bool:
    return data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01")


def parse_avcc(extradata: bytes) -> tuple[int, list[bytes]]:
    """(NAL length size, [SPS..., PPS...]) of an ``avcC`` record; ``ValueError`` if malformed."""
    if len(extradata) < 7 or extradata[0] != 1:
        raise ValueError("not an avcC record")
    length_size = (extradata[4] & 0x03) + 1
    units: list[bytes] = []
    i = 5
    for count_mask in (0x1F, 0xFF):  # SPS count (5 bits), then PPS count (8 bits)
        if i >= len(extradata):
            raise ValueError("avcC record ends early")
        count = extradata[i] & count_mask
        i += 1
        for _ in range(count):
            n = int.from_bytes(extradata[i : i + 2], "big")
            i += 2
            if i + n > len(extradata):
                raise ValueError("avcC parameter set beyond the record")
            units.append(extradata[i : i + n])
            i += n
    return length_size, units


def remuxable(info: StreamInfo) -> bool:
    """Can packets of this stream be copied into an MP4 as they are?

    H.264 always (length-prefixed packets are reframed, see ``_h264_for_mux``),
    MJPEG always (self-contained pictures), H.265 only in Annex-B framing (an
    ``hvcC`` source would need the same reframing, not written yet). Anything
    else is decoded and re-encoded.
    """
    if info.codec == "hevc":
        return not (info.extradata and info.extradata[:1] == b"\x01")
    return info.codec in REMUX_CODECS


def _annexb(units: Sequence[bytes]) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + u for u in units)


def _h264_for_mux(snap: ReplaySnapshot) -> list[bytes]:
    """Each packet's bytes as the MP4 muxer wants them (Annex-B, parameter sets available)."""
    info = snap.info
    data = [p.data for p in snap.packets]
    extra = info.extradata
    if extra and extra[:1] == b"\x01":  # avcC: length-prefixed packets
        length_size, params = parse_avcc(extra)
        converted = [_annexb(length_prefixed_nal_units(d, length_size)) for d in data]
        if converted:
            converted[0] = _annexb(params) + converted[0]
        return converted
    if extra and is_annexb(extra) and data:
        first = {u[0] & 0x1F for u in annexb_nal_units(data[0]) if u}
        if not {7, 8} <= first:  # no SPS/PPS in band: put the SDP's in front
            data[0] = extra + data[0]
    return data


# --------------------------------------------------------------------------- timestamps


#: A stream clock that moves ahead this much more than the wall clock says has restarted
#: at a new base (a reconnected camera's new session), rather than lagged behind
#: network jitter or a step of the workstation's clock.
CLOCK_JUMP_S = 5.0
#: A step back this large is a restart even with no key frame seen (a camera whose new
#: session starts mid-GOP); smaller ones are B-frames reordered.
CLOCK_BACK_S = 1.0


def _rebased_clock(snap: ReplaySnapshot, step: int) -> list[int | None]:
    """Each packet's decode time (dts, else pts; None where it has neither), made continuous.

    A looped file starts again at 0 and a reconnected camera at its new
    session's zero (its first packet often with no time at all), while the
    ring keeps the packets from before: left as they are, everything after
    the restart would be forced up one tick at a time and flash by in the
    clip. A restart is: the clock going back at a key frame (a restart
    starts with one), or back more than ``CLOCK_BACK_S`` anywhere, or ahead
    more than ``CLOCK_JUMP_S`` beyond what the packets' arrival times say.
    The rest is then shifted to continue after the time that really passed
    (at least ``step``): a camera's outage stays in the clip as it lasted.
    Smaller differences are left alone: a step of the workstation's clock
    (arrival times come from it) must not put a gap into the evidence.
    """
    tb = snap.info.time_base
    ahead = CLOCK_JUMP_S / tb
    back = CLOCK_BACK_S / tb
    out: list[int | None] = []
    offset = 0
    prev: int | None = None
    prev_wall = 0.0
    key_since = False  # a key frame since the previous timed packet (this one included)
    for packet in snap.packets:
        key_since = key_since or packet.keyframe
        c = packet.dts if packet.dts is not None else packet.pts
        if c is None:
            out.append(None)
            continue
        if prev is not None:
            moved = c + offset - prev
            passed = max(0.0, packet.wall_time - prev_wall) / tb
            restarted = (
                (moved < 0 and key_since)
                or moved < -back
                or (moved > ahead and moved - passed > ahead)
            )
            if restarted:
                offset = prev + max(step, round(passed)) - c
        out.append(c + offset)
        prev, prev_wall, key_since = c + offset, packet.wall_time, False
    return out


def _timestamps(snap: ReplaySnapshot) -> list[tuple[int, int]]:
    """(pts, dts) per packet in the stream's time base: filled in, increasing, from zero,
    across restarts of the stream's clock (``_rebased_clock``).

    A packet with no time gets one frame before the next packet that has one
    (after the last one: one frame after the one before), so the first
    picture of a reconnected camera sits after its outage, not before it.
    """
    info = snap.info
    packets = snap.packets
    tb = info.time_base
    if info.fps:
        step = max(1, round(1 / (info.fps * tb)))
    elif len(packets) > 1:
        span = packets[-1].wall_time - packets[0].wall_time
        step = max(1, round(span / (len(packets) - 1) / tb)) if span > 0 else 1
    else:
        step = 1
    clock = _rebased_clock(snap, step)
    known = [i for i, c in enumerate(clock) if c is not None]
    out: list[tuple[int, int]] = []
    last_dts: int | None = None
    following = 0  # index into ``known`` of the next packet with a time
    for i, packet in enumerate(packets):
        c = clock[i]
        if c is None:
            while following < len(known) and known[following] < i:
                following += 1
            if following < len(known):
                nxt = known[following]
                c_next = clock[nxt]
                assert c_next is not None
                p = dts = c_next - (nxt - i) * step
                if last_dts is not None and dts <= last_dts:
                    # too little room for a frame each: share what there is evenly
                    p = dts = last_dts + max(1, (c_next - last_dts) // (nxt - i + 1))
            else:
                p = dts = (last_dts if last_dts is not None else -step) + step
        else:
            shift = c - (packet.dts if packet.dts is not None else packet.pts or 0)
            dts = c
            p = packet.pts + shift if packet.pts is not None else c
        if last_dts is not None and dts <= last_dts:
            dts = last_dts + 1
        out.append((max(p, dts), dts))
        last_dts = dts
    zero = min(d for _, d in out) if out else 0
    return [(p - zero, d - zero) for p, d in out]


# --------------------------------------------------------------------------- clips


class _FfmpegLines:
    """ffmpeg's error lines logged by *this* thread while inside ``with lines():``.

    PyAV attaches "the last error line" to its exceptions process-wide, from
    whichever thread logged it (a live camera's, say); these lines are this
    thread's own (``av.logging.Capture(local=True)``). Only the muxer and
    encoder calls are wrapped, not the decoding of the snapshot: a damaged
    camera picture logs errors that raise nothing.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with libav_log_capture(), av.logging.Capture(local=True) as logs:
            try:
                yield
            finally:
                self.lines.extend(
                    str(m).strip() for level, _name, m in logs if level <= av.logging.ERROR
                )


@contextlib.contextmanager
def _writing(snap: ReplaySnapshot, what: str, path: Path) -> Iterator[_FfmpegLines]:
    """Turns a failure while writing ``path`` into an ``ExportError`` with ffmpeg's reason.

    "Invalid argument" alone does not say that the muxer found no picture
    size; ffmpeg's line "dimensions not set" does (wrap the calls in the
    yielded ``_FfmpegLines``).
    """
    ffmpeg = _FfmpegLines()
    try:
        yield ffmpeg
    except av.error.FFmpegError as e:
        reason = av_error_reason(e, ffmpeg.lines)
        raise ExportError(
            redact(f"{snap.camera_id}: cannot write the {what} {path}: {reason}")
        ) from e
    except (ValueError, cv2.error) as e:
        raise ExportError(redact(f"{snap.camera_id}: cannot write the {what} {path}: {e}")) from e


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ExportCancelled("export cancelled; nothing was written")


def remux_clip(
    snap: ReplaySnapshot,
    path: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Writes the snapshot's packets unchanged into an MP4 at ``path``; returns the packets written.

    Raises ``ExportError`` for a codec the MP4 cannot carry this way.
    """
    info = snap.info
    if not remuxable(info):
        raise ExportError(f"{info.codec} packets cannot be copied into an MP4 unchanged")
    if not snap.packets:
        raise ExportError(f"{snap.camera_id}: no pictures in the chosen time range")
    payloads = _h264_for_mux(snap) if info.codec == "h264" else [p.data for p in snap.packets]
    stamps = _timestamps(snap)
    rate = fractions.Fraction(info.fps).limit_denominator(1001) if info.fps else None
    with (
        _writing(snap, "MP4 clip", path) as ffmpeg,
        ffmpeg(),  # no decoding here: every line is the muxer's
        av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        stream = out.add_mux_stream(info.codec, rate, width=info.width, height=info.height)
        stream.time_base = info.time_base
        n = len(snap.packets)
        for i, (p, data) in enumerate(zip(snap.packets, payloads, strict=True)):
            if i % 32 == 0:
                _check_cancel(cancel)
                if progress is not None:
                    progress(i / n)
            packet = padded_packet(data)
            packet.stream = stream
            packet.time_base = info.time_base
            packet.pts, packet.dts = stamps[i]
            packet.is_keyframe = p.keyframe
            out.mux(packet)
    if progress is not None:
        progress(1.0)
    return len(snap.packets)


def _decoder(snap: ReplaySnapshot) -> VideoCodecContext:
    try:
        ctx = av.CodecContext.create(snap.info.codec, "r")
    except (av.error.FFmpegError, ValueError) as e:
        raise ExportError(f"cannot decode {snap.info.codec!r} pictures: {e}") from e
    if not isinstance(ctx, VideoCodecContext):
        raise ExportError(f"{snap.info.codec!r} is not a video codec")
    if snap.info.extradata:
        ctx.extradata = snap.info.extradata
    ctx.thread_type = "SLICE"
    ctx.thread_count = 1
    return ctx


def decoded_frames(snap: ReplaySnapshot) -> Iterator[tuple[int, av.VideoFrame]]:
    """(packet index, decoded frame) for every picture, in presentation order.

    The index comes back through the frame's pts, so the source's own
    timestamps (``snap.packets[index]``) stay available; damaged packets are skipped.
    """
    ctx = _decoder(snap)
    last = -1

    def emit(frames: Sequence[av.VideoFrame]) -> Iterator[tuple[int, av.VideoFrame]]:
        nonlocal last
        for f in frames:
            if f.pts is None or not 0 <= f.pts < len(snap.packets) or f.pts <= last:
                continue
            last = f.pts
            yield f.pts, f

    for i, p in enumerate(snap.packets):
        packet = padded_packet(p.data)
        packet.pts = i
        packet.is_keyframe = p.keyframe
        try:
            frames = ctx.decode(packet)
        except av.error.FFmpegError as e:
            log.debug("export of %s: packet %d undecodable: %s", snap.camera_id, i, e)
            continue
        yield from emit(frames)
    try:
        yield from emit(ctx.decode(None))
    except av.error.FFmpegError:
        return


def _add_encoder(
    out: av.container.OutputContainer, w: int, h: int, snap: ReplaySnapshot
) -> VideoStream:
    """An H.264 stream of the MP4 ``out`` for (w, h) pictures in the source's time base."""
    fps = snap.info.fps or 15.0
    stream = out.add_stream("libx264", rate=fractions.Fraction(fps).limit_denominator(1001))
    cc = stream.codec_context
    cc.width, cc.height = w, h
    cc.pix_fmt = "yuv420p"
    cc.time_base = snap.info.time_base
    cc.gop_size = max(1, round(fps * 2))
    cc.max_b_frames = 0
    cc.thread_count = 1
    cc.options = {"preset": REENCODE_PRESET, "crf": str(REENCODE_CRF)}
    stream.time_base = snap.info.time_base
    return stream


def masked_picture(img: BGRImage, masks: MaskPolygons, painter: MaskPainter) -> BGRImage:
    """A writable copy of a BGRA picture with ``masks`` painted in (``img`` is left alone)."""
    out = np.array(img, dtype=np.uint8, copy=True, order="C")
    if masks:
        painter.apply(out, masks)
    return out


def reencode_clip(
    snap: ReplaySnapshot,
    path: Path,
    *,
    masks: MaskPolygons,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[int, int, int]:
    """Decodes, burns in ``masks`` and encodes H.264 into an MP4; returns (frames, w, h)."""
    if not snap.packets:
        raise ExportError(f"{snap.camera_id}: no pictures in the chosen time range")
    stamps = _timestamps(snap)
    painter = MaskPainter(max_plans=2)
    n = len(snap.packets)
    frames = 0
    size: tuple[int, int] = (0, 0)
    with _writing(snap, "masked clip", path) as ffmpeg:
        with ffmpeg():
            out = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            stream: VideoStream | None = None
            last_pts = -1
            for index, frame in decoded_frames(snap):
                if frames % 8 == 0:
                    _check_cancel(cancel)
                    if progress is not None:
                        progress(index / n)
                img = frame_to_display(frame, None)
                h, w = int(img.shape[0]) & ~1, int(img.shape[1]) & ~1  # x264 needs even sizes
                if stream is None:
                    with ffmpeg():
                        stream = _add_encoder(out, w, h, snap)
                    size = (w, h)
                if (w, h) != size:
                    continue  # a size change mid-clip: the clip keeps its first size
                pic = masked_picture(img[:h, :w], masks, painter)
                yuv = np.asarray(cv2.cvtColor(pic, cv2.COLOR_BGRA2YUV_I420), np.uint8)
                vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                pts = max(stamps[index][0], last_pts + 1)
                last_pts = pts
                vf.pts = pts
                vf.time_base = snap.info.time_base
                with ffmpeg():
                    out.mux(stream.encode(vf))
                frames += 1
            if stream is None:
                raise ExportError(f"{snap.camera_id}: not one picture could be decoded")
            with ffmpeg():
                out.mux(stream.encode(None))
        finally:
            with ffmpeg():
                out.close()
    if progress is not None:
        progress(1.0)
    return frames, size[0], size[1]


# --------------------------------------------------------------------------- snapshots


def write_png(
    snap: ReplaySnapshot, path: Path, at: float, *, masks: MaskPolygons
) -> tuple[float, int, int]:
    """The picture shown at wall time ``at`` as a PNG (masks burned in); (its time, w, h)."""
    try:
        found = frame_at(snap, at)
    except ReplayDecodeError as e:
        raise ExportError(f"{snap.camera_id}: {e}") from e
    if found is None:
        raise ExportError(f"{snap.camera_id}: no picture could be decoded at that time")
    t, img = found
    pic = masked_picture(img, masks, MaskPainter(max_plans=1))
    ok, png = cv2.imencode(".png", cv2.cvtColor(pic, cv2.COLOR_BGRA2BGR))
    if not ok:
        raise ExportError(f"{snap.camera_id}: the picture could not be encoded as PNG")
    with open(path, "xb") as f:
        f.write(png.tobytes())
    return t, int(pic.shape[1]), int(pic.shape[0])


# --------------------------------------------------------------------------- the export


def source_facts(snap: ReplaySnapshot) -> SourceFacts:
    info = snap.info
    return SourceFacts(
        codec=info.codec,
        width=info.width,
        height=info.height,
        fps=info.fps,
        encoded_here=snap.encoded_here,
        masked_in_buffer=snap.masked,
    )


def media_writer(
    snap: ReplaySnapshot,
    *,
    camera: Camera,
    kind: ExportKind,
    masked: bool,
    at: float | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Callable[[PartialExport], Sequence[MediaFile]]:
    """The ``run_export`` callback that writes ``snap`` as a clip or a snapshot.

    Masks are burned in when ``masked`` and the camera has masks and the
    buffer's pictures are not masked already; otherwise a clip is remuxed.
    """
    masks: MaskPolygons = camera.masks if masked and not snap.masked else ()
    codec = snap.info.codec

    def write(partial: PartialExport) -> Sequence[MediaFile]:
        if not snap.packets:
            raise ExportError(f"{camera.id}: no pictures in the chosen time range")
        start, end = snap.packets[0].wall_time, snap.packets[-1].wall_time
        if kind == "snapshot":
            t, w, h = write_png(
                snap, partial.data_path("snapshot.png"), end if at is None else at, masks=masks
            )
            how = (
                "one decoded picture, privacy masks burned in, lossless PNG"
                if masks
                else "one decoded picture, lossless PNG"
            )
            if progress is not None:
                progress(1.0)
            return [MediaFile("snapshot.png", "snapshot", t, t, 1, w, h, "png", bool(masks),
                              False, how)]  # fmt: skip
        path = partial.data_path("clip.mp4")
        if not masks and remuxable(snap.info):
            frames = remux_clip(snap, path, progress=progress, cancel=cancel)
            exact = not snap.encoded_here
            how = (
                "the camera's compressed packets copied unchanged into MP4 (NAL units identical; "
                "only their framing differs)"
                if exact
                else "packets encoded by rtcc-wall from the camera's pictures, copied into MP4"
            )
            w, h = snap.info.width, snap.info.height
            out_codec = codec
        else:
            frames, w, h = reencode_clip(snap, path, masks=masks, progress=progress, cancel=cancel)
            exact = False
            how = (
                f"decoded, privacy masks burned in, re-encoded H.264 (libx264 {REENCODE_PRESET} "
                f"crf {REENCODE_CRF})"
                if masks
                else f"{codec} cannot be copied into MP4: decoded and re-encoded H.264"
            )
            out_codec = "h264"
        gaps = picture_gaps(snap)
        if gaps:
            lost = sum(b - a for a, b in gaps)
            how += f"; the camera sent no picture for {lost:.1f} s in {len(gaps)} gap(s)"
        return [MediaFile("clip.mp4", "clip", start, end, frames, w, h, out_codec,
                          bool(masks) or snap.masked, exact, how, gaps)]  # fmt: skip

    return write


#: A pause between two pictures this long (or three frame intervals, if longer) is a gap.
GAP_S = 1.0


def picture_gaps(snap: ReplaySnapshot) -> tuple[tuple[float, float], ...]:
    """(from, to) arrival times around each pause in the pictures: an outage, a reconnect.

    An exported clip keeps such a pause as the time it lasted, showing the last
    picture before it; the metadata names it, so nobody takes a frozen picture
    for a still scene.
    """
    limit = max(GAP_S, 3.0 / snap.info.fps) if snap.info.fps else GAP_S
    times = [p.wall_time for p in snap.packets]
    return tuple((a, b) for a, b in zip(times, times[1:], strict=False) if b - a > limit)


def export_replay(
    snap: ReplaySnapshot,
    *,
    camera: Camera,
    operator: Operator,
    incident: IncidentLike | None,
    reason: str,
    kind: ExportKind,
    out_dir: Path,
    policy: AccessPolicy,
    audit: AuditLog,
    masked: bool = True,
    start: float | None = None,
    end: float | None = None,
    site_name: str = "",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Exports a replay snapshot (or its ``start``..``end`` part) as evidence; see ``run_export``.

    A clip starts at the key frame at or before ``start``; a snapshot is the
    picture shown at ``end`` (the newest when None). Raises the errors of
    ``core.export.run_export``.
    """
    if snap.camera_id != camera.id:
        raise ExportError(f"the replay is of {snap.camera_id}, not {camera.id}")
    first, last = snap.start_time(), snap.end_time()
    if first is None or last is None:
        raise ExportError(f"{camera.id}: the replay buffer is empty")
    t0 = first if start is None else max(start, first)
    t1 = last if end is None else min(end, last)
    if t1 < t0:
        raise ExportError(f"{camera.id}: the chosen time range is not in the replay buffer")
    if kind == "clip":
        part = snap.between(t0, t1)
        if not part.packets:
            raise ExportError(f"{camera.id}: no pictures in the chosen time range")
        range0, range1 = part.packets[0].wall_time, part.packets[-1].wall_time
        at = None
    else:
        part = snap.between(t1, t1)
        range0 = range1 = t1
        at = t1
    req = ExportRequest(
        camera=camera,
        operator=operator,
        incident=incident,
        reason=reason,
        kind=kind,
        masked=masked,
        start=range0,
        end=range1,
        out_dir=out_dir,
        site_name=site_name,
    )
    writer = media_writer(
        part, camera=camera, kind=kind, masked=masked, at=at, progress=progress, cancel=cancel
    )
    return run_export(req, source_facts(part), writer, policy=policy, audit=audit, cancel=cancel)


# --------------------------------------------------------------------------- recording


class RecordingError(ExportError):
    """The camera could not be recorded (cannot open it, the stream broke)."""


class RecordingCutShort(RecordingError):
    """The stream broke (or stalled) after part of the recording: ``snapshot`` holds the
    ``recorded_s`` seconds recorded before, to be exported rather than lost."""

    def __init__(self, message: str, snapshot: ReplaySnapshot, recorded_s: float) -> None:
        super().__init__(message)
        self.snapshot = snapshot
        self.recorded_s = recorded_s

    @property
    def held(self) -> str:
        """What was recorded, in words: "12.4 s", or a picture count below a tenth of a second."""
        return _held(len(self.snapshot.packets), self.recorded_s)


def _held(pictures: int, seconds: float) -> str:
    if seconds >= 0.05:
        return f"{seconds:.1f} s"
    return "a single picture" if pictures == 1 else f"{pictures} pictures"


def record(
    camera: Camera,
    seconds: float,
    *,
    sim_world_provider: Callable[[], SimWorld] | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    open_timeout_s: float = 10.0,
    read_timeout_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
) -> ReplaySnapshot:
    """Records the next ``seconds`` of ``camera`` into a replay ring and returns its snapshot.

    Opens the camera's main stream as the wall would (``make_source``, the
    same timeouts and error messages), keeps the compressed packets
    (``PacketFeeder``) or, for picture sources, encodes the pictures
    (``PictureEncoder``, up to 1920x1080). The recording starts at the first
    key frame and ends once it spans ``seconds``. ``progress(seconds so far)``
    is called after each picture; ``cancel`` (or Ctrl+C, KeyboardInterrupt)
    stops it. Raises :class:`RecordingError` (redacted) when the camera fails,
    :class:`RecordingCutShort` (with what was recorded) when it fails after
    the first key frame.
    """
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    try:
        spec = parse_stream_url(camera.stream)
    except StreamUrlError as e:
        raise RecordingError(f"{camera.id}: {e}") from e
    ring = ReplayRing(camera.id, seconds=seconds + 60.0, max_bytes=1 << 30)
    feeder = PacketFeeder(ring)
    try:
        source = make_source(
            camera,
            spec,
            sim_world_provider=sim_world_provider,
            width=640,
            height=360,
            on_packet=feeder,
        )
    except SourceError as e:
        raise RecordingError(f"{camera.id}: {e}") from e
    encoder: PictureEncoder | None = None
    if spec.kind in ("sim", "device"):
        encoder = PictureEncoder(ring, fps=source.nominal_fps, box=RECORD_BOX, bitrate=2_000_000)
    elif isinstance(source, DisplaySizedSource):
        source.display_box = (64, 36)  # the recording needs no picture: decode small, cheaply
    deadline = clock() + open_timeout_s + seconds + 30.0
    try:
        try:
            source.open(open_timeout_s)
        except SourceError as e:
            raise RecordingError(f"cannot record {camera.id}: {e}") from e
        while True:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("recording cancelled; nothing was exported")
            try:
                img = source.read(read_timeout_s)
            except SourceError as e:
                raise _broke(camera, ring, seconds, str(e)) from e
            if img is None:
                raise _broke(camera, ring, seconds, redact(f"{source.describe()} ended"))
            if encoder is not None:
                encoder.encode(img, time.time())
                if encoder.failed:
                    raise RecordingError(f"recording {camera.id} failed: cannot encode")
            span = ring.time_span()
            got = span[1] - span[0] if span is not None else 0.0
            if progress is not None:
                progress(min(got, seconds))
            if got >= seconds:
                break
            if clock() > deadline:
                raise _broke(
                    camera, ring, seconds, f"{seconds:g} s of pictures did not come in time"
                )
    finally:
        source.close()
    snap = ring.snapshot()
    if snap is None:
        raise RecordingError(f"recording {camera.id} failed: no pictures")
    return snap


def _broke(camera: Camera, ring: ReplayRing, seconds: float, why: str) -> RecordingError:
    """The error for a recording that stopped early: cut short if anything was recorded.

    Anything is a key frame or more: a single picture is still a picture of
    the scene (a snapshot needs no more), so it is exported rather than lost.
    """
    snap = ring.snapshot()
    if snap is None or not snap.packets:
        return RecordingError(f"recording {camera.id} failed: {why}")
    span = ring.time_span()
    got = max(0.0, span[1] - span[0]) if span is not None else 0.0
    held = f"{got:.1f} of {seconds:g} s" if got >= 0.05 else _held(len(snap.packets), got)
    return RecordingCutShort(f"recording {camera.id} stopped after {held}: {why}", snap, got)
