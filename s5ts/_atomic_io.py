"""Atomic directory writes, sealed JSON and pickle-free array I/O, shared by model files
and checkpoints.

A directory is written into a fresh temporary sibling and renamed into place, so a crash
mid-write leaves the previous version intact. Arrays are read back with
`allow_pickle=False` into a skeleton rebuilt from JSON, so reading a file never runs code.
The JSON file of a directory is sealed: it records the SHA-256 of every other file and of
its own content (`seal` / `check_seal`), so a changed byte anywhere is an error, not a
silently different model. JSON is read with caps on size and nesting depth.
"""

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def write_dir_atomically(path: Path, fill: Callable[[Path], None]) -> None:
    """Call `fill(tmp)` on a new empty directory, then make it `path` (replacing any old one).

    The old copy is removed only once the new one is complete: the only window in which
    `path` is absent is between two renames.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        # mkdtemp makes it private (0700); the result is an ordinary directory, as mkdir
        # would make it under the user's umask (readable by others on a shared disk).
        os.chmod(tmp, 0o777 & ~_umask())
        fill(tmp)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / "x")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_overwritable(path: Path, marker: str, what: str) -> None:
    """Refuse to replace a non-empty directory that does not hold `marker` (not ours)."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} exists and is not a directory; refusing to overwrite")
    if path.exists() and not (path / marker).exists() and any(path.iterdir()):
        raise ValueError(f"{path} exists and is not {what}; refusing to overwrite")


MAX_JSON_BYTES = 50 * 2**20  # s5ts's own JSON files are kilobytes
MAX_JSON_DEPTH = 32  # and nest a few levels; json.loads would recurse into any depth
DIGESTS = "sha256"  # the key of a sealed JSON object's digests
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


def write_json(file: Path, data: dict) -> None:
    file.write_text(json.dumps(data, indent=2, allow_nan=False))


def read_json(file: Path, what: str) -> dict:
    """The JSON object of `file`; ValueError if missing, too large, too deep or corrupt."""
    if not file.is_file():
        raise ValueError(f"{file.parent} is not {what}: {file.name} is missing")
    size = file.stat().st_size
    if size > MAX_JSON_BYTES:
        raise ValueError(
            f"{file} is not {what}'s JSON: it has {size} bytes, more than the "
            f"{MAX_JSON_BYTES} s5ts ever writes"
        )
    return parse_json(file.read_bytes(), str(file))


def parse_json(raw: bytes, label: str) -> dict:
    """The JSON object in `raw`; `label` names it in errors. The nesting depth is measured
    before parsing, so that a hostile file is a ValueError rather than a RecursionError."""
    if len(raw) > MAX_JSON_BYTES:
        raise ValueError(f"{label} is too large ({len(raw)} bytes; at most {MAX_JSON_BYTES})")
    depth = _depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(
            f"{label} is corrupt: its JSON nests {depth} levels deep, more than the "
            f"{MAX_JSON_DEPTH} s5ts allows"
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"{label} is corrupt (not valid JSON): {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{label} is corrupt (not a JSON object)")
    return data


def _depth(raw: bytes) -> int:
    # Brackets inside strings do not nest: drop the strings, then count.
    b = np.frombuffer(_STRING.sub(b"", raw), np.uint8)
    step = np.isin(b, (ord("["), ord("{"))).astype(np.int64) - np.isin(b, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))


# -- digests ----------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(data) -> bytes:
    """One byte string per JSON value: what a digest of parsed JSON is taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def seal(meta: dict, name: str, files: dict[str, bytes]) -> dict:
    """`meta` with `DIGESTS`: the SHA-256 of each file's bytes (`files`, by name) and, under
    `name` (meta's own file), of meta's canonical JSON without the digests."""
    meta = {k: v for k, v in meta.items() if k != DIGESTS}
    digests = {n: sha256(b) for n, b in files.items()}
    return meta | {DIGESTS: {name: sha256(canonical_json(meta))} | digests}


def check_seal(meta: dict, file: Path, files: dict[str, bytes]) -> None:
    """ValueError naming the first of `file` (meta's own, by its parsed content) and `files`
    (name -> bytes) whose SHA-256 differs from the one `seal` recorded."""
    digests = meta.get(DIGESTS)
    names = [file.name, *files]
    if not isinstance(digests, dict) or not all(isinstance(digests.get(n), str) for n in names):
        raise ValueError(
            f"{file} is corrupt: it does not record the SHA-256 of {names}, so its "
            "content cannot be verified"
        )
    rest = {k: v for k, v in meta.items() if k != DIGESTS}
    try:
        own = sha256(canonical_json(rest))
    except ValueError as err:  # NaN / inf never come from s5ts
        raise ValueError(f"{file} is corrupt: {err}") from None
    if own != digests[file.name]:
        raise ValueError(
            f"{file} does not match its recorded SHA-256: its content changed after it was "
            "written (corrupted or edited); restore or rewrite it"
        )
    for n, data in files.items():
        if sha256(data) != digests[n]:
            raise ValueError(
                f"{file.parent / n} does not match the SHA-256 recorded in {file.name}: "
                "the file changed after it was written (corrupted, truncated or replaced); "
                "restore or rewrite it"
            )


def read_bytes(file: Path, what: str) -> bytes:
    if not file.is_file():
        raise ValueError(f"{file.parent} is not {what}: {file.name} is missing")
    return file.read_bytes()


# -- arrays -----------------------------------------------------------------------------


def save_leaves(file: Path, tree) -> None:
    eqx.tree_serialise_leaves(file, tree)


def leaves_to_bytes(tree) -> bytes:
    """The bytes `save_leaves` writes, in memory."""
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    return buffer.getvalue()


def _load_leaf(f, like):
    # The default loader in equinox relies on numpy's default allow_pickle=False; say it.
    if isinstance(like, jax.Array | jax.ShapeDtypeStruct | np.ndarray | np.generic):
        out = np.load(f, allow_pickle=False)
        return out if isinstance(like, np.ndarray | np.generic) else jnp.asarray(out)
    if isinstance(like, bool | int | float | complex):
        return type(like)(np.load(f, allow_pickle=False).item())
    return like


def load_leaves(file: Path, like, what: str, data: bytes | None = None):
    """Arrays of `file` in the structure of `like`; ValueError if missing, corrupt or if
    any shape or dtype differs from `like`'s (the JSON that built it). `data`: the file's
    bytes, already read (and verified); `file` then only names it."""
    if data is None:
        data = read_bytes(file, what)
    try:
        with io.BytesIO(data) as f:
            tree = eqx.tree_deserialise_leaves(f, like, filter_spec=_load_leaf)
            trailing = f.read(1)
    except Exception as err:  # numpy raises several types on truncated/garbled data
        root = err.__cause__ or err  # equinox wraps the numpy error with the leaf's path
        raise ValueError(
            f"{file} is corrupt, truncated or does not match its JSON: {root}"
        ) from None
    want = jax.tree.leaves(eqx.filter(like, eqx.is_array))
    got = jax.tree.leaves(eqx.filter(tree, eqx.is_array))
    mismatch = bool(trailing) or any(
        (np.shape(a), a.dtype) != (np.shape(b), b.dtype) for a, b in zip(want, got, strict=True)
    )
    if mismatch:
        raise ValueError(f"{file} does not match its JSON (array shapes or sizes differ)")
    return tree


def _umask() -> int:
    # The only way to read it is to set it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
