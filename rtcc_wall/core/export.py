"""Evidence exports: BagIt folders that anyone can check, never half written, always audited.

An operator who exports what a camera saw hands it to a court, so three things
must hold, and this module (pure Python, no Qt, no video libraries) keeps them;
the pixels come from ``video/export_media.py`` through a callback:

* **Integrity checkable by anyone.** The export is a BagIt v1.0 bag (RFC 8493):
  ``bagit.txt``, the payload under ``data/`` (the clip or snapshot,
  ``data/metadata.json`` and the incident's audit events
  ``data/audit-events.json``), ``manifest-sha256.txt`` (the SHA-256 of every
  payload file), ``bag-info.txt`` (Payload-Oxum, Bagging-Date, a description)
  and ``tagmanifest-sha256.txt`` (the SHA-256 of those tag files). Manifests use
  two spaces between hash and path, so ``sha256sum -c manifest-sha256.txt``
  checks a bag without rtcc-wall; :func:`verify` (``rtcc-wall export verify``)
  checks everything and names each changed, missing or added file.
* **Chain of custody.** Every export writes an ``EXPORT`` audit event (camera,
  incident, time range, reason, masked or not, folder name and the SHA-256 of
  the bag's ``manifest-sha256.txt``) *before* the bag gets its final name: if
  the event cannot be written, the export is deleted. Refusals (no reason, an
  unmasked export without the supervisor role, the access policy) write
  ``EXPORT_DENY``. The bag carries the incident's audit events with their
  hash-chain fields, so they can be checked against the log; the export's own
  ``EXPORT`` row (which names this bag's manifest hash) follows them in the log.
* **Never half there, never overwritten.** Everything is written into a
  temporary sibling folder ``.NAME.partial-XXXXXXXX``, each file fsynced; the
  folder is renamed to ``NAME`` only at the very end, with a rename that
  refuses to replace an existing folder (``renameat2(RENAME_NOREPLACE)`` on
  Linux). Any error, Ctrl+C or a full disk removes the temporary folder. A
  crash (power loss, SIGKILL) can leave only a ``.partial-`` folder: hidden, not
  under the export's name, and without ``tagmanifest-sha256.txt`` (written last)
  -- :func:`verify` rejects it as incomplete on both counts.

Folder names are built from ids (incident, camera) that come from users and
configs, so each part goes through :func:`safe_component`: only letters,
digits, ``.``, ``_`` and ``-`` survive, no leading dot, never ``..``, no path
separator and no control character can reach the file system.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

from rtcc_wall import __version__
from rtcc_wall.core import audit as A
from rtcc_wall.core.access import AccessPolicy, IncidentLike, Operator
from rtcc_wall.core.cameras import Camera
from rtcc_wall.core.redact import redact
from rtcc_wall.errors import RtccError

ExportKind = Literal["clip", "snapshot"]

FORMAT: Final = "rtcc-wall/export/1"
AUDIT_EVENTS_FORMAT: Final = "rtcc-wall/audit-events/1"
BAGIT_TXT: Final = "bagit.txt"
BAG_INFO: Final = "bag-info.txt"
MANIFEST: Final = "manifest-sha256.txt"
TAGMANIFEST: Final = "tagmanifest-sha256.txt"
DATA: Final = "data"
METADATA_FILE: Final = "metadata.json"
AUDIT_EVENTS_FILE: Final = "audit-events.json"
BAGIT_DECLARATION: Final = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
#: Marks the temporary folder of an export being written: ``.NAME.partial-XXXXXXXX``.
PARTIAL_MARK: Final = ".partial-"
#: The role that may export pictures without their privacy masks.
UNMASK_ROLE: Final = "supervisor"
#: Longest part of a folder name taken from one id.
MAX_COMPONENT: Final = 64

_CHUNK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


# --------------------------------------------------------------------------- errors


class ExportError(RtccError):
    """An export could not be made; the message is redacted and fit to show as is."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class ExportDenied(ExportError):
    """The export was refused (and the refusal recorded); ``code`` says which rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ExportExists(ExportError):
    """An export of that name is already there; it is never overwritten."""


class ExportCancelled(ExportError):
    """The operator cancelled; nothing was left behind."""


# --------------------------------------------------------------------------- names


def safe_component(text: str, what: str) -> str:
    """``text`` (an id) as one safe part of a folder name.

    Characters other than ASCII letters, digits, ``.``, ``_`` and ``-`` become
    ``_`` (path separators, control characters, spaces, non-ASCII), as does
    every run of dots or underscores (``..`` never survives); leading and
    trailing dots, dashes and underscores are dropped, so ``..`` or ``.hidden``
    cannot come through; the result is cut to :data:`MAX_COMPONENT` characters.
    Raises :class:`ExportError` naming ``what`` when nothing usable remains.
    """
    cleaned = _UNSAFE_CHARS.sub("_", text)
    cleaned = re.sub(r"_{2,}", "_", re.sub(r"\.{2,}", "_", cleaned))
    cleaned = cleaned.strip("._-")[:MAX_COMPONENT].strip("._-")
    if not cleaned:
        raise ExportError(f"{what} {text!r} gives no usable folder name")
    return cleaned


def check_folder_name(name: str) -> str:
    """``name`` if it is one plain folder name; :class:`ExportError` otherwise.

    Refused: empty, ``.``/``..``, a leading dot (hidden, and the mark of a
    temporary folder), any path separator, NUL or other control character.
    """
    problem = None
    if not name or name in (".", ".."):
        problem = "is empty or a relative reference"
    elif name.startswith("."):
        problem = "starts with a dot"
    elif any(c in name for c in "/\\") or (os.altsep and os.altsep in name):
        problem = "contains a path separator"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "contains a control character"
    elif len(name.encode("utf-8")) > 200:
        problem = "is too long"
    if problem is not None:
        raise ExportError(f"export folder name {name!r} {problem}")
    return name


def _stamp(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def folder_name(
    camera_id: str,
    incident_id: str | None,
    start: float,
    kind: ExportKind,
    *,
    masked: bool = True,
) -> str:
    """``INCIDENT_CAMERA_YYYYMMDDTHHMMSSZ_KIND[-unmasked]`` from sanitised ids and the UTC start."""
    inc = safe_component(incident_id, "incident id") if incident_id else "no-incident"
    cam = safe_component(camera_id, "camera id")
    suffix = "" if masked else "-unmasked"
    return check_folder_name(f"{inc}_{cam}_{_stamp(start)}_{kind}{suffix}")


def is_partial_name(name: str) -> bool:
    """True for the temporary folder of an export that is (or was, before a crash) being written."""
    return name.startswith(".") and PARTIAL_MARK in name


# --------------------------------------------------------------------------- files


def _fsync_dir(path: Path) -> None:
    """Makes a directory's entries (new files, a rename) durable; a no-op where unsupported."""
    if sys.platform.startswith("win"):
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def sha256_file(path: Path, *, sync: bool = False) -> tuple[str, int]:
    """(hex SHA-256, size) of a file, read in chunks; ``sync`` also fsyncs it first."""
    h = hashlib.sha256()
    size = 0
    with open(path, "r+b" if sync else "rb") as f:
        if sync:
            os.fsync(f.fileno())
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _encode_path(rel: str) -> str:
    """A manifest path as RFC 8493 wants it: %, CR and LF percent-encoded."""
    return rel.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _decode_path(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0d", "\r")
        .replace("%0A", "\n")
        .replace("%0a", "\n")
        .replace("%25", "%")
    )


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Renames ``src`` to ``dst``, failing with ``FileExistsError`` if ``dst`` exists.

    ``os.rename`` alone would silently replace an *empty* directory on POSIX;
    Linux's ``renameat2(RENAME_NOREPLACE)`` makes the check and the rename one
    step. Where that call is missing or unsupported by the file system, the
    check comes just before the rename (a window only another process writing
    the same name at the same moment could use).
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        fn = getattr(libc, "renameat2", None)
        if fn is not None:
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
            fn.argtypes += [ctypes.c_uint]
            fn.restype = ctypes.c_int
            if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
                return
            err = ctypes.get_errno()
            if err == errno.EEXIST:
                raise FileExistsError(err, os.strerror(err), str(dst))
            if err not in (errno.ENOSYS, errno.EINVAL):
                raise OSError(err, os.strerror(err), str(src))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


