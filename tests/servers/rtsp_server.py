#!/usr/bin/python3
"""A small RTSP server for the video tests, run as a child of Debian's ``/usr/bin/python3``.

Why a separate script: the GObject bindings for gst-rtsp-server (``python3-gi``,
``gir1.2-gst-rtsp-server-1.0``) belong to the system Python, not to the
project's interpreter. ``tests/servers/rtsp.py`` starts this script, waits for
the ``READY <port>`` line and stops it with SIGTERM.

Mounts:

* ``--mount /cam=FILE.mp4`` serves the file's H.264 *without re-encoding*,
  looped forever. The compressed access units are read once at start-up
  (``qtdemux ! h264parse ! appsink``) and fed to each client's pipeline by an
  ``appsrc`` with timestamps that keep growing across loops, so the pipeline
  paces them at the clip's frame rate and a loop is seamless (a seek on EOS
  would tear the RTP session down). Every client gets its own media, starting
  at the clip's first (key) frame, so the first picture comes at once.
* ``--join-mount /running=FILE.mp4`` the same, as a camera that has been
  sending since the server started: a client joins wherever the clip is,
  mid-GOP, and waits for the next key frame as with a real camera.
* ``--live-mount /live=640x360@15`` encodes a live ``videotestsrc`` with
  x264 (zerolatency, a keyframe every second at most).
* ``--stamp-mount /stamp=1280x720@25`` encodes a live picture that carries
  its own send time: every frame shows ``time.time()`` in integer
  milliseconds as a barcode (``stamp_layout``/``draw_stamp_i420``), drawn by
  this process just before the frame is pushed into x264. A client on the
  same machine decodes it to measure glass-to-glass latency
  (``benchmarks/latency.py``). Every client gets its own encoder, so a new
  session starts with a key frame.
* ``--auth USER:PASS`` requires Basic auth on every mount.

Both TCP and UDP lower transports are allowed. The server quits on SIGTERM,
SIGINT, and when its stdin reaches EOF (the parent died: no orphan servers).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import GLib, Gst, GstApp, GstRtsp, GstRtspServer  # noqa: E402

_ = GstApp  # registers the appsrc/appsink action signals


class Clip:
    """The compressed H.264 access units of one file, with their caps and durations."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.caps: Gst.Caps | None = None
        self.buffers: list[Gst.Buffer] = []
        self.offsets: list[int] = []  # pts of each unit relative to the first
        self.durations: list[int] = []
        self.length_ns = 0
        self._load()

    def _load(self) -> None:
        if not os.path.isfile(self.path):
            raise SystemExit(f"cannot read {self.path}: no such file")
        pipe = Gst.parse_launch(
            f'filesrc location="{self.path}" ! qtdemux ! h264parse '
            "! video/x-h264,stream-format=avc,alignment=au ! appsink name=sink sync=false"
        )
        sink = pipe.get_by_name("sink")
        bus = pipe.get_bus()
        pipe.set_state(Gst.State.PLAYING)
        pts: list[int] = []
        error = ""
        while True:
            # try-pull with a timeout: after a demuxer error appsink never sees EOS.
            sample = sink.emit("try-pull-sample", Gst.SECOND // 10)
            if sample is None:
                msg = bus.pop_filtered(Gst.MessageType.ERROR)
                if msg is not None:
                    error = msg.parse_error()[0].message
                    break
                if sink.is_eos():
                    break
                continue
            if self.caps is None:
                self.caps = sample.get_caps()
            buf = sample.get_buffer()
            self.buffers.append(buf)
            t = buf.pts if buf.pts != Gst.CLOCK_TIME_NONE else buf.dts
            pts.append(int(t) if t != Gst.CLOCK_TIME_NONE else -1)
        pipe.set_state(Gst.State.NULL)
        if error or not self.buffers or self.caps is None:
            raise SystemExit(f"cannot read {self.path}: {error or 'no H.264 video'}")
        # Frame interval from the timestamps (bf=0 clips: pts are increasing).
        n = len(pts)
        if n > 1 and pts[0] >= 0 and pts[-1] > pts[0]:
            step = (pts[-1] - pts[0]) // (n - 1)
        else:
            step = Gst.SECOND // 15
        base = pts[0] if pts[0] >= 0 else 0
        for i, t in enumerate(pts):
            self.offsets.append(t - base if t >= 0 else i * step)
            self.durations.append(step)
        self.length_ns = self.offsets[-1] + step


#: when the server said READY: a "running" mount's clip plays from then on (``--join-mount``),
#: so a client that connects k seconds after READY joins the clip k seconds in
_STARTED = time.monotonic()


class LoopingFileFactory(GstRtspServer.RTSPMediaFactory):
    """Serves a ``Clip`` through appsrc, looping, without re-encoding.

    ``running``: the clip plays on a clock that started with the server, and
    a client joins wherever it is, as with a camera that has been sending all
    along: mid-GOP, on P-frames whose references it never received, until
    the next key frame (a clip with a long GOP makes that a long wait).
    Otherwise each client starts at the clip's first frame (a key frame).
    """

    def __init__(self, clip: Clip, *, running: bool = False) -> None:
        super().__init__()
        self.clip = clip
        self.running = running
        self.set_launch(
            "( appsrc name=src is-live=false format=time "
            "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        self.connect("media-configure", self._on_configure)

    def _on_configure(self, _factory: object, media: GstRtspServer.RTSPMedia) -> None:
        src = media.get_element().get_by_name("src")
        src.set_property("caps", self.clip.caps)
        src.set_property("max-bytes", 0)
        src.set_property("max-buffers", 8)
        clip = self.clip
        first = 0
        if self.running:
            now_ns = int((time.monotonic() - _STARTED) * Gst.SECOND) % clip.length_ns
            first = max(k for k, t in enumerate(clip.offsets) if t <= now_ns)
        state = {"i": first}

        def need_data(appsrc: Gst.Element, _length: int) -> None:
            i = state["i"]
            state["i"] = i + 1
            n = len(clip.buffers)
            loop, k = divmod(i, n)
            buf = clip.buffers[k].copy()
            t = loop * clip.length_ns + clip.offsets[k] - clip.offsets[first]
            buf.pts = t
            buf.dts = t
            buf.duration = clip.durations[k]
            if k == 0 and loop > 0:
                buf.set_flags(Gst.BufferFlags.DISCONT)
            appsrc.emit("push-buffer", buf)

        src.connect("need-data", need_data)


class LiveFactory(GstRtspServer.RTSPMediaFactory):
    """A live test pattern encoded with x264 (one encoder shared by every client)."""

    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__()
        self.set_launch(
            "( videotestsrc is-live=true pattern=ball "
            f"! video/x-raw,width={width},height={height},framerate={fps}/1,format=I420 "
            "! x264enc tune=zerolatency speed-preset=ultrafast "
            f"key-int-max={max(1, fps)} bframes=0 "
            "! video/x-h264,profile=constrained-baseline "
            "! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        self.set_shared(True)


# --------------------------------------------------------------------------- stamp

#: Barcode of a stamped frame: 4 guard blocks, 40 bits of ``ms % 2**40`` (MSB first),
#: an 8-bit check, 4 guard blocks. Keep in step with ``benchmarks/_common.py``.
STAMP_GUARD_LEFT = (1, 0, 1, 0)
STAMP_GUARD_RIGHT = (0, 1, 0, 1)
STAMP_VALUE_BITS = 40
STAMP_CHECK_BITS = 8
STAMP_BLOCKS = len(STAMP_GUARD_LEFT) + STAMP_VALUE_BITS + STAMP_CHECK_BITS + len(STAMP_GUARD_RIGHT)
STAMP_WHITE_Y = 235
STAMP_BLACK_Y = 16
STAMP_GREY_Y = 128


def stamp_layout(width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, block width, y0, band height) of the barcode in a ``width`` x ``height`` frame.

    Blocks span ~92 % of the width (8+ px each from 480 px up); the band is
    ~1/10 of the height (40 px at least), centred vertically, away from the
    tile's name bar (top) and state pill (bottom right).
    """
    bw = max(1, (width * 92 // 100) // STAMP_BLOCKS)
    x0 = (width - bw * STAMP_BLOCKS) // 2
    bh = min(height, max(40, (height // 10) & ~1))
    y0 = ((height - bh) // 2) & ~1
    return x0, bw, y0, bh


def stamp_check(value: int) -> int:
    """An 8-bit check over the 40-bit value: the sum of its 5 bytes, xor 0xA5."""
    return (sum((value >> (8 * i)) & 0xFF for i in range(5)) & 0xFF) ^ 0xA5


def stamp_bits(ms: int) -> list[int]:
    """Every block of the barcode for ``ms`` (1 = white), guards included."""
    value = ms % (1 << STAMP_VALUE_BITS)
    data = [(value >> (STAMP_VALUE_BITS - 1 - i)) & 1 for i in range(STAMP_VALUE_BITS)]
    check = stamp_check(value)
    data += [(check >> (STAMP_CHECK_BITS - 1 - i)) & 1 for i in range(STAMP_CHECK_BITS)]
    return [*STAMP_GUARD_LEFT, *data, *STAMP_GUARD_RIGHT]


class StampPainter:
    """Draws I420 frames carrying a barcode of ``ms`` (pure Python: no numpy here)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.x0, self.bw, self.y0, self.bh = stamp_layout(width, height)
        grey = bytes([STAMP_GREY_Y])
        self._row = grey * width
        self._white = bytes([STAMP_WHITE_Y]) * self.bw
        self._black = bytes([STAMP_BLACK_Y]) * self.bw
        self._left = grey * self.x0
        self._right = grey * (width - self.x0 - self.bw * STAMP_BLOCKS)
        self._above = self._row * self.y0
        self._below = self._row * (height - self.y0 - self.bh)
        self._chroma = b"\x80" * (2 * ((width + 1) // 2) * ((height + 1) // 2))

    def draw(self, ms: int) -> bytes:
        blocks = b"".join(self._white if b else self._black for b in stamp_bits(ms))
        band = (self._left + blocks + self._right) * self.bh
        return self._above + band + self._below + self._chroma


class StampFactory(GstRtspServer.RTSPMediaFactory):
    """A live x264 stream whose frames carry their send time (one encoder per client).

    appsrc is driven by ``need-data`` (it asks again as soon as it has sent a
    buffer): the callback waits for the next frame's due time on the frame
    clock, reads ``time.time()``, draws it and pushes the frame. ``do-timestamp``
    gives each buffer the pipeline's running time at the push, as a live
    camera would. A callback that fell behind skips ahead instead of bursting.
    """

    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, max(1, fps)
        self.set_launch(
            "( appsrc name=src is-live=true format=time do-timestamp=true "
            "min-latency=0 max-buffers=2 block=false "
            "! x264enc tune=zerolatency speed-preset=ultrafast "
            f"key-int-max={self.fps} bframes=0 "
            "! video/x-h264,profile=constrained-baseline "
            "! rtph264pay config-interval=-1 pt=96 name=pay0 )"
        )
        self.set_shared(False)
        self.connect("media-configure", self._on_configure)

    def _on_configure(self, _factory: object, media: GstRtspServer.RTSPMedia) -> None:
        src = media.get_element().get_by_name("src")
        src.set_property(
            "caps",
            Gst.Caps.from_string(
                f"video/x-raw,format=I420,width={self.width},height={self.height},"
                f"framerate={self.fps}/1"
            ),
        )
        painter = StampPainter(self.width, self.height)
        interval = 1.0 / self.fps
        state: dict[str, float | None] = {"due": None}
        unsynced = _Unsynced(media)

        def need_data(appsrc: Gst.Element, _length: int) -> None:
            now = time.monotonic()
            due = state["due"]
            if due is None or now - due > interval:
                due = now  # first frame, or fell behind: no burst of late frames
            if due > now:
                time.sleep(due - now)
            state["due"] = due + interval
            unsynced.apply()
            data = painter.draw(int(time.time() * 1000))
            appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(data))

        src.connect("need-data", need_data)


class _Unsynced:
    """Makes the stamp mount send each packet as soon as it is encoded, as a camera does.

    gst-rtsp-server's RTP sinks sync to the pipeline clock: a buffer waits
    until its running time plus the pipeline's latency, which held every
    stamped frame about 19 ms after its stamp was drawn (measured: complete
    frame at the client 23.8 ms after the stamp with sync, 5.2 ms without).
    The stamp is meant to be the send time, so the sinks must not wait. The
    server creates and configures them when a client sets up its transport,
    after "prepared", so they are collected as they are added and switched
    off before every frame is pushed (a property read when already off).
    """

    SINKS = ("appsink", "multiudpsink", "udpsink")

    def __init__(self, media: GstRtspServer.RTSPMedia) -> None:
        self.sinks: list[Gst.Element] = []
        media.connect("prepared", self._prepared)

    def _prepared(self, media: GstRtspServer.RTSPMedia) -> None:
        pipeline = media.get_element().get_parent()
        if pipeline is None:
            return
        it = pipeline.iterate_recurse()
        while True:
            res, element = it.next()
            if res != Gst.IteratorResult.OK:
                break
            self._add(element)
        pipeline.connect("deep-element-added", lambda _bin, _sub, element: self._add(element))

    def _add(self, element: Gst.Element) -> None:
        factory = element.get_factory()
        if factory is not None and factory.get_name() in self.SINKS:
            self.sinks.append(element)

    def apply(self) -> None:
        for sink in self.sinks:
            if sink.get_property("sync"):
                sink.set_property("sync", False)


def parse_mount(text: str) -> tuple[str, str]:
    path, sep, value = text.partition("=")
    if not sep or not path.startswith("/") or not value:
        raise argparse.ArgumentTypeError(f"expected /path=VALUE, got {text!r}")
    return path, value


def parse_live(value: str) -> tuple[int, int, int]:
    size, _, fps = value.partition("@")
    w, _, h = size.partition("x")
    return int(w), int(h), int(fps or 15)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--mount", type=parse_mount, action="append", default=[])
    ap.add_argument("--live-mount", type=parse_mount, action="append", default=[])
    ap.add_argument(
        "--join-mount",
        type=parse_mount,
        action="append",
        default=[],
        help="/path=FILE: the clip as a running camera (clients join where it is, mid-GOP)",
    )
    ap.add_argument(
        "--stamp-mount",
        type=parse_mount,
        action="append",
        default=[],
        help="/path=WxH@FPS: live x264 frames stamped with their send time (a barcode)",
    )
    ap.add_argument("--auth", default=None, help="USER:PASS required on every mount")
    args = ap.parse_args(argv)

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()

    factories: list[GstRtspServer.RTSPMediaFactory] = []
    for path, filename in args.mount:
        f: GstRtspServer.RTSPMediaFactory = LoopingFileFactory(Clip(filename))
        mounts.add_factory(path, f)
        factories.append(f)
    for path, filename in args.join_mount:
        f = LoopingFileFactory(Clip(filename), running=True)
        mounts.add_factory(path, f)
        factories.append(f)
    for path, spec in args.live_mount:
        f = LiveFactory(*parse_live(spec))
        mounts.add_factory(path, f)
        factories.append(f)
    for path, spec in args.stamp_mount:
        f = StampFactory(*parse_live(spec))
        mounts.add_factory(path, f)
        factories.append(f)
    for f in factories:
        f.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)

    if args.auth:
        user, _, password = args.auth.partition(":")
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        for f in factories:
            perms = GstRtspServer.RTSPPermissions()
            perms.add_permission_for_role(
                "viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True
            )
            perms.add_permission_for_role(
                "viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True
            )
            f.set_permissions(perms)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr, flush=True)
        return 2

    def quit_loop(*_args: object) -> bool:
        loop.quit()
        return False

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, quit_loop)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, quit_loop)

    def watch_stdin() -> None:
        # os.read, not sys.stdin: a buffered read holds a lock that breaks interpreter exit.
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        GLib.idle_add(quit_loop)

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    global _STARTED
    _STARTED = time.monotonic()
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
