"""Checks on the command line's paths, made before any data is read or training runs.

Inputs must exist with a known extension; outputs must be writable, never an input, and
replace an existing file only with `--overwrite`, so a typo cannot cost a long run or
destroy data.
"""

import os
from pathlib import Path

from ._tables import check_input, file_format


_MODEL_MARKER = "config.json"  # what `S5Forecaster.save` writes (s5ts.forecaster)


def check_inputs(*files: tuple[object, str]) -> None:
    """Each `(path, what)` with a path (None: not given) exists, with a known extension."""
    for path, what in files:
        if path is not None:
            check_input(path, what)


def check_model_dir(path, overwrite: bool) -> None:
    """`path` can receive a saved model: a new or empty directory, or (with `overwrite`)
    one that holds a model; never a file or another non-empty directory."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"model directory {str(path)!r} is a file; pick another path")
    if p.is_dir() and any(p.iterdir()):
        if not (p / _MODEL_MARKER).is_file():
            raise ValueError(
                f"model directory {str(path)!r} exists and does not hold a model; pick a new "
                "or empty directory"
            )
        if not overwrite:
            raise ValueError(
                f"model directory {str(path)!r} already holds a model; pass --overwrite to "
                "replace it"
            )
    _check_writable(p, "model directory")


def check_checkpoint_dir(path, model_dir) -> None:
    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"--checkpoint-dir {str(path)!r} is a file; pick a directory")
    if p.resolve() == Path(model_dir).resolve():
        raise ValueError("--checkpoint-dir must differ from the model directory")
    _check_writable(p, "--checkpoint-dir")


def check_output(path, inputs, overwrite: bool, what: str = "output", extension: bool = True):
    """`path` may be written: not one of `inputs` (files or directories, whose contents
    count too), not an existing file unless `overwrite`, in a writable place."""
    if extension:
        file_format(path, what)
    target = Path(path).resolve()
    for given in inputs:
        if given is None:
            continue
        source = Path(given).resolve()
        if target == source or source in target.parents:
            raise ValueError(
                f"{what} {str(path)!r} would overwrite the input {str(given)!r}; write the "
                "output to another file (--overwrite never replaces an input)"
            )
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a directory; give a file name")
    if p.exists() and not overwrite:
        raise ValueError(f"{what} {str(path)!r} exists; pass --overwrite to replace it")
    _check_writable(p, what)


def _check_writable(p: Path, what: str) -> None:
    # The file or directory is written next to itself and renamed into place, so its
    # nearest existing ancestor must be a writable directory (missing ones are created).
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"cannot create {what} {str(p)!r}: {str(parent)!r} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {what} {str(p)!r}: {str(parent)!r} is not writable")
