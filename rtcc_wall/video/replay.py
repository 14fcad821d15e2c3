"""The instant-replay buffer: the last N seconds of each watched camera, as compressed packets.

Why packets and not pictures (ARCHITECTURE "Live video, measured here"): a ring
of decoded 360p pictures costs ~300 MB a minute, the camera's own H.264
packets about bitrate x seconds (600 kb/s for 60 s = 4.5 MB), and an export
can carry the original bytes unchanged. So:

* ``PyAVSource`` cameras (rtsp/http/file) hand every compressed packet to a
  ``PacketFeeder`` (the source's ``on_packet`` hook, on the camera thread),
  which copies its bytes into the camera's ``ReplayRing``
  (``encoded_here=False``);
* cameras that only give pictures (``sim://``, ``device://``) are encoded for
  the ring by a ``PictureEncoder`` on the camera thread (libx264 ultrafast /
  zerolatency, about 400 kb/s at 640x360 or less, a key frame every 2 s;
  ``encoded_here=True``: these are not the camera's original bytes).

The ring keeps **whole GOPs** (a key frame and the frames that depend on it)
so that every snapshot starts at a key frame and decodes from its first
packet. Packets before the first key frame are dropped (they cannot be
decoded). The front GOP is dropped as soon as the GOPs after it still cover
``seconds``, so the ring holds between ``seconds`` and ``seconds`` + one GOP;
and GOPs are dropped while the ring holds more than ``max_bytes``. A single
GOP bigger than ``max_bytes`` (a camera that never sends a key frame) empties
the ring until the next key frame: the byte bound is never exceeded. Time is
measured on the monotonic clock, so a wall-clock jump cannot empty or
overfill the ring; ``ReplayPacket.wall_time`` is for display and search.

The ring stores the camera's **unmasked** pictures (``masked=False``):
whoever shows or exports them burns in the camera's active privacy masks
unless a supervisor lifted them (``ReplayPlayer`` does). A ring lives while
its camera's stream runs; the ``StreamManager`` closes it (emptied, refusing
further packets) when the last stream of the camera stops, so a private
camera whose view ended keeps nothing.

Decoding (``decode_snapshot``, ``frame_at``, ``ReplayPlayer``) uses PyAV's
decoders on the caller's thread: call them off the GUI thread.
"""

from __future__ import annotations

import bisect
import fractions
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

import av
import av.error
import cv2
import numpy as np
from av.video.codeccontext import VideoCodecContext

from rtcc_wall.core.masks import FULL_FRAME, MaskPolygon
from rtcc_wall.core.redact import redact
from rtcc_wall.video.decode import frame_to_display
from rtcc_wall.video.frames import BGRImage, fit_size
from rtcc_wall.video.masks import MaskPainter

if TYPE_CHECKING:
    from av.video.stream import VideoStream

log = logging.getLogger(__name__)

#: Default length of the replay buffer (seconds) and its per-camera byte bound.
DEFAULT_SECONDS = 60.0
DEFAULT_MAX_BYTES = 64 * 2**20


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class StreamInfo:
    """What a decoder or muxer needs to know about the packets of a ring.

    ``extradata`` is the codec's out-of-band setup as the demuxer gave it
    (avcC for MP4-style H.264, the Annex-B SPS/PPS from an RTSP SDP), None
    when the stream carries it in-band only (``PictureEncoder``'s Annex-B).
    """

    codec: str
    width: int
    height: int
    time_base: fractions.Fraction
    fps: float | None
    extradata: bytes | None


class ReplayPacket(NamedTuple):
    """One compressed packet, copied out of the decoder's buffer.

    The ring keeps each as a plain tuple (``_Stored``), see there.
    """

    data: bytes
    pts: int | None
    dts: int | None
    keyframe: bool
    wall_time: float  # time.time() when it arrived (UTC epoch seconds)


