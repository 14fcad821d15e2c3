"""What one stream's bare decode costs at the source's pace, against wall_throughput's yardstick.

Why
    ``wall_throughput.py`` divides the app's CPU per shown frame by what
    ``ffmpeg -threads 1 -i CLIP -f null -`` pays per frame of the clip: a lone
    decode running flat out, one frame straight after the other. A wall never
    decodes like that: a camera hands over one frame every 40 ms (25 fps) or
    67 ms (15 fps), and the decoder sleeps in between. This script measures
    what that alone costs, with nothing of the app around it: no Qt, no
    shrinking, no network, no other stream. It is what one lone stream pays;
    with other streams keeping the cores busy a decode may pay a little less
    (wall_throughput's "ffmpeg x N" is the yardstick for that).

What is measured (one process, the same run)
    * **flat**   -- PyAV (the app's decoder, set up as the app sets it up: one
      thread, no frame threads) decodes the clip in a tight loop;
    * **paced**  -- the same, sleeping after each frame until the next is due
      at the clip's frame rate, as a camera delivers it;
    * **paced + shrink** -- paced, plus the app's own step turning the frame
      into the tile's BGRA picture (``frame_to_display``, to the size of a
      tile of a 1920x1080 4x4 or 8x8 wall);
    * with ``--extra``: **paced, pinned** (the thread held on one core, so
      it never wakes up on the other core's caches) and **paced, spinning**
      (a busy loop instead of sleeping: the core never idles);
    * **ffmpeg flat / -re** -- after the PyAV rounds, the ffmpeg command of
      the yardstick, flat out and with ``-re`` (read at the clip's rate),
      start-up excluded (the CPU of as many one-frame runs is subtracted).
      ffmpeg 5.1's ``-re`` polls every 10 ms while it waits (6-7 wake-ups
      per frame at 15 fps), so its paced figure counts some polling too.

    PyAV rounds are interleaved (flat, paced, paced + shrink, ...) and each
    figure is their median; the CPU is the decoding thread's
    ``time.thread_time()`` around the decode calls only (waiting is not
    counted). The ffmpeg figures pool ``--rounds`` runs (their CPU summed,
    over their frames summed) from the children's rusage of the whole
    process: a difference of two process totals, noisier than the PyAV
    figures (the yardstick of ``wall_throughput.py`` is measured the same
    way).

It prints paced / flat (PyAV's own) and paced / the ffmpeg yardstick, next
to wall_throughput's target (1.5): what one stream's decoding costs when it
sleeps between frames, before the app does anything with the pictures.

How to run (from the repository root)::

    python benchmarks/paced_decode.py              # both clips, 3 rounds (~2 min)
    python benchmarks/paced_decode.py --rounds 5 --extra
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import decode_cpu_per_frame, ffmpeg_paced_yardstick, ffmpeg_yardstick

from tests.servers.fixtures import make_clips

TARGET_CPU_RATIO = 1.5


@dataclass(frozen=True)
class Clip:
    name: str
    fps: float
    #: the tile the wall_throughput wall shows it in (w, h)
    tile: tuple[int, int]


CLIPS = {
    "720p": Clip("1280x720@25", 25.0, (479, 269)),
    "360p": Clip("640x360@15", 15.0, (238, 133)),
}


def measure(path: Path, clip: Clip, rounds: int, extra: bool) -> dict[str, float]:
    from rtcc_wall.video.decode import frame_to_display

    def shrink(frame: object) -> object:
        return frame_to_display(frame, clip.tile)  # type: ignore[arg-type]

    runs: dict[str, list[float]] = {"flat": [], "paced": [], "paced + shrink": []}
    if extra:
        runs.update({"paced, pinned": [], "paced, spinning": []})
    for _ in range(rounds):
        runs["flat"].append(decode_cpu_per_frame(path, None))
        runs["paced"].append(decode_cpu_per_frame(path, clip.fps))
        runs["paced + shrink"].append(decode_cpu_per_frame(path, clip.fps, shrink))
        if extra:
            cores = os.sched_getaffinity(0)  # this thread's (Linux: pid 0 is the caller)
            os.sched_setaffinity(0, {min(cores)})
            try:
                runs["paced, pinned"].append(decode_cpu_per_frame(path, clip.fps))
            finally:
                os.sched_setaffinity(0, cores)
            runs["paced, spinning"].append(decode_cpu_per_frame(path, clip.fps, spin=True))
    out = {k: statistics.median(v) for k, v in runs.items()}
    out["ffmpeg flat"] = ffmpeg_yardstick(path, rounds).decode_s
    out["ffmpeg -re"] = ffmpeg_paced_yardstick(path, rounds).decode_s
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each measurement")
    ap.add_argument("--clip", choices=[*CLIPS, "both"], default="both")
    ap.add_argument(
        "--extra", action="store_true", help="also paced with the thread pinned, and spinning"
    )
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    names = list(CLIPS) if args.clip == "both" else [args.clip]
    with tempfile.TemporaryDirectory(prefix="rtcc-bench-") as tmp:
        clips = make_clips(Path(tmp))
        paths = {"720p": clips.clip_720p, "360p": clips.clip_360p}
        results = {}
        for name in names:
            print(f"measuring {CLIPS[name].name} ({args.rounds} rounds) ...", flush=True)
            results[name] = measure(paths[name], CLIPS[name], args.rounds, args.extra)
    print()
    head = (
        f"{'clip':<12} {'PyAV flat':>9} {'paced':>7} {'paced/flat':>10} "
        f"{'+shrink':>8} {'/flat':>6} {'ffmpeg flat':>11} {'-re':>7} {'-re/flat':>8}"
    )
    print(head + "   (ms CPU per frame)")
    print("-" * len(head))
    for name, r in results.items():
        print(
            f"{CLIPS[name].name:<12} {r['flat'] * 1e3:>9.3f} {r['paced'] * 1e3:>7.3f} "
            f"{r['paced'] / r['flat']:>10.2f} {r['paced + shrink'] * 1e3:>8.3f} "
            f"{r['paced + shrink'] / r['flat']:>6.2f} {r['ffmpeg flat'] * 1e3:>11.3f} "
            f"{r['ffmpeg -re'] * 1e3:>7.3f} {r['ffmpeg -re'] / r['ffmpeg flat']:>8.2f}"
        )
    if args.extra:
        print()
        for name, r in results.items():
            print(
                f"{CLIPS[name].name}: paced, pinned to one core {r['paced, pinned'] * 1e3:.3f} ms "
                f"({r['paced, pinned'] / r['flat']:.2f} x flat); paced, spinning instead of "
                f"sleeping {r['paced, spinning'] * 1e3:.3f} ms "
                f"({r['paced, spinning'] / r['flat']:.2f} x flat)"
            )
    print()
    for name, r in results.items():
        paced = r["paced"] / r["ffmpeg flat"]
        verdict = "above" if paced > TARGET_CPU_RATIO else "within"
        shrink = r["paced + shrink"] / r["ffmpeg flat"]
        print(
            f"{CLIPS[name].name}: a bare decode at the clip's pace costs {paced:.2f} x the "
            f"flat-out ffmpeg yardstick ({verdict} the target {TARGET_CPU_RATIO}), {shrink:.2f} x "
            f"with the shrink to the tile; before any network, display or other stream"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
