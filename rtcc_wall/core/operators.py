"""Who is at the console: the operator's name and role, for the policy and the audit log.

Every audit row names a person, and the access policy decides by role, so the
identity must come from somewhere the operator cannot silently skip. It is, in
order: an explicit name (``--operator NAME``), ``$RTCC_WALL_OPERATOR``, the
OS user. The role comes from ``access.operators`` in the config. A site that
lists no operators gets the plain ``operator`` role for everyone (a demo, a
small centre); a site that lists operators means "only these", so an unlisted
name is refused rather than quietly given a role nobody granted.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from rtcc_wall.core.access import Operator
from rtcc_wall.errors import RtccError

#: Environment variable naming the operator when no ``--operator`` is given.
OPERATOR_ENV: Final = "RTCC_WALL_OPERATOR"


class UnknownOperator(RtccError):
    """The operator's name is not on the configured list (or no name could be found)."""

    def __init__(self, message: str, name: str | None, configured: Sequence[str]) -> None:
        super().__init__(message)
        self.name = name
        self.configured = tuple(configured)


def current_operator(
    configured: Sequence[Operator],
    explicit: str | None = None,
    *,
    os_user: Callable[[], str] = getpass.getuser,
    environ: Mapping[str, str] | None = None,
) -> Operator:
    """The operator at this console: ``explicit``, else ``$RTCC_WALL_OPERATOR``, else the OS user.

    The role is the configured one. A name matches a configured one exactly,
    or else case-insensitively when that is unambiguous (Windows reports user
    names in whatever case the account was created with); the configured
    spelling is returned, so audit rows always carry one spelling per person.
    With no operators configured, any name gets the role ``operator``.
    ``environ`` defaults to ``os.environ`` (tests pass their own mapping).

    Raises :class:`UnknownOperator` when operators are configured and the name
    is not among them, or when no name can be determined at all.
    """
    env = os.environ if environ is None else environ
    source, name = _identity(explicit, env, os_user)
    names = [o.name for o in configured]
    if not name:
        raise UnknownOperator(
            f"cannot tell who the operator is ({source}); "
            f"pass --operator NAME or set {OPERATOR_ENV}",
            None,
            names,
        )
    if not configured:
        return Operator(name, "operator")
    for o in configured:
        if o.name == name:
            return o
    folded = [o for o in configured if o.name.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise UnknownOperator(
        f"operator {name!r} ({source}) is not in access.operators of the configuration; "
        f"configured operators: {', '.join(sorted(names))}",
        name,
        names,
    )


def _identity(
    explicit: str | None, env: Mapping[str, str], os_user: Callable[[], str]
) -> tuple[str, str]:
    """(where the name came from, the name stripped); the name may be empty."""
    if explicit is not None and explicit.strip():
        return "from --operator", explicit.strip()
    from_env = env.get(OPERATOR_ENV, "").strip()
    if from_env:
        return f"from ${OPERATOR_ENV}", from_env
    try:
        user = os_user()
    except (OSError, KeyError, ImportError):
        # getpass.getuser raises these when neither the environment nor the
        # password database knows the user (a container without /etc/passwd entry)
        user = ""
    return "the OS user", (user or "").strip()