@dataclass(frozen=True)
class ReplaySnapshot:
    """An immutable copy of a ring, handed to replay and export; starts at a key frame.

    ``encoded_here``: the packets were encoded by rtcc-wall (sim/device
    cameras), not the camera's original bytes. ``masked``: the pictures in
    the packets already have the privacy masks burned in (never, for rings
    filled by the wall).
    """

    camera_id: str
    info: StreamInfo
    packets: tuple[ReplayPacket, ...]
    encoded_here: bool
    masked: bool

    def start_time(self) -> float | None:
        return self.packets[0].wall_time if self.packets else None

    def end_time(self) -> float | None:
        return self.packets[-1].wall_time if self.packets else None

    @property
    def nbytes(self) -> int:
        return sum(len(p.data) for p in self.packets)

    def between(self, t0: float, t1: float) -> ReplaySnapshot:
        """The packets from the key frame at or before ``t0`` up to ``t1`` (wall times).

        A ``t0`` before the first packet starts at the first packet (a key
        frame); a range entirely outside the snapshot gives no packets.
        """
        if t1 < t0:
            raise ValueError(f"replay range ends before it starts: {t1} < {t0}")
        times = [p.wall_time for p in self.packets]
        end = bisect.bisect_right(times, t1)
        start = 0
        for i in range(min(bisect.bisect_right(times, t0), end) - 1, -1, -1):
            if self.packets[i].keyframe:
                start = i
                break
        if end <= start or not self.packets or times[-1] < t0:
            return replace(self, packets=())
        return replace(self, packets=self.packets[start:end])


# --------------------------------------------------------------------------- ring


#: A packet as the ring keeps it: ``tuple(ReplayPacket)``. An exact tuple of plain
#: values stops being tracked by the garbage collector once it survives a young
#: collection; a dataclass or NamedTuple instance stays tracked for good. 64 cameras'
#: minute of replay is ~58,000 packets: kept as objects, every full collection walked
#: them all with the GIL held (~100 ms here), the wall missed six display ticks and
#: dropped frames (measured with ``gc.callbacks``).
_Stored = tuple[bytes, "int | None", "int | None", bool, float]


@dataclass
class _Gop:
    """A key frame and the packets after it, up to the next key frame."""

    started: float  # monotonic arrival of the key frame
    packets: list[_Stored] = field(default_factory=list)
    nbytes: int = 0