def _os_reason(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    if e.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return e.strerror or str(e)


@dataclass(frozen=True)
class FinishedBag:
    path: Path
    name: str
    manifest_sha256: str
    payload_files: int
    payload_bytes: int


class PartialExport:
    """A bag being written in ``.NAME.partial-XXXXXXXX`` beside its final place.

    Use as a context manager: leaving it with an exception (or without
    :meth:`finish`) removes the temporary folder. Payload goes under
    :attr:`data_dir` (:meth:`data_path` hands out paths there).
    """

    def __init__(self, out_dir: Path, name: str) -> None:
        self.name = check_folder_name(name)
        self.out_dir = out_dir
        self.final_path = out_dir / name
        if os.path.lexists(self.final_path):
            raise ExportExists(f"{self.final_path} exists; an export is never overwritten")
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f".{name}{PARTIAL_MARK}", dir=out_dir))
            self.data_dir = self.path / DATA
            self.data_dir.mkdir()
        except OSError as e:
            raise ExportError(f"cannot write in {out_dir}: {_os_reason(e)}") from e
        self._done = False

    def __enter__(self) -> PartialExport:
        return self

    def __exit__(self, etype: object, *exc: object) -> None:
        if not self._done:
            self.abort()

    def data_path(self, rel: str) -> Path:
        """Where the payload file ``data/REL`` is written (its folders are created)."""
        parts = rel.split("/")
        if not rel or any(p in ("", ".", "..") for p in parts) or "\\" in rel or "\0" in rel:
            raise ValueError(f"not a plain relative payload path: {rel!r}")
        path = self.data_dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_json(self, rel: str, value: object) -> Path:
        path = self.data_path(rel)
        text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        _write_synced(path, text.encode("utf-8"))
        return path

    def abort(self) -> None:
        """Removes the temporary folder (idempotent; errors are ignored: nothing else can help)."""
        self._done = True
        shutil.rmtree(self.path, ignore_errors=True)

    def _payload(self) -> list[tuple[str, Path]]:
        files: list[tuple[str, Path]] = []
        for root, dirs, names in os.walk(self.data_dir):
            dirs.sort()
            for n in sorted(names):
                p = Path(root, n)
                if p.is_symlink() or not p.is_file():
                    raise ExportError(f"payload {p.name} is not a regular file")
                files.append((p.relative_to(self.path).as_posix(), p))
        return files

    def finish(
        self,
        bag_info: Mapping[str, str],
        before_rename: Callable[[str, str], None] | None = None,
    ) -> FinishedBag:
        """Writes the manifests and tag files, then gives the bag its final name.

        ``before_rename(manifest_sha256, tagmanifest_sha256)`` (the SHA-256 of
        those two files) runs when every byte is on disk and
        before the rename (the audit event); if it raises, the bag is removed.
        Raises :class:`ExportExists` if ``NAME`` appeared meanwhile and
        :class:`ExportError` for a write error (both after removing the bag).
        """
        try:
            lines: list[str] = []
            total = count = 0
            for rel, p in self._payload():
                digest, size = sha256_file(p, sync=True)
                lines.append(f"{digest}  {_encode_path(rel)}\n")
                total += size
                count += 1
            for root, _dirs, _names in os.walk(self.data_dir):
                _fsync_dir(Path(root))
            manifest = "".join(lines).encode("utf-8")
            _write_synced(self.path / MANIFEST, manifest)
            info = dict(bag_info)
            info["Payload-Oxum"] = f"{total}.{count}"
            info.setdefault("Bagging-Date", dt.datetime.now(dt.UTC).date().isoformat())
            info.setdefault("Bag-Software-Agent", f"rtcc-wall {__version__}")
            _write_synced(self.path / BAG_INFO, _bag_info_text(info).encode("utf-8"))
            _write_synced(self.path / BAGIT_TXT, BAGIT_DECLARATION.encode("utf-8"))
            tags = []
            for tag in (BAGIT_TXT, BAG_INFO, MANIFEST):
                digest, _ = sha256_file(self.path / tag)
                tags.append(f"{digest}  {tag}\n")
            # written last: a bag without it is one whose writing did not finish
            tagmanifest = "".join(tags).encode("utf-8")
            _write_synced(self.path / TAGMANIFEST, tagmanifest)
            _fsync_dir(self.path)
            manifest_sha = hashlib.sha256(manifest).hexdigest()
            if before_rename is not None:
                before_rename(manifest_sha, hashlib.sha256(tagmanifest).hexdigest())
            _rename_noreplace(self.path, self.final_path)
            self._done = True
            _fsync_dir(self.out_dir)
        except FileExistsError as e:
            self.abort()
            raise ExportExists(f"{self.final_path} exists; an export is never overwritten") from e
        except OSError as e:
            self.abort()
            raise ExportError(f"cannot write the export in {self.out_dir}: {_os_reason(e)}") from e
        except BaseException:
            self.abort()
            raise
        return FinishedBag(self.final_path, self.name, manifest_sha, count, total)


