"""Stream URLs: which kind of source a camera is, and its validated parameters.

Pure parsing, shared by the config validator (which must reject a bad URL
before anything starts) and by ``video/sources.py`` (which opens it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from rtcc_wall.core.redact import redact

#: sim:// parameters: name -> (default, min, max)
SIM_PARAMS: dict[str, tuple[int, int, int]] = {
    "fps": (12, 1, 30),
    "width": (640, 160, 1920),
    "height": (360, 90, 1080),
}

KINDS = ("sim", "rtsp", "http", "file", "device")


@dataclass(frozen=True)
class StreamSpec:
    kind: str  # one of KINDS
    url: str  # as configured (may hold a secret: never show without redact())
    params: dict[str, int] = field(default_factory=dict)
    path: str = ""  # file path for kind "file"
    device: int = 0  # index for kind "device"

    @property
    def display(self) -> str:
        return redact(self.url)


class StreamUrlError(ValueError):
    """A stream URL that cannot be used; the message is already redacted."""


def _did_you_mean(name: str, options: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_port(u: str) -> None:
    try:
        urlsplit(u).port  # noqa: B018 - raises on a port that is not 0-65535 digits
    except ValueError:
        raise StreamUrlError(
            f"{redact(u)}: the port must be a number from 1 to 65535"
        ) from None
    if urlsplit(u).port == 0:
        raise StreamUrlError(f"{redact(u)}: the port must be a number from 1 to 65535")


def parse_stream_url(url: str) -> StreamSpec:
    """Classifies and validates a stream URL. Raises StreamUrlError with a redacted message."""
    u = url.strip()
    if not u:
        raise StreamUrlError("empty stream URL")
    scheme = u.split("://", 1)[0].lower() if "://" in u else ""
    if scheme == "sim":
        return _parse_sim(u)
    if scheme in ("rtsp", "rtsps"):
        if not urlsplit(u).hostname:
            raise StreamUrlError(f"{redact(u)}: RTSP URL has no host")
        _check_port(u)
        return StreamSpec("rtsp", u)
    if scheme in ("http", "https"):
        if not urlsplit(u).hostname:
            raise StreamUrlError(f"{redact(u)}: HTTP URL has no host")
        _check_port(u)
        return StreamSpec("http", u)
    if scheme == "file":
        path = urlsplit(u).path
        if not path:
            raise StreamUrlError(f"{redact(u)}: file URL has no path")
        return StreamSpec("file", u, path=path)
    if scheme == "device":
        rest = u.split("://", 1)[1]
        if not rest.isdigit():
            raise StreamUrlError(
                f"{redact(u)}: expected device://N with N a number, e.g. device://0"
            )
        return StreamSpec("device", u, device=int(rest))
    if scheme == "":
        # a plain file path
        return StreamSpec("file", u, path=u)
    raise StreamUrlError(
        f"{redact(u)}: unsupported scheme {scheme!r} "
        "(use sim://, rtsp://, rtsps://, http://, https://, file:// or device://)"
    )


def _parse_sim(u: str) -> StreamSpec:
    parts = urlsplit(u)
    params: dict[str, int] = {k: d for k, (d, _, _) in SIM_PARAMS.items()}
    seen: set[str] = set()
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in SIM_PARAMS:
            raise StreamUrlError(
                f"{u}: unknown sim:// parameter {key!r}{_did_you_mean(key, list(SIM_PARAMS))}; "
                f"known: {', '.join(SIM_PARAMS)}"
            )
        if key in seen:
            raise StreamUrlError(f"{u}: sim:// parameter {key!r} given twice")
        seen.add(key)
        _, lo, hi = SIM_PARAMS[key]
        try:
            n = int(value)
        except ValueError:
            raise StreamUrlError(
                f"{u}: sim:// parameter {key}={value!r} is not a whole number"
            ) from None
        if not lo <= n <= hi:
            raise StreamUrlError(f"{u}: sim:// parameter {key}={n} is outside {lo}-{hi}")
        params[key] = n
    return StreamSpec("sim", u, params=params)