class ReplayRing:
    """The last ``seconds`` of one camera's packets, whole GOPs, at most ``max_bytes``.

    Thread-safe: written by the camera worker thread, read by anyone. See the
    module docstring for the bounds. ``close()`` empties the ring for good
    (further packets are ignored): the manager calls it when the camera's
    last stream stops.
    """

    def __init__(
        self,
        camera_id: str,
        seconds: float = DEFAULT_SECONDS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not seconds > 0:
            raise ValueError(f"replay ring of {camera_id}: seconds must be positive, got {seconds}")
        if max_bytes <= 0:
            raise ValueError(
                f"replay ring of {camera_id}: max_bytes must be positive, got {max_bytes}"
            )
        self.camera_id = camera_id
        self.seconds = float(seconds)
        self.max_bytes = int(max_bytes)
        self._clock = clock
        self._lock = threading.Lock()
        self._gops: deque[_Gop] = deque()
        self._bytes = 0
        self._packets = 0
        self._newest: float | None = None  # monotonic arrival of the newest packet
        self._info: StreamInfo | None = None
        self._encoded_here = False
        self._masked = False
        self._closed = False
        self.dropped_waiting_key = 0  # packets before the first key frame (undecodable)
        self.overflows = 0  # times a single GOP outgrew max_bytes and was thrown away

    # -- writing -------------------------------------------------------------
    def set_info(self, info: StreamInfo, *, encoded_here: bool, masked: bool) -> None:
        """The stream the next packets belong to; a change empties the ring."""
        with self._lock:
            if (info, encoded_here, masked) == (self._info, self._encoded_here, self._masked):
                return
            self._clear_locked()
            self._info, self._encoded_here, self._masked = info, encoded_here, masked

    def add(self, packet: ReplayPacket) -> None:
        """Appends a packet, then drops whole GOPs from the front beyond the bounds."""
        now = self._clock()
        size = len(packet.data)
        with self._lock:
            if self._closed or self._info is None:
                return
            if packet.keyframe:
                self._gops.append(_Gop(now))
            elif not self._gops:
                self.dropped_waiting_key += 1
                return
            gop = self._gops[-1]
            gop.packets.append(
                (packet.data, packet.pts, packet.dts, packet.keyframe, packet.wall_time)
            )
            gop.nbytes += size
            self._bytes += size
            self._packets += 1
            self._newest = now
            self._trim_locked(now)

    def _trim_locked(self, now: float) -> None:
        gops = self._gops
        while len(gops) >= 2 and now - gops[1].started >= self.seconds:
            self._drop_front_locked()
        while len(gops) >= 2 and self._bytes > self.max_bytes:
            self._drop_front_locked()
        if self._bytes > self.max_bytes:  # one GOP alone is too big: wait for a key frame
            self.overflows += 1
            self._clear_locked()

    def _drop_front_locked(self) -> None:
        gop = self._gops.popleft()
        self._bytes -= gop.nbytes
        self._packets -= len(gop.packets)

    def clear(self) -> None:
        """Forgets every packet (the stream facts stay)."""
        with self._lock:
            self._clear_locked()

    def _clear_locked(self) -> None:
        self._gops.clear()
        self._bytes = 0
        self._packets = 0
        self._newest = None

    def close(self) -> None:
        """Empties the ring for good: later packets are ignored."""
        with self._lock:
            self._closed = True
            self._clear_locked()

    # -- reading -------------------------------------------------------------
    def snapshot(self) -> ReplaySnapshot | None:
        """An immutable copy of what the ring holds (starting at a key frame), or None."""
        with self._lock:
            if self._info is None or not self._gops:
                return None
            packets = tuple(ReplayPacket._make(p) for gop in self._gops for p in gop.packets)
            return ReplaySnapshot(
                self.camera_id, self._info, packets, self._encoded_here, self._masked
            )

    @property
    def info(self) -> StreamInfo | None:
        with self._lock:
            return self._info

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return self._bytes

    @property
    def packet_count(self) -> int:
        with self._lock:
            return self._packets

    def time_span(self) -> tuple[float, float] | None:
        """Wall times (epoch s) of the oldest and the newest packet held, or None."""
        with self._lock:
            if not self._gops:
                return None
            return self._gops[0].packets[0][4], self._gops[-1].packets[-1][4]  # wall times

    @property
    def seconds_held(self) -> float:
        """Seconds from the oldest key frame held to the newest packet (arrival times)."""
        with self._lock:
            if not self._gops or self._newest is None:
                return 0.0
            return max(0.0, self._newest - self._gops[0].started)


# --------------------------------------------------------------------------- filling


def stream_info(stream: VideoStream) -> StreamInfo:
    """The ``StreamInfo`` of an open PyAV video stream."""
    cc = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else None
    extradata = cc.extradata
    return StreamInfo(
        codec=str(cc.name),
        width=int(cc.width),
        height=int(cc.height),
        time_base=fractions.Fraction(stream.time_base or fractions.Fraction(1, 90000)),
        fps=fps if fps is not None and 0.5 <= fps <= 240.0 else None,
        extradata=bytes(extradata) if extradata else None,
    )


class PacketFeeder:
    """A ``PyAVSource.on_packet`` hook that copies every packet into ``ring``.

    Runs on the camera thread; the stream facts are taken from the packet's
    stream whenever that stream object changes (a reopened file). ``active``
    is asked first: a worker that was told to stop adds nothing more.
    """

    def __init__(
        self,
        ring: ReplayRing,
        *,
        active: Callable[[], bool] = lambda: True,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.ring = ring
        self._active = active
        self._wall_clock = wall_clock
        self._stream: object = None

    def __call__(self, packet: av.Packet) -> None:
        if not self._active():
            return
        stream = packet.stream
        if stream is not self._stream:
            self.ring.set_info(stream_info(stream), encoded_here=False, masked=False)
            self._stream = stream
        self.ring.add(
            ReplayPacket(
                data=bytes(packet),
                pts=packet.pts,
                dts=packet.dts,
                keyframe=bool(packet.is_keyframe),
                wall_time=self._wall_clock(),
            )
        )


#: Pictures bigger than this are shrunk before ``PictureEncoder`` encodes them.
ENCODE_BOX = (640, 360)
#: Bits per second asked of x264 for a full ``ENCODE_BOX`` picture (scaled with the area).
ENCODE_BITRATE = 400_000
#: Seconds between key frames of encoded rings (the ring drops whole GOPs).
ENCODE_KEYFRAME_S = 2.0


class PictureEncoder:
    """Encodes a picture source's frames into ``ring`` (libx264, Annex-B, no B-frames).

    For cameras that give pictures, not packets (``sim://``, ``device://``).
    Runs on the camera thread after the live picture was published. Pictures
    are shrunk into ``box`` (even sizes), converted with OpenCV (cheaper than
    swscale) and encoded with x264 ``ultrafast``/``zerolatency`` in one
    thread. Timestamps are milliseconds of the monotonic clock since the
    first picture. A new picture size starts a new encoder (and, through
    ``set_info``, an empty ring). An encoder failure is logged once and
    turns encoding off for this encoder: live video goes on.
    """

    def __init__(
        self,
        ring: ReplayRing,
        *,
        fps: float | None = None,
        box: tuple[int, int] = ENCODE_BOX,
        bitrate: int = ENCODE_BITRATE,
        keyframe_s: float = ENCODE_KEYFRAME_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ring = ring
        self._fps = fps if fps and fps > 0 else None
        self._box = box
        self._bitrate = bitrate
        self._keyframe_s = keyframe_s
        self._clock = clock
        self._ctx: VideoCodecContext | None = None
        self._size: tuple[int, int] | None = None
        self._t0: float | None = None
        self._last_pts = -1
        self.failed = False
        self.frames = 0
        self.cpu_s = 0.0  # thread CPU time spent in encode()

    def encode(self, picture: BGRImage, wall_time: float) -> None:
        """Encodes one BGR/BGRA/grey picture that was shown at ``wall_time`` (epoch s)."""
        if self.failed:
            return
        c0 = time.thread_time()
        try:
            self._encode(picture, wall_time)
        except (av.error.FFmpegError, ValueError, cv2.error) as e:
            self.failed = True
            log.warning(
                "replay ring of %s: encoding failed, replay off for this stream: %s",
                self.ring.camera_id,
                redact(repr(e)),
            )
        finally:
            self.cpu_s += time.thread_time() - c0

    def _encode(self, picture: BGRImage, wall_time: float) -> None:
        h, w = int(picture.shape[0]), int(picture.shape[1])
        tw, th = fit_size(w, h, *self._box)
        tw, th = max(2, tw - tw % 2), max(2, th - th % 2)
        if self._ctx is None or self._size != (tw, th):
            self._open(tw, th)
        ctx = self._ctx
        assert ctx is not None
        small = picture
        if (tw, th) != (w, h):
            small = np.asarray(
                cv2.resize(picture, (tw, th), interpolation=cv2.INTER_LINEAR), np.uint8
            )
        if small.ndim == 2:
            small = np.asarray(cv2.cvtColor(small, cv2.COLOR_GRAY2BGR), np.uint8)
        code = cv2.COLOR_BGRA2YUV_I420 if small.shape[2] == 4 else cv2.COLOR_BGR2YUV_I420
        yuv = np.asarray(cv2.cvtColor(small, code), np.uint8)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        now = self._clock()
        if self._t0 is None:
            self._t0 = now
        pts = max(self._last_pts + 1, round((now - self._t0) * 1000))
        self._last_pts = pts
        frame.pts = pts
        self.frames += 1
        for p in ctx.encode(frame):
            self.ring.add(ReplayPacket(bytes(p), p.pts, p.dts, bool(p.is_keyframe), wall_time))

    def _open(self, w: int, h: int) -> None:
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, VideoCodecContext)
        fps = self._fps or 15.0
        ctx.width, ctx.height = w, h
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = fractions.Fraction(1, 1000)
        ctx.framerate = fractions.Fraction(fps).limit_denominator(1001)
        area = (w * h) / (ENCODE_BOX[0] * ENCODE_BOX[1])
        ctx.bit_rate = max(64_000, round(self._bitrate * min(1.0, area)))
        ctx.gop_size = max(1, round(fps * self._keyframe_s))
        ctx.max_b_frames = 0
        ctx.thread_count = 1
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency"}
        ctx.open()
        self._ctx, self._size = ctx, (w, h)
        self._t0, self._last_pts = None, -1
        info = StreamInfo(
            codec="h264",
            width=w,
            height=h,
            time_base=fractions.Fraction(1, 1000),
            fps=self._fps,
            extradata=None,
        )
        self.ring.set_info(info, encoded_here=True, masked=False)

    @property
    def cpu_ms_per_frame(self) -> float:
        return 1e3 * self.cpu_s / self.frames if self.frames else 0.0


# --------------------------------------------------------------------------- decoding


class ReplayDecodeError(Exception):
    """A snapshot cannot be decoded (unknown codec, or not one picture came out)."""


def _decoder(info: StreamInfo) -> VideoCodecContext:
    try:
        ctx = av.CodecContext.create(info.codec, "r")
    except (av.error.FFmpegError, ValueError) as e:
        raise ReplayDecodeError(f"cannot decode {info.codec!r} replay packets: {e}") from None
    if not isinstance(ctx, VideoCodecContext):
        raise ReplayDecodeError(f"{info.codec!r} is not a video codec")
    if info.extradata:
        ctx.extradata = info.extradata
    ctx.thread_type = "SLICE"
    ctx.thread_count = 1
    return ctx


def padded_packet(data: bytes) -> av.Packet:
    """A packet holding a copy of ``data`` followed by FFmpeg's zeroed input padding.

    Not ``av.Packet(data)``: that points the packet at the bytes object's own
    memory, without the AV_INPUT_BUFFER_PADDING_SIZE bytes that FFmpeg's
    decoders may read (and their optimised bitstream readers do) past the end.
    """
    packet = av.Packet(len(data))  # av_new_packet: padded, padding zeroed
    packet.update(data)
    return packet


def _to_packet(index: int, p: ReplayPacket) -> av.Packet:
    packet = padded_packet(p.data)
    packet.pts = index  # the decoded frame carries its packet's index back
    if p.keyframe:
        packet.is_keyframe = True
    return packet


class ReplayPlayer:
    """Random access to a snapshot's pictures, by frame index, decoding as little as possible.

    Frame ``i`` is the picture of packet ``i`` (one picture per packet, as in
    H.264/H.265/MJPEG streams), shown at that packet's wall time. A request
    for the next frames continues the running decoder; a jump (or a step
    back) restarts it at the key frame of the frame's GOP. Decoded pictures
    (fitted into ``box``, unmasked) are kept in a cache of at most
    ``cache_bytes``; ``picture(i)`` returns a *new* array with the masks of
    ``mask_provider`` (asked at every call, so a lift or restore shows at
    once) burned in, the whole picture masked when the provider fails.

    Not thread-safe: use it from one thread (the viewer's decode thread).
    """

    def __init__(
        self,
        snap: ReplaySnapshot,
        box: tuple[int, int] | None = None,
        *,
        mask_provider: Callable[[], Sequence[MaskPolygon]] | None = None,
        cache_bytes: int = 160 * 2**20,
    ) -> None:
        if not snap.packets:
            raise ReplayDecodeError(f"replay of {snap.camera_id}: no pictures")
        self.snap = snap
        self.box = box
        self._mask_provider = mask_provider
        self._painter = MaskPainter(max_plans=4)
        self._cache_bytes = cache_bytes
        self._cache: OrderedDict[int, BGRImage] = OrderedDict()
        self._cached = 0
        self.times: tuple[float, ...] = tuple(p.wall_time for p in snap.packets)
        key = 0
        gop_of: list[int] = []
        for i, p in enumerate(snap.packets):
            if p.keyframe:
                key = i
            gop_of.append(key)
        self._gop_of = gop_of
        self._ctx: VideoCodecContext | None = None
        self._next = 0  # the packet the running decoder needs next
        self.decoded = 0  # pictures decoded (for tests and the benchmark)
        self.mask_failures = 0

    def __len__(self) -> int:
        return len(self.times)

    def index_at(self, wall_time: float) -> int:
        """The frame shown at ``wall_time``: the last one at or before it (the first if earlier)."""
        return max(0, bisect.bisect_right(self.times, wall_time) - 1)

    def raw(self, i: int) -> BGRImage | None:
        """Frame ``i`` as decoded and fitted (unmasked, shared, read-only); None if undecodable."""
        if not 0 <= i < len(self.times):
            raise IndexError(f"replay frame {i} of {len(self.times)}")
        hit = self._cache.get(i)
        if hit is not None:
            self._cache.move_to_end(i)
            return hit
        gop = self._gop_of[i]
        if self._ctx is None or self._next > i or self._next < gop:
            self._restart(gop)
        ctx = self._ctx
        assert ctx is not None
        while self._next <= i:
            n = self._next
            self._next += 1
            try:
                frames = ctx.decode(_to_packet(n, self.snap.packets[n]))
            except av.error.FFmpegError as e:
                log.debug("replay of %s: packet %d undecodable: %s", self.snap.camera_id, n, e)
                continue
            for f in frames:
                self._keep(f)
        if i not in self._cache and self._next >= len(self.times):
            try:  # the last packets: drain what the decoder still holds
                for f in ctx.decode(None):
                    self._keep(f)
            except av.error.FFmpegError:
                pass
            self._ctx = None
        return self._cache.get(i)

    def picture(self, i: int) -> BGRImage | None:
        """Frame ``i`` with the active privacy masks burned in (a new, writable array)."""
        raw = self.raw(i)
        if raw is None:
            return None
        out = raw.copy()
        provider = self._mask_provider
        if provider is None:
            return out
        try:
            masks = provider()
            if masks:
                self._painter.apply(out, masks)
        except Exception as e:  # noqa: BLE001 - boundary: never show unmasked on a bug
            self.mask_failures += 1
            log.error(
                "replay of %s: privacy masks failed, masking the whole picture: %s",
                self.snap.camera_id,
                redact(repr(e)),
            )
            self._painter.apply(out, FULL_FRAME)
        return out

    def _restart(self, gop: int) -> None:
        self._ctx = _decoder(self.snap.info)
        self._next = gop

    def _keep(self, frame: av.VideoFrame) -> None:
        i = frame.pts
        if i is None or not 0 <= i < len(self.times) or i in self._cache:
            return
        img = frame_to_display(frame, self.box)
        img.flags.writeable = False
        self.decoded += 1
        self._cache[i] = img
        self._cached += img.nbytes
        while self._cached > self._cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= old.nbytes

    @property
    def cache_bytes(self) -> int:
        return self._cached

    def drop_cache(self) -> None:
        """Lets go of every decoded picture and of the decoder (a viewer closing)."""
        self._cache.clear()
        self._cached = 0
        self._ctx = None


def decode_snapshot(
    snap: ReplaySnapshot, box: tuple[int, int] | None = None
) -> Iterator[tuple[float, BGRImage]]:
    """(wall_time, BGRA picture fitted into ``box``) for every frame, in order (unmasked).

    Raises ``ReplayDecodeError`` when the codec is unknown here; damaged
    packets are skipped.
    """
    if not snap.packets:
        return
    ctx = _decoder(snap.info)
    times = [p.wall_time for p in snap.packets]
    last = -1

    def emit(frames: Sequence[av.VideoFrame]) -> Iterator[tuple[float, BGRImage]]:
        nonlocal last
        for f in frames:
            if f.pts is None or not 0 <= f.pts < len(times):
                continue
            if f.pts <= last:  # pictures come out in order; a repeat is damage
                continue
            last = f.pts
            yield times[f.pts], frame_to_display(f, box)

    for i, p in enumerate(snap.packets):
        try:
            frames = ctx.decode(_to_packet(i, p))
        except av.error.FFmpegError as e:
            log.debug("replay of %s: packet %d undecodable: %s", snap.camera_id, i, e)
            continue
        yield from emit(frames)
    try:
        frames = ctx.decode(None)
    except av.error.FFmpegError:
        return
    yield from emit(frames)


def frame_at(
    snap: ReplaySnapshot, wall_time: float, box: tuple[int, int] | None = None
) -> tuple[float, BGRImage] | None:
    """The picture shown at ``wall_time`` (the last frame at or before it), or None.

    Decodes only the GOP it is in. A time before the snapshot gives its first
    picture, after it the last one. Unmasked: burn in the masks before showing it.
    """
    if not snap.packets:
        return None
    player = ReplayPlayer(snap, box)
    i = player.index_at(wall_time)
    # a damaged packet gives no picture: fall back to the nearest earlier one of its GOP
    for j in range(i, player._gop_of[i] - 1, -1):
        img = player.raw(j)
        if img is not None:
            return player.times[j], img.copy()
    return None
