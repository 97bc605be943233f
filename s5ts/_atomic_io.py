"""Atomic directory writes and pickle-free array I/O, shared by model files and checkpoints.

A directory is written into a fresh temporary sibling and renamed into place, so a crash
mid-write leaves the previous version intact. Arrays are read back with
`allow_pickle=False` into a skeleton rebuilt from JSON, so reading a file never runs code.
"""

import json
import os
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


def write_json(file: Path, data: dict) -> None:
    file.write_text(json.dumps(data, indent=2, allow_nan=False))


def read_json(file: Path, what: str) -> dict:
    if not file.is_file():
        raise ValueError(f"{file.parent} is not {what}: {file.name} is missing")
    try:
        data = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{file} is corrupt (not valid JSON): {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{file} is corrupt (not a JSON object)")
    return data


def save_leaves(file: Path, tree) -> None:
    eqx.tree_serialise_leaves(file, tree)


def _load_leaf(f, like):
    # The default loader in equinox relies on numpy's default allow_pickle=False; say it.
    if isinstance(like, jax.Array | jax.ShapeDtypeStruct | np.ndarray | np.generic):
        out = np.load(f, allow_pickle=False)
        return out if isinstance(like, np.ndarray | np.generic) else jnp.asarray(out)
    if isinstance(like, bool | int | float | complex):
        return type(like)(np.load(f, allow_pickle=False).item())
    return like


def load_leaves(file: Path, like, what: str):
    """Arrays of `file` in the structure of `like`; ValueError if missing, corrupt or if
    any shape or dtype differs from `like`'s (the JSON that built it)."""
    if not file.is_file():
        raise ValueError(f"{file.parent} is not {what}: {file.name} is missing")
    try:
        with open(file, "rb") as f:
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
