"""An on-disk cache of built road networks, so that a big city starts in a blink.

``load_network_cached`` stores the network built from ``roads.geojson`` in
``roads.geojson.rtcc-cache.npz`` beside it, or, when that folder is not
writable, in the user's cache folder (``cache_dir``). A cache entry is valid
for one exact file content (SHA-256), one projection centre, one cache format
and one version of the code that builds networks; anything else, or a cache
file that cannot be read (truncated, corrupt, foreign), is ignored and the
network is built again. Files are written atomically (temporary file, then
``os.replace``) and hold plain numeric arrays only: no pickle, strings are
stored as UTF-8 bytes plus offsets.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import platformdirs

from rtcc_wall.core import geo, roads
from rtcc_wall.core.geo import LocalProjection
from rtcc_wall.core.roads import (
    RoadNetwork,
    RoadSegment,
    load_network,
    network_format,
    pause_gc,
)

log = logging.getLogger(__name__)

#: Bump when the layout of the cache file changes.
FORMAT_VERSION = 1
CACHE_SUFFIX = ".rtcc-cache.npz"
APP_NAME = "rtcc-wall"

#: What reading a damaged or foreign cache file can raise (never a crash: rebuild instead).
_UNREADABLE = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    zipfile.BadZipFile,
    zlib.error,
)


@dataclass(frozen=True)
class CachedLoad:
    """A loaded network and how the cache took part."""

    network: RoadNetwork
    hit: bool  # read from the cache, not built
    cache_path: Path | None  # the cache file read or written; None when neither


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def load_network_cached(
    path: str | Path, projection: LocalProjection, *, cache_dir: str | Path | None = None
) -> RoadNetwork:
    """``roads.load_network`` with an on-disk cache; same result and same errors."""
    return cached_load(path, projection, cache_dir=cache_dir).network


def cached_load(
    path: str | Path, projection: LocalProjection, *, cache_dir: str | Path | None = None
) -> CachedLoad:
    """Like ``load_network_cached``, telling whether the cache was used and where it lives."""
    p = Path(path)
    kind = network_format(p)  # an unsupported format fails before the file is read
    try:
        before = _stamp(p)
        digest = _sha256(p)
    except OSError:
        # missing or unreadable: the loader reports it as usual
        return CachedLoad(load_network(p, projection), False, None)
    key = cache_key(digest, projection, kind)
    candidates = cache_paths(p, cache_dir)
    for candidate in candidates:
        network = _read(candidate, key, projection, str(p))
        if network is not None:
            return CachedLoad(network, True, candidate)
    network = load_network(p, projection)
    try:
        if _stamp(p) != before:
            return CachedLoad(network, False, None)  # changed while building: do not store
    except OSError:
        return CachedLoad(network, False, None)
    arrays = encode(network, key)
    for candidate in candidates:
        try:
            _write_atomic(candidate, arrays)
        except OSError as e:
            log.debug("cannot write road network cache %s: %s", candidate, e)
            continue
        return CachedLoad(network, False, candidate)
    return CachedLoad(network, False, None)


def cache_paths(path: Path, cache_dir: str | Path | None = None) -> list[Path]:
    """Where the cache of ``path`` may live, in order: beside it, then in ``cache_dir``."""
    beside = path.with_name(path.name + CACHE_SUFFIX)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    where = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:16]
    return [beside, folder / f"{path.name}.{where}{CACHE_SUFFIX}"]


def cache_key(digest: str, projection: LocalProjection, kind: str) -> str:
    """Everything a cached network depends on, as one string."""
    return (
        f"rtcc-wall road cache v{FORMAT_VERSION}; format={kind}; sha256={digest}; "
        f"center={projection.lon0!r},{projection.lat0!r}; builder={_builder_fingerprint()}"
    )


@functools.lru_cache(maxsize=1)
def _builder_fingerprint() -> str:
    """Hash of the code that builds networks: a changed loader invalidates old caches."""
    h = hashlib.sha256()
    for module in (roads, geo):
        try:
            h.update(Path(str(module.__file__)).read_bytes())
        except OSError:
            h.update(module.__name__.encode())
    return h.hexdigest()[:16]


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns)


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --- file format ----------------------------------------------------------------------


def encode(network: RoadNetwork, key: str) -> dict[str, npt.NDArray[Any]]:
    """The arrays of a cache file (everything but the projection and the source name)."""
    segs = network.segments
    counts = np.fromiter((len(s.coords) for s in segs), dtype=np.int64, count=len(segs))
    seg_offsets = np.zeros(len(segs) + 1, dtype=np.int64)
    np.cumsum(counts, out=seg_offsets[1:])
    coords = (
        np.concatenate([s.coords for s in segs]).astype(np.float64)
        if segs
        else np.zeros((0, 2), dtype=np.float64)
    )
    hw_blob, hw_offsets, hw_codes = _pack_strings([s.highway for s in segs])
    nm_blob, nm_offsets, nm_codes = _pack_strings([s.name for s in segs])
    return {
        "key": np.array(key),
        "nodes_xy": np.asarray(network.nodes_xy, dtype=np.float64),
        "seg_offsets": seg_offsets,
        "seg_coords": coords,
        "seg_oneway": np.array([s.oneway for s in segs], dtype=np.int8),
        "seg_speed": np.array([s.speed_mps for s in segs], dtype=np.float64),
        "seg_feature": np.array([s.feature_index for s in segs], dtype=np.int64),
        "highway_blob": hw_blob,
        "highway_offsets": hw_offsets,
        "seg_highway": hw_codes,
        "name_blob": nm_blob,
        "name_offsets": nm_offsets,
        "seg_name": nm_codes,
        "edge_from": network.edge_from,
        "edge_to": network.edge_to,
        "edge_segment": network.edge_segment,
        "edge_forward": network.edge_forward,
        "edge_length_m": network.edge_length_m,
        "edge_speed_mps": network.edge_speed_mps,
    }


def decode(arrays: Any, projection: LocalProjection, source: str) -> RoadNetwork:
    """Rebuilds a network from cache arrays; ValueError when they do not fit together."""

    def get(name: str, dtype: Any, ndim: int) -> npt.NDArray[Any]:
        a = np.asarray(arrays[name])
        if a.dtype != np.dtype(dtype) or a.ndim != ndim:
            raise ValueError(f"cache array {name} has the wrong type or shape")
        return a

    nodes_xy = get("nodes_xy", np.float64, 2)
    offsets = get("seg_offsets", np.int64, 1)
    coords = get("seg_coords", np.float64, 2)
    oneway = get("seg_oneway", np.int8, 1)
    speed = get("seg_speed", np.float64, 1)
    feature = get("seg_feature", np.int64, 1)
    highway = _unpack_strings(
        get("highway_blob", np.uint8, 1),
        get("highway_offsets", np.int64, 1),
        get("seg_highway", np.int32, 1),
    )
    name = _unpack_strings(
        get("name_blob", np.uint8, 1),
        get("name_offsets", np.int64, 1),
        get("seg_name", np.int32, 1),
    )
    n_seg = len(offsets) - 1
    edges = {
        f: get(f, t, 1)
        for f, t in (
            ("edge_from", np.int64),
            ("edge_to", np.int64),
            ("edge_segment", np.int64),
            ("edge_forward", np.bool_),
            ("edge_length_m", np.float64),
            ("edge_speed_mps", np.float64),
        )
    }
    n_edge = len(edges["edge_from"])
    n_node = len(nodes_xy)
    if (
        nodes_xy.shape[1:] != (2,)
        or coords.shape[1:] != (2,)
        or n_seg < 0
        or offsets[0] != 0
        or offsets[-1] != len(coords)
        or np.any(np.diff(offsets) < 2)
        or not len(oneway) == len(speed) == len(feature) == len(highway) == len(name) == n_seg
        or np.any(np.abs(oneway) > 1)
        or any(len(a) != n_edge for a in edges.values())
        or np.any((edges["edge_from"] < 0) | (edges["edge_from"] >= n_node))
        or np.any((edges["edge_to"] < 0) | (edges["edge_to"] >= n_node))
        or np.any((edges["edge_segment"] < 0) | (edges["edge_segment"] >= n_seg))
    ):
        raise ValueError("cache arrays do not fit together")
    bounds = offsets.tolist()
    with pause_gc():
        segments = [
            RoadSegment(coords[a:b], hw, nm, ow, sp, fi)
            for a, b, hw, nm, ow, sp, fi in zip(
                bounds[:-1],
                bounds[1:],
                highway,
                name,
                oneway.tolist(),
                speed.tolist(),
                feature.tolist(),
                strict=True,
            )
        ]
    return RoadNetwork(
        projection=projection,
        nodes_xy=nodes_xy,
        segments=segments,
        edge_from=edges["edge_from"],
        edge_to=edges["edge_to"],
        edge_segment=edges["edge_segment"],
        edge_forward=edges["edge_forward"],
        edge_length_m=edges["edge_length_m"],
        edge_speed_mps=edges["edge_speed_mps"],
        source=source,
    )


def _pack_strings(
    values: list[str],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """(UTF-8 bytes of the distinct strings joined, their offsets, one code per value)."""
    table: dict[str, int] = {}
    codes = [table.setdefault(v, len(table)) for v in values]
    encoded = [s.encode("utf-8") for s in table]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
    return blob, offsets, np.asarray(codes, dtype=np.int32)


def _unpack_strings(
    blob: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], codes: npt.NDArray[np.int32]
) -> list[str]:
    if (
        len(offsets) == 0
        or offsets[0] != 0
        or offsets[-1] != len(blob)
        or np.any(np.diff(offsets) < 0)
        or np.any((codes < 0) | (codes >= len(offsets) - 1))
    ):
        raise ValueError("cache strings do not fit together")
    raw = blob.tobytes()
    bounds = offsets.tolist()
    table = [raw[a:b].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return [table[c] for c in codes.tolist()]


def _read(target: Path, key: str, projection: LocalProjection, source: str) -> RoadNetwork | None:
    """The cached network in ``target`` when it is readable and made for ``key``, else None."""
    try:
        with np.load(target, allow_pickle=False) as z:
            if str(z["key"][()]) != key:
                log.debug("road network cache %s is stale", target)
                return None
            return decode(z, projection, source)
    except FileNotFoundError:
        return None
    except _UNREADABLE as e:
        log.info("ignoring unreadable road network cache %s (%s); rebuilding", target, e)
        return None


def _write_atomic(target: Path, arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Writes ``target`` so that readers see the old file or the whole new one, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # the temporary name ends like a cache file, so that it is git-ignored too
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=CACHE_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # stubs: a key could be allow_pickle
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
