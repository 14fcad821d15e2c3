"""Keeping camera credentials out of every message.

Stream URLs carry ``user:password@`` (plain or percent-encoded) and config
may reference ``${ENV_VAR}``; neither the password nor the expanded variable
may reach a log, the UI, an audit row, an export or an error text. Every
string that may contain a URL goes through ``redact`` before it is shown.
"""

from __future__ import annotations

import os
import re
import threading

# scheme://userinfo@host  -> keep the user name, hide the password
_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]*)@")
_QUERY_SECRET_RE = re.compile(
    r"(?P<key>[?&;](?:password|passwd|pass|pwd|token|auth|key|secret|apikey|api_key)=)[^&#\s'\"]*",
    re.IGNORECASE,
)
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

MASK = "***"

_known_secrets: set[str] = set()
_lock = threading.Lock()


def remember_secret(secret: str) -> None:
    """Registers a secret (e.g. an expanded env var) to be masked wherever it appears."""
    if len(secret) >= 3:
        with _lock:
            _known_secrets.add(secret)


def _userinfo(m: re.Match[str]) -> str:
    info = m.group("userinfo")
    if ":" in info:
        user = info.split(":", 1)[0]
        return f"{m.group('scheme')}{user}:{MASK}@"
    return f"{m.group('scheme')}{info}@"


def redact(text: str) -> str:
    """Returns ``text`` with URL passwords, secret query values and known secrets masked."""
    out = _USERINFO_RE.sub(_userinfo, text)
    out = _QUERY_SECRET_RE.sub(lambda m: m.group("key") + MASK, out)
    with _lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for s in secrets:
        out = out.replace(s, MASK)
    return out


def expand_env(url: str) -> str:
    """Expands ``${VAR}`` references; expanded values are remembered as secrets.

    Raises KeyError naming the variable when it is not set.
    """

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise KeyError(name)
        value = os.environ[name]
        remember_secret(value)
        return value

    return _ENV_RE.sub(sub, url)


def env_references(url: str) -> list[str]:
    return _ENV_RE.findall(url)
