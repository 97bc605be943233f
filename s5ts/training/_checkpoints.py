"""Training checkpoints: a directory from which `fit` resumes exactly where it stopped.

`state.json` holds the step, both random states (the JAX key's data and the numpy sampler's
bit generator), the early-stopping bookkeeping, the loss history and a fingerprint of the
fit (hyperparameters and data); `model.eqx`, `opt_state.eqx`, `average.eqx` (the weights'
moving average) and `best.eqx` hold the arrays. No pickle; every write is atomic
(`_atomic_io.write_dir_atomically`), so a crash mid-save leaves the previous checkpoint.
`state.json` records the SHA-256 of the array files and of itself, checked before a
resume, so a changed byte is an error rather than a different training run. A resumed
fit repeats the uninterrupted one's steps bit for bit.
"""

import dataclasses
import hashlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .._atomic_io import (
    check_overwritable,
    check_seal,
    load_leaves,
    read_bytes,
    read_json,
    save_leaves,
    seal,
    write_dir_atomically,
    write_json,
)


FORMAT = "s5ts.checkpoint"
FORMAT_VERSION = 4  # 2: SHA-256 digests; 3: the weights' moving average; 4: the recent mean
_META = "state.json"
_ARRAYS = ("model", "opt_state", "average", "best")  # LoopState fields, each in <name>.eqx
_WHAT = "an s5ts training checkpoint"


def fingerprint(params: dict, panels) -> str:
    """A hash of what decides the training trajectory: hyperparameters and data."""
    h = hashlib.sha256()
    h.update(json.dumps(params, sort_keys=True, default=repr).encode())
    for panel in panels:
        if panel is None:
            continue
        h.update(repr((panel.target_cols, panel.static_cols, panel.ids.tolist())).encode())
        for a in (panel.indptr, panel.times, panel.values, panel.static):
            if a is not None:
                h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


class Checkpoint:
    """A checkpoint directory tied to one fit (by its fingerprint)."""

    def __init__(self, path, fit_id: str):
        if not isinstance(path, str | Path):
            raise TypeError(
                f"checkpoint_dir must be a str or pathlib.Path, got {type(path).__name__}"
            )
        self.path, self.fit_id = Path(path), fit_id
        check_overwritable(self.path, _META, _WHAT)

    def restore(self, like):
        """The saved LoopState (arrays in the structure of `like`), or `like` if none."""
        if not (self.path / _META).exists():
            return like
        meta = read_json(self.path / _META, _WHAT)
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{self.path} holds a checkpoint of another format/version "
                f"({meta.get('format')!r} v{meta.get('format_version')!r})"
            )
        if meta.get("fit_id") != self.fit_id:
            raise ValueError(
                f"checkpoint_dir {self.path} holds a checkpoint of a different fit (other "
                "hyperparameters or data); pass a new directory, or delete it to start over"
            )
        files = {f"{n}.eqx": read_bytes(self.path / f"{n}.eqx", _WHAT) for n in _ARRAYS}
        check_seal(meta, self.path / _META, files)
        try:
            state = dataclasses.replace(
                like,
                key=jax.random.wrap_key_data(jnp.asarray(meta["key"], jnp.uint32)),
                rng_state=meta["rng_state"],
                step=int(meta["step"]),
                best_loss=np.inf if meta["best_loss"] is None else float(meta["best_loss"]),
                best_step=int(meta["best_step"]),
                bad=int(meta["bad"]),
                stopped=meta["stopped"],
                train_loss=[float(x) for x in meta["train_loss"]],
                val_loss=[(int(s), float(v)) for s, v in meta["val_loss"]],
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{self.path / _META} is corrupt: {err!r}") from err
        arrays = {
            n: load_leaves(self.path / f"{n}.eqx", getattr(like, n), _WHAT, data=files[f"{n}.eqx"])
            for n in _ARRAYS
        }
        return dataclasses.replace(state, **arrays)

    def save(self, state) -> None:
        if jax.process_index() != 0:  # multi-host: every process holds the same state
            return
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "fit_id": self.fit_id,
            "step": state.step,
            "key": np.asarray(jax.random.key_data(state.key)).tolist(),
            "rng_state": state.rng_state,
            "best_loss": None if not np.isfinite(state.best_loss) else state.best_loss,
            "best_step": state.best_step,
            "bad": state.bad,
            "stopped": state.stopped,
            "train_loss": state.train_loss[: state.step],
            "val_loss": [(s, v) for s, v in state.val_loss if s <= state.step],
        }

        def fill(tmp: Path) -> None:
            for n in _ARRAYS:
                save_leaves(tmp / f"{n}.eqx", getattr(state, n))
            files = {f"{n}.eqx": (tmp / f"{n}.eqx").read_bytes() for n in _ARRAYS}
            write_json(tmp / _META, seal(meta, _META, files))

        write_dir_atomically(self.path, fill)
