"""Monitors for wall-mode tests: Qt's offscreen platform with several screens, and a real
X server (Xorg's dummy driver) whose monitors come and go through xrandr.

Offscreen: ``QT_QPA_PLATFORM=offscreen:configfile=FILE`` with
``{"screens": [{"name": "DP-1", "x": 0, "y": 0, "width": 1920, "height": 1080}, ...]}``
gives Qt that many screens (fixed for the process's life).

Xorg dummy (Debian: ``xserver-xorg-core xserver-xorg-video-dummy x11-xserver-utils``):
the dummy driver offers 16 outputs, DUMMY0 ... DUMMY15, of which only DUMMY0 is on at
start. ``xrandr --addmode DUMMYn MODE`` once, then ``xrandr --output DUMMYn --mode MODE
--right-of DUMMY0`` plugs a monitor in and ``xrandr --output DUMMYn --off`` pulls it out:
Qt's xcb platform sees real RandR output changes and emits ``screenAdded`` /
``screenRemoved``. (``xrandr --setmonitor``/``--delmonitor`` also work with Qt 6, as
virtual monitors.) See DEVELOPERS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DUMMY_CONF = Path(__file__).with_name("xorg-dummy.conf")


def offscreen_platform(path: Path, screens: Sequence[tuple[str, int, int, int, int]]) -> str:
    """Writes an offscreen config with ``screens`` (name, x, y, w, h); returns QT_QPA_PLATFORM."""
    data = {
        "screens": [
            {"name": n, "x": x, "y": y, "width": w, "height": h, "logicalDpi": 96}
            for n, x, y, w, h in screens
        ]
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return f"offscreen:configfile={path}"


class XorgUnavailable(RuntimeError):
    """Xorg (with the dummy driver) or xrandr is missing, or the server did not start."""


@dataclass
class XorgDummy:
    display: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display, "QT_QPA_PLATFORM": "xcb"}

    def xrandr(self, *args: str) -> str:
        r = subprocess.run(
            ["xrandr", "-d", self.display, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if r.returncode != 0:
            raise RuntimeError(f"xrandr {' '.join(args)} failed: {r.stderr.strip()}")
        return r.stdout

    def modes(self, output: str) -> list[str]:
        """The modes ``output`` offers (``xrandr --query``)."""
        lines = self.xrandr("--query").splitlines()
        for i, line in enumerate(lines):
            if line.split(" ", 1)[0] == output:
                modes = []
                for m in lines[i + 1 :]:
                    if not m.startswith(" "):
                        break
                    modes.append(m.split()[0])
                return modes
        raise RuntimeError(f"the X server has no output {output}")

    def plug(self, output: str, mode: str = "1920x1080", *, right_of: str | None = None) -> None:
        """Turns a dummy output on: a monitor is connected."""
        if mode not in self.modes(output):
            self.xrandr("--addmode", output, mode)
        args = ["--output", output, "--mode", mode]
        if right_of:
            args += ["--right-of", right_of]
        self.xrandr(*args)

    def unplug(self, output: str) -> None:
        """Turns a dummy output off: its monitor is disconnected."""
        self.xrandr("--output", output, "--off")

    def monitors(self) -> list[str]:
        """Names of the active monitors, as ``xrandr --listmonitors`` says."""
        text = self.xrandr("--listmonitors")
        return [line.split()[-1] for line in text.splitlines()[1:] if line.strip()]


def _free_display() -> int:
    for n in range(73, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise XorgUnavailable("no free X display number between :73 and :199")


@contextmanager
def xorg_dummy(workdir: Path, *, timeout_s: float = 15.0) -> Iterator[XorgDummy]:
    """A private Xorg with the dummy driver; DUMMY0 at 1920x1080, nothing else plugged."""
    xorg = shutil.which("Xorg")
    if xorg is None or shutil.which("xrandr") is None:
        raise XorgUnavailable(
            "Xorg or xrandr not installed (apt-get install xserver-xorg-core "
            "xserver-xorg-video-dummy x11-xserver-utils)"
        )
    if not any(
        Path(d, "dummy_drv.so").exists()
        for d in ("/usr/lib/xorg/modules/drivers", "/usr/lib64/xorg/modules/drivers")
    ):
        raise XorgUnavailable("the Xorg dummy driver is not installed (xserver-xorg-video-dummy)")
    n = _free_display()
    log = workdir / f"xorg-{n}.log"
    proc = subprocess.Popen(
        [xorg, f":{n}", "-config", str(DUMMY_CONF), "-noreset", "-nolisten", "tcp",
         "-logfile", str(log), "-novtswitch", "-sharevts"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    server = XorgDummy(f":{n}", proc, log)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                tail = " | ".join(err.strip().splitlines()[-3:])
                raise XorgUnavailable(f"Xorg exited with {proc.returncode}: {tail}")
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                try:
                    server.xrandr("--output", "DUMMY0", "--mode", "1920x1080", "--primary")
                    break
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass  # not accepting connections yet
            if time.monotonic() > deadline:
                raise XorgUnavailable(f"Xorg :{n} did not come up within {timeout_s:.0f} s")
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()


def wait_for_report(
    path: Path,
    predicate: Callable[[dict[str, Any]], bool],
    *,
    timeout_s: float,
    proc: subprocess.Popen[str] | None = None,
) -> dict[str, Any]:
    """Polls the wall-mode report file until ``predicate(report)`` holds; returns that report."""
    deadline = time.monotonic() + timeout_s
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the app exited ({proc.returncode}) while waiting; last {last}")
        try:
            last = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = {}
        if last and predicate(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f} s; last report: {last}")


def env_without_display() -> dict[str, str]:
    env = dict(os.environ)
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(k, None)
    return env
