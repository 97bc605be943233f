"""Cross-fitting: how many networks a fit trains, and which series each one holds out.

With `k` folds every series is held out by exactly one network and trains the other
`k - 1`; the networks are kept together as an `s5ts.network.Ensemble`. On small data
this both averages away much of one network's variance and lets every series train
(`benchmarks/small_data.py`); on large data one network is nearly as good and `k`
times cheaper, hence the `"auto"` rule.
"""

import numpy as np


AUTO_BELOW = 1000  # "auto" cross-fits fits given fewer series than this


def n_folds(params: dict, n_series: int, *, val_df: bool, chunked: bool, resumable: bool) -> int:
    """The number of networks to train (1: one network, `val_size` held out).

    **Arguments:**

    - `params`: the estimator's hyperparameters (`folds`, `val_size`).
    - `n_series`: series in the training frame.
    - `val_df`, `chunked`, `resumable`: whether `fit` was given `val_df`, `chunk_size`,
      `checkpoint_dir` (each rules out cross-fitting).
    """
    folds, val_size = params["folds"], params["val_size"]
    if folds == "auto":
        if val_df or chunked or resumable or val_size <= 0 or n_series >= AUTO_BELOW:
            return 1
        k = max(2, int(round(1 / val_size)))
        return k if n_series >= k else 1
    if folds == 1:
        return 1
    given = [
        name
        for name, on in (("val_df", val_df), ("chunk_size", chunked), ("checkpoint_dir", resumable))
        if on
    ]
    if given:
        raise ValueError(
            f"folds={folds} cannot be combined with {given[0]}: each fold's network is "
            f"validated on series the fit holds out itself; pass folds=1 (or 'auto') to "
            f"use {given[0]}"
        )
    if n_series < folds:
        raise ValueError(
            f"folds={folds} needs at least {folds} series (one held out per fold), got "
            f"{n_series}; pass a smaller folds"
        )
    return folds


def fold_series(n_series: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`k` disjoint, sorted index sets covering `range(n_series)`, sizes within one."""
    perm = rng.permutation(n_series)
    return [np.sort(part) for part in np.array_split(perm, k)]