def _bag_info_text(info: Mapping[str, str]) -> str:
    out = []
    for k, v in info.items():
        value = redact(" ".join(str(v).split()))  # one line, no control characters
        out.append(f"{k}: {value}\n")
    return "".join(out)


def start_export(out_dir: Path | str, name: str) -> PartialExport:
    """A :class:`PartialExport` for ``out_dir/name``; the folder must exist and be writable.

    Raises :class:`ExportExists` when ``name`` is taken and :class:`ExportError`
    when ``out_dir`` is not a writable folder.
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise ExportError(f"{out} is not a folder")
    if not os.access(out, os.W_OK | os.X_OK):
        raise ExportError(f"{out} is not writable")
    return PartialExport(out, name)


# --------------------------------------------------------------------------- verify


def _read_manifest(bag: Path, name: str, problems: list[str]) -> dict[str, str] | None:
    """{path: lower-case hex} of a manifest; None (and a problem) when it cannot be read."""
    path = bag / name
    if not path.is_file():
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.append(f"{name}: cannot be read ({e})")
        return None
    entries: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not _HEX64.match(parts[0]):
            problems.append(f"{name} line {i}: not 'SHA256 PATH'")
            continue
        rel = _decode_path(parts[1].strip())
        pieces = rel.split("/")
        if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in pieces):
            problems.append(f"{name} line {i}: unsafe path {rel!r}")
            continue
        if rel in entries:
            problems.append(f"{name} line {i}: {rel} is listed twice")
            continue
        entries[rel] = parts[0].lower()
    return entries


def _check_files(bag: Path, listed: Mapping[str, str], manifest: str, problems: list[str]) -> None:
    for rel, want in sorted(listed.items()):
        p = bag.joinpath(*rel.split("/"))
        if p.is_symlink():
            problems.append(f"{rel}: is a symbolic link, not a file")
        elif not p.is_file():
            problems.append(f"{rel}: missing (listed in {manifest})")
        else:
            try:
                got, _ = sha256_file(p)
            except OSError as e:
                problems.append(f"{rel}: cannot be read ({e.strerror or e})")
                continue
            if got != want:
                problems.append(f"{rel}: changed (its SHA-256 differs from {manifest})")


def _payload_files(bag: Path) -> list[str]:
    out = []
    data = bag / DATA
    for root, dirs, names in os.walk(data):
        dirs.sort()
        for n in sorted(names):
            out.append(Path(root, n).relative_to(bag).as_posix())
    return out


def _bag_info(bag: Path, problems: list[str]) -> dict[str, str]:
    path = bag / BAG_INFO
    if not path.is_file():
        problems.append(f"{BAG_INFO}: missing")
        return {}
    info: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        problems.append(f"{BAG_INFO}: cannot be read ({e})")
        return {}
    last = None
    for line in lines:
        if line[:1] in (" ", "\t") and last is not None:
            info[last] += " " + line.strip()  # a continued value
            continue
        key, sep, value = line.partition(":")
        if sep:
            last = key.strip()
            info[last] = value.strip()
    return info


def verify(path: Path | str) -> list[str]:
    """Everything wrong with the export at ``path``; an empty list means it is intact.

    Checks: the folder is not the temporary folder of an unfinished export;
    ``bagit.txt`` declares BagIt 1.0; every tag file matches
    ``tagmanifest-sha256.txt``; every payload file matches
    ``manifest-sha256.txt``, none is missing and none was added; Payload-Oxum
    matches the payload. Each problem names its file, relative to the bag.
    """
    bag = Path(path)
    if not bag.is_dir():
        return [f"{bag}: not a folder" if bag.exists() else f"{bag}: no such folder"]
    problems: list[str] = []
    if is_partial_name(bag.name):
        problems.append(
            f"{bag.name}: incomplete export: this is the temporary folder of an export whose "
            "writing did not finish (a crash or a full disk); it is not evidence"
        )
    bagit = bag / BAGIT_TXT
    if not bagit.is_file():
        problems.append(f"{BAGIT_TXT}: missing (not a BagIt bag, or an incomplete export)")
    else:
        try:
            declared = bagit.read_bytes().decode("utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            declared = []
        if declared[:1] != ["BagIt-Version: 1.0"] or not any(
            ln.startswith("Tag-File-Character-Encoding: UTF-8") for ln in declared
        ):
            problems.append(f"{BAGIT_TXT}: not a BagIt 1.0 declaration in UTF-8")
    tags = _read_manifest(bag, TAGMANIFEST, problems)
    if tags is None:
        if not (bag / TAGMANIFEST).exists():
            problems.append(
                f"{TAGMANIFEST}: missing (it is written last: the export did not finish)"
            )
    else:
        _check_files(bag, tags, TAGMANIFEST, problems)
        top_level = {p.name for p in bag.iterdir() if p.name not in (DATA, TAGMANIFEST)}
        for extra in sorted(top_level - set(tags)):
            problems.append(f"{extra}: not listed in {TAGMANIFEST} (added after the export)")
    manifest = _read_manifest(bag, MANIFEST, problems)
    if manifest is None:
        if not (bag / MANIFEST).exists():
            problems.append(f"{MANIFEST}: missing")
        manifest = {}
    else:
        outside = [rel for rel in manifest if not rel.startswith(f"{DATA}/")]
        for rel in outside:
            problems.append(f"{MANIFEST}: {rel} lies outside {DATA}/")
        _check_files(bag, manifest, MANIFEST, problems)
    payload = _payload_files(bag)
    for rel in payload:
        if rel not in manifest:
            problems.append(f"{rel}: not listed in {MANIFEST} (added after the export)")
    info = _bag_info(bag, problems)
    oxum = info.get("Payload-Oxum")
    if info and oxum is None:
        problems.append(f"{BAG_INFO}: no Payload-Oxum")
    elif oxum is not None:
        try:
            octets = sum(bag.joinpath(*rel.split("/")).stat().st_size for rel in payload)
        except OSError:
            octets = -1
        actual = f"{octets}.{len(payload)}"
        if oxum != actual:
            problems.append(
                f"{BAG_INFO}: Payload-Oxum is {oxum} but the payload has {len(payload)} files, "
                f"{octets} bytes"
            )
    return [redact(p) for p in problems]


# --------------------------------------------------------------------------- requests


def verify_with_audit(
    path: Path | str, audit_db: Path | str, *, checkpoint: Path | str | None = None
) -> tuple[list[str], list[str], int | None]:
    """Cross-checks the export at ``path`` with the audit log ``audit_db``.

    The bag's own manifests only show that its files match each other: someone
    who changed a file and rewrote the manifests would pass ``verify``. The
    audit log (hash-chained, append-only) recorded the SHA-256 of the bag's
    ``manifest-sha256.txt`` (its data files) and, since this check exists, of
    ``tagmanifest-sha256.txt`` (its tag files) when it was exported. This finds
    that ``export`` event (by the manifest's hash: a renamed folder still
    matches; else by the folder's name), checks the tag manifest where one was
    recorded, flags other export events of the same folder that disagree, and
    checks the log's chain (against ``checkpoint`` if given). The chain has no
    secret: whoever can write the log can append a matching event; only one
    written before a checkpoint kept elsewhere is beyond that.

    Returns (problems, notes, the event's seq or None); raises
    :class:`~rtcc_wall.core.audit.AuditError` when the log (or the checkpoint)
    cannot be read.
    """
    bag = Path(path)
    name = bag.resolve().name
    problems: list[str] = []
    chain = A.verify(audit_db, checkpoint=checkpoint)
    notes = [f"audit log: {w}" for w in chain.warnings]
    if not chain.ok:
        problems.append(f"audit log: does not verify ({chain.message}); it vouches for nothing")
    try:
        actual, _ = sha256_file(bag / MANIFEST)
        tag_actual, _ = sha256_file(bag / TAGMANIFEST)
    except OSError:
        return problems, notes, None  # (verify() names the missing or unreadable file)
    exports: list[A.AuditEvent] = []
    withdrawn: set[object] = set()  # recorded, then the rename failed: no such export
    for ev in A.read_events(audit_db):
        if ev.kind == A.EXPORT:
            exports.append(ev)
        elif ev.kind == A.EXPORT_DENY and ev.outcome == "failed":
            withdrawn.add(ev.detail.get("export_seq"))
    exports = [e for e in exports if e.seq not in withdrawn]
    match = next((e for e in exports if e.detail.get("manifest_sha256") == actual), None)
    same_name = [e for e in exports if e.detail.get("folder") == name]
    if match is None:
        if same_name:
            problems.append(
                f"{MANIFEST}: not the one recorded when this folder was exported (audit event "
                f"seq {same_name[0].seq}): the export was changed and its manifests rewritten"
            )
            return problems, notes, same_name[0].seq
        problems.append(f"{name}: the audit log records no export with this manifest or name")
        return problems, notes, None
    recorded_tags = match.detail.get("tagmanifest_sha256")
    if recorded_tags is not None and recorded_tags != tag_actual:
        problems.append(
            f"{TAGMANIFEST}: not the one recorded at the export (audit event seq {match.seq}): "
            "bag-info.txt or bagit.txt was changed and the tag manifest rewritten"
        )
    elif recorded_tags is None:
        notes.append(f"audit event seq {match.seq} predates tag-manifest hashes: "
                     "bag-info.txt and bagit.txt are checked by the bag alone")  # fmt: skip
    others = [e for e in same_name if e.detail.get("manifest_sha256") != actual]
    if others:
        problems.append(
            f"{name}: the audit log has other export events for this folder (seq "
            f"{', '.join(str(e.seq) for e in others)}) with other contents: one was added later"
        )
    if chain.ok and checkpoint is not None and match.seq > A.read_checkpoint(checkpoint).seq:
        notes.append(
            f"audit event seq {match.seq} was written after the checkpoint: it is only as "
            "trustworthy as this machine's log"
        )
    return problems, notes, match.seq


@dataclass(frozen=True)
class SourceFacts:
    """What the video layer knows about the pictures an export is made from."""

    codec: str
    width: int
    height: int
    fps: float | None
    #: the packets were encoded by rtcc-wall (a simulated or device camera): not the camera's bytes
    encoded_here: bool
    #: the pictures in the buffer already have the privacy masks burned in
    masked_in_buffer: bool


@dataclass(frozen=True)
class MediaFile:
    """One picture file the video layer wrote into the bag (``rel`` is under ``data/``)."""

    rel: str
    kind: ExportKind
    start: float  # wall time (UTC epoch seconds) of the first picture
    end: float  # wall time of the last picture
    frames: int
    width: int
    height: int
    codec: str
    masked: bool  # privacy masks are burned into these pictures
    #: the coded pictures are the source's own bytes (remuxed, not re-encoded)
    bit_exact: bool
    how: str  # one sentence: how the file was made
    #: (from, to) wall times between which the camera sent no picture (a clip shows the
    #: last picture before each gap for as long as it lasted)
    gaps: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class ExportRequest:
    """What the operator asked for: which camera, which time range (wall times), why, where."""

    camera: Camera
    operator: Operator
    incident: IncidentLike | None
    reason: str
    kind: ExportKind
    masked: bool
    start: float
    end: float
    out_dir: Path
    site_name: str = ""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    name: str
    manifest_sha256: str
    audit_seq: int
    files: tuple[MediaFile, ...]
    payload_bytes: int
    #: :func:`verify` of the finished folder (empty: intact)
    problems: list[str] = field(default_factory=list)


def url_without_credentials(url: str) -> str:
    """The stream URL with any ``user:password@`` removed (and secret query values masked)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        url = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return redact(url)


def _time_range_detail(req: ExportRequest) -> dict[str, Any]:
    return {"from_utc": A.format_epoch(req.start), "to_utc": A.format_epoch(req.end)}


def _deny_event(
    audit: A.AuditLog, req: ExportRequest, code: str, message: str, extra: dict[str, Any]
) -> None:
    audit.append(
        A.EXPORT_DENY,
        operator=req.operator.name,
        camera_id=req.camera.id,
        incident_id=req.incident.id if req.incident is not None else None,
        ownership=req.camera.ownership,
        reason=req.reason.strip() or None,
        outcome=code,
        detail={
            "role": req.operator.role,
            "kind": req.kind,
            "masked": req.masked,
            "message": message,
            **_time_range_detail(req),
            **extra,
        },
    )


def _refuse(audit: A.AuditLog, req: ExportRequest, code: str, message: str) -> ExportDenied:
    """Records the refusal (best effort: the export is refused either way) and returns it."""
    with contextlib.suppress(A.AuditWriteError):
        _deny_event(audit, req, code, message, {})
    return ExportDenied(code, message)


def authorize(
    req: ExportRequest, *, policy: AccessPolicy, audit: A.AuditLog, now: dt.datetime
) -> None:
    """Raises :class:`ExportDenied` (after recording ``EXPORT_DENY``) unless the export may go on.

    The rules: a stated reason; an unmasked export only by a supervisor; an
    incident, when given, must be open; and the camera's access policy, exactly
    as for viewing (a private camera needs an open incident nearby, a valid
    waiver, its sharing tier and allowed hours). ``now`` is the site's local
    time, aware, as the policy wants it.
    """
    if not req.reason.strip():
        raise _refuse(audit, req, "reason_required", "state a reason for the export")
    if not req.masked and req.operator.role != UNMASK_ROLE:
        raise _refuse(
            audit,
            req,
            "unmasked_needs_supervisor",
            f"an unmasked export needs the {UNMASK_ROLE} role; {req.operator.name} is "
            f"{'an' if req.operator.role[:1] in 'aeiou' else 'a'} {req.operator.role}",
        )
    inc = req.incident
    if inc is not None and inc.closed_at is not None and now >= inc.closed_at:
        raise _refuse(
            audit, req, "incident_closed", f"incident {inc.id} is closed; exports need an open one"
        )
    decision = policy.decide(req.camera, req.operator, inc, now, reason=req.reason)
    if not decision.allowed:
        raise _refuse(audit, req, decision.code, f"{req.camera.id}: {decision.message}")
    if req.end < req.start:
        raise ExportError(f"the time range ends ({A.format_epoch(req.end)}) before it starts")


# --------------------------------------------------------------------------- content


def audit_events_document(
    audit_path: Path, *, incident_id: str | None, camera_id: str, start: float, end: float
) -> dict[str, Any]:
    """The audit events that belong with an export, with their hash-chain fields.

    With an incident: every event of that incident. Without: the camera's
    events up to ``end``, from the view that was running at ``start`` (its
    ``VIEW_START``) or else from ``start``. Each event is as stored (``detail`` is
    the stored JSON text), so ``audit.row_hash`` of its fields gives its
    ``hash`` and the rows can be matched against the log by ``seq``/``hash``.
    """
    try:
        chain = A.verify(audit_path)
        if incident_id is not None:
            selected = [e for e in A.read_events(audit_path) if e.incident_id == incident_id]
        else:
            t0, t1 = A.format_epoch(start), A.format_epoch(end)
            mine = [e for e in A.read_events(audit_path, before_ts=t1) if e.camera_id == camera_id]
            first = next((i for i, e in enumerate(mine) if e.ts_utc >= t0), len(mine))
            # the view that was running when the range began, and everything after it
            began = [i for i, e in enumerate(mine[:first]) if e.kind == A.VIEW_START]
            selected = mine[began[-1] if began else first :]
    except A.AuditError as e:
        raise ExportError(f"cannot read the audit log for the export: {e}") from e
    return {
        "format": AUDIT_EVENTS_FORMAT,
        "selection": {"incident_id": incident_id}
        if incident_id is not None
        else {
            "camera_id": camera_id,
            "from_utc": A.format_epoch(start),
            "to_utc": A.format_epoch(end),
        },
        "log": {
            "verified": chain.ok,
            "message": chain.message,
            "last_seq": chain.last_seq,
            "last_hash": chain.last_hash,
        },
        "hash": "sha256 of the canonical JSON of [seq, ts_utc, kind, operator, camera_id, "
        "incident_id, ownership, reason, outcome, detail, prev_hash] (see "
        "rtcc_wall/core/audit.py); prev_hash links each row to the one before it in the log",
        "events": [
            {
                "seq": e.seq,
                "ts_utc": e.ts_utc,
                "kind": e.kind,
                "operator": e.operator,
                "camera_id": e.camera_id,
                "incident_id": e.incident_id,
                "ownership": e.ownership,
                "reason": e.reason,
                "outcome": e.outcome,
                "detail": e.detail_json,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in selected
        ],
    }


def _incident_doc(inc: IncidentLike | None) -> dict[str, Any] | None:
    if inc is None:
        return None
    doc: dict[str, Any] = {"id": inc.id}
    for key in ("case_number", "type", "opened_at", "reason"):
        value = getattr(inc, key, None)
        if isinstance(value, dt.datetime):
            doc[key] = A.format_ts(value)
        elif value is not None:
            doc[key] = redact(str(value))
    return doc


def _camera_doc(cam: Camera) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": cam.id,
        "name": cam.name,
        "ownership": cam.ownership,
        "location": {"lon": cam.lon, "lat": cam.lat},
        "heading_deg": cam.heading_deg,
        "source_url": url_without_credentials(cam.stream),
    }
    if cam.owner is not None:
        doc["owner"] = cam.owner.name
    if cam.waiver is not None:
        doc["waiver_id"] = cam.waiver.id
    if cam.sharing is not None:
        doc["sharing"] = cam.sharing
    return doc


def metadata_document(
    req: ExportRequest,
    source: SourceFacts,
    files: Sequence[MediaFile],
    *,
    exported_at: dt.datetime,
) -> dict[str, Any]:
    """``data/metadata.json``: what this export is, where it came from, who made it and why."""
    masks = req.camera.masks
    if not masks:
        mask_state = "no privacy masks are configured for this camera"
    elif req.masked:
        mask_state = "masked: the privacy masks are burned into every picture"
    else:
        mask_state = f"UNMASKED: exported without privacy masks by a {UNMASK_ROLE}"
    doc = {
        "format": FORMAT,
        "software": f"rtcc-wall {__version__}",
        "site": req.site_name,
        "kind": req.kind,
        "exported_at_utc": A.format_ts(exported_at),
        "operator": {"name": req.operator.name, "role": req.operator.role},
        "reason": req.reason.strip(),
        "incident": _incident_doc(req.incident),
        "camera": _camera_doc(req.camera),
        "time_range_utc": {
            "from": A.format_epoch(req.start),
            "to": A.format_epoch(req.end),
            "seconds": round(req.end - req.start, 3),
        },
        "privacy_masks": {
            "state": mask_state,
            "masked": bool(masks) and req.masked,
            "configured": len(masks),
            "polygons": [[list(p) for p in poly] for poly in masks],
        },
        "source": {
            "codec": source.codec,
            "width": source.width,
            "height": source.height,
            "fps": source.fps,
            "encoded_here": source.encoded_here,
            "masked_in_buffer": source.masked_in_buffer,
        },
        "files": [
            {
                "path": f"{DATA}/{f.rel}",
                "kind": f.kind,
                "from_utc": A.format_epoch(f.start),
                "to_utc": A.format_epoch(f.end),
                "frames": f.frames,
                "width": f.width,
                "height": f.height,
                "codec": f.codec,
                "masked": f.masked,
                "bit_exact": f.bit_exact,
                "how": f.how,
                "gaps_utc": [
                    {
                        "from": A.format_epoch(a),
                        "to": A.format_epoch(b),
                        "seconds": round(b - a, 3),
                        "note": "the camera sent no picture; the clip shows the last one before",
                    }
                    for a, b in f.gaps
                ],
            }
            for f in files
        ],
        "audit_events": f"{DATA}/{AUDIT_EVENTS_FILE}",
        "check": "rtcc-wall export verify FOLDER, or in FOLDER: sha256sum -c manifest-sha256.txt",
    }
    redacted: dict[str, Any] = _redact_strings(doc)
    return redacted


def _redact_strings(value: Any) -> Any:
    """A copy of a JSON-like value with every string redacted (free text may hold a URL)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(v) for v in value]
    return value


# --------------------------------------------------------------------------- the export

#: Writes the pictures into the bag; returns what it wrote. Raises ExportError / ExportCancelled.
MediaWriter = Callable[[PartialExport], Sequence[MediaFile]]


def run_export(
    req: ExportRequest,
    source: SourceFacts,
    write_media: MediaWriter,
    *,
    policy: AccessPolicy,
    audit: A.AuditLog,
    now: dt.datetime | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Authorizes, writes, audits and finishes one export; returns the finished folder.

    Raises :class:`ExportDenied` (recorded), :class:`ExportExists`,
    :class:`ExportCancelled` and :class:`ExportError`; in every case no folder
    with the export's name is left behind, and no temporary folder either.
    """
    local_now = now or dt.datetime.now().astimezone()
    authorize(req, policy=policy, audit=audit, now=local_now)
    if not req.masked and source.masked_in_buffer and req.camera.masks:
        raise _refuse(
            audit,
            req,
            "masked_source",
            f"{req.camera.id}: the replay buffer holds masked pictures only; "
            "an unmasked export is not possible",
        )
    name = folder_name(
        req.camera.id,
        req.incident.id if req.incident else None,
        req.start,
        req.kind,
        masked=req.masked,
    )
    written: list[A.AuditEvent] = []
    with start_export(req.out_dir, name) as partial:
        try:
            files = tuple(write_media(partial))
        except OSError as e:
            raise ExportError(f"cannot write the export in {req.out_dir}: {_os_reason(e)}") from e
        if cancel is not None and cancel.is_set():
            raise ExportCancelled("export cancelled; nothing was written")
        if not files:
            raise ExportError(f"{req.camera.id}: no pictures in the chosen time range")
        try:
            partial.write_json(
                AUDIT_EVENTS_FILE,
                audit_events_document(
                    audit.path,
                    incident_id=req.incident.id if req.incident else None,
                    camera_id=req.camera.id,
                    start=req.start,
                    end=req.end,
                ),
            )
            partial.write_json(
                METADATA_FILE,
                metadata_document(req, source, files, exported_at=dt.datetime.now(dt.UTC)),
            )
        except OSError as e:
            raise ExportError(f"cannot write the export in {req.out_dir}: {_os_reason(e)}") from e

        def record(manifest_sha: str, tagmanifest_sha: str) -> None:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("export cancelled; nothing was written")
            try:
                written.append(
                    audit.append(
                        A.EXPORT,
                        operator=req.operator.name,
                        camera_id=req.camera.id,
                        incident_id=req.incident.id if req.incident else None,
                        ownership=req.camera.ownership,
                        reason=req.reason.strip(),
                        outcome="exported",
                        detail={
                            "role": req.operator.role,
                            "kind": req.kind,
                            "masked": req.masked,
                            **_time_range_detail(req),
                            "folder": name,
                            "manifest_sha256": manifest_sha,
                            # covers bag-info.txt and bagit.txt too (the manifest: data/ only)
                            "tagmanifest_sha256": tagmanifest_sha,
                            "files": [f"{DATA}/{f.rel}" for f in files],
                            "bit_exact": all(f.bit_exact for f in files),
                        },
                    )
                )
            except A.AuditWriteError as e:
                raise ExportError(f"the export could not be recorded in the audit log: {e}") from e

        try:
            bag = partial.finish(
                {
                    "Source-Organization": req.site_name or "rtcc-wall",
                    "Contact-Name": req.operator.name,
                    "External-Identifier": name,
                    "External-Description": _description(req),
                },
                record,
            )
        except ExportError:
            if written:  # recorded as exported, then the rename failed: say so in the log
                with contextlib.suppress(A.AuditWriteError):
                    _deny_event(
                        audit, req, "failed", "the export was not completed",
                        {"folder": name, "export_seq": written[0].seq},
                    )  # fmt: skip
            raise
    return ExportResult(
        path=bag.path,
        name=bag.name,
        manifest_sha256=bag.manifest_sha256,
        audit_seq=written[0].seq,
        files=files,
        payload_bytes=bag.payload_bytes,
        problems=verify(bag.path),
    )


def _description(req: ExportRequest) -> str:
    inc = f", incident {req.incident.id}" if req.incident is not None else ""
    what = "video clip" if req.kind == "clip" else "snapshot"
    masked = "masked" if req.masked else "UNMASKED"
    return (
        f"rtcc-wall evidence export: {what} ({masked}) of camera {req.camera.id} "
        f"({req.camera.name}) from {A.format_epoch(req.start)} to {A.format_epoch(req.end)}{inc}. "
        "Check it with 'rtcc-wall export verify FOLDER' or 'sha256sum -c manifest-sha256.txt'."
    )
