"""Cross-fitting: how many networks a fit trains, and which series each one holds out.

With `k` folds every series is held out by exactly one network and trains the other
`k - 1`; the networks are kept together as an `s5ts.network.Ensemble`. On small data
this both averages away much of one network's variance and lets every series train
(`benchmarks/small_data.py`); on large data one network is nearly as good and `k`
times cheaper, hence the `"auto"` rule.
"""

import numpy as np


AUTO_BELOW = 1000  # "auto" cross-fits fits given fewer series than this
AUTO_MOST = 5  # and trains at most this many networks (a smaller val_size: still 5)


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
        k = min(AUTO_MOST, max(2, int(round(1 / val_size))))
        return k if n_series >= k else 1
    if folds == 1:
        return 1
    check_folds_allowed(params, val_df=val_df, chunked=chunked, resumable=resumable)
    if n_series < folds:
        raise ValueError(
            f"folds={folds} needs at least {folds} series (one held out per fold), got "
            f"{n_series}; pass a smaller folds"
        )
    return folds


def check_folds_allowed(params: dict, *, val_df: bool, chunked: bool, resumable: bool) -> None:
    """ValueError when `folds > 1` was asked for together with `val_df`, `chunk_size` or
    `checkpoint_dir` (arguments as in `n_folds`); `"auto"` and 1 are always allowed."""
    folds = params["folds"]
    if folds in ("auto", 1):
        return
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


def cross_fit_splits(
    series: list, k: int, rng: np.random.Generator, *, explicit: bool
) -> list[tuple[list, list]] | None:
    """`(training series, held-out series)` of each of `k` folds: the folds are disjoint,
    sorted index sets of sizes within one, and a fold's network trains on the other
    folds' series with two or more events.

    None (and `rng` as it was) when some fold would have nothing to train on and `k`
    came from `"auto"`, so that the fit trains one network exactly as with `folds=1`;
    a ValueError when `k` was asked for (`explicit`).
    """
    before = rng.bit_generator.state
    every = np.arange(len(series))
    splits = []
    for held in np.array_split(rng.permutation(len(series)), k):
        held = np.sort(held)
        kept = np.setdiff1d(every, held)
        splits.append(
            ([series[i] for i in kept if len(series[i].t) >= 2], [series[i] for i in held])
        )
    if all(train for train, _ in splits):
        return splits
    if explicit:
        raise ValueError(
            f"folds={k}: a fold would hold out every series with two or more events, "
            "leaving its network nothing to train on; pass a smaller folds or folds=1"
        )
    rng.bit_generator.state = before
    return None
