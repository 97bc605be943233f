"""`S5Forecaster.fit`: validate, fit the time scale and scalers, split, train.

Every check runs before the first JAX call. The fitted state is returned even when
training ends early (non-finite loss, Ctrl-C), so the forecaster stays usable with the
best weights so far; the error is returned beside it for the estimator to raise.
"""

import dataclasses
import sys

import jax
import numpy as np

from ..batching import (
    ListedSizing,
    built_ahead,
    history_tiers,
    n_features,
    next_pow2,
    plan_batches,
    queries_in_window,
    sample_batch,
    sample_groups,
    training_groups,
    training_shapes,
)
from ..data import Scaler, TimeScale, fmt_span, read_panel
from ..network import N_BASELINES, Ensemble
from ..ssm import ZOH
from ..training import (
    Checkpoint,
    as_loss,
    fingerprint,
    make_optimizer,
    residual_quantiles,
    train,
    validation_scores,
)
from ._checks import check_callbacks, check_fit_panel, check_hyperparameters, target_weights
from ._errors import BaselineWarning
from ._fit_chunked import read_chunked
from ._fitted import (
    Architecture,
    FittedForecaster,
    input_bounds,
    scaled_series,
    to_model_span,
)
from ._folds import check_folds_allowed, cross_fit_splits, n_folds
from ._predict import PREDICT_QUERIES
from ._training_data import TrainingData, read_val_panel, warn_excluded, without_values
from ._user_warnings import warn


def fit(
    params,
    df,
    static_df,
    val_df,
    id_col,
    time_col,
    target_cols,
    callbacks,
    checkpoint_dir,
    chunk_size=None,
):
    """`(FittedForecaster, error or None)` for hyperparameters `params` (`get_params()`)."""
    check_hyperparameters(params)
    callbacks = check_callbacks(callbacks)
    names = dict(id_col=id_col, time_col=time_col, target_cols=target_cols)
    if chunk_size is None:
        data = _read(params, df, static_df, val_df, names, checkpoint_dir is not None)
    else:
        check_folds_allowed(params, val_df=val_df is not None, chunked=True, resumable=False)
        if checkpoint_dir is not None:
            raise ValueError(
                "checkpoint_dir cannot be combined with chunk_size: a chunked fit does "
                "not resume; pass one or the other"
            )
        data = read_chunked(params, df, static_df, val_df, names, chunk_size)
    return _fit(params, data, id_col, time_col, callbacks, checkpoint_dir, target_cols is None)


def _read(params, df, static_df, val_df, names, fingerprint_it: bool) -> TrainingData:
    """Read every series into memory (the default)."""
    duplicates = params["duplicates"]
    panel, report = read_panel(df, static_df, duplicates=duplicates, **names)
    check_fit_panel(panel)
    warn_excluded(report)
    val_panel = None
    if val_df is not None:
        val_panel = read_val_panel(val_df, static_df, panel, duplicates, names)
    time_scale = TimeScale().fit(panel)
    scaler = Scaler().fit(panel)
    static = panel.static if panel.static is not None else np.zeros((panel.n_series, 0))
    static_mean = static.mean(0)
    static_std = np.where(static.std(0) > 0, static.std(0), 1.0)

    bounds = input_bounds(panel.values, scaler)

    def features(p):
        return scaled_series(p, time_scale, scaler, static_mean, static_std, bounds)

    every = features(panel)  # times and float32 values per series: features come per batch
    rng = np.random.default_rng(params["random_state"])
    train_idx, val_series = np.arange(panel.n_series), None
    k = n_folds(
        params,
        panel.n_series,
        val_df=val_panel is not None,
        chunked=False,
        resumable=fingerprint_it,
    )
    folds = None
    if k > 1:
        folds = cross_fit_splits(every, k, rng, explicit=params["folds"] != "auto")
    if folds is not None:
        train_feats, val_series = folds[0]
        shaped = [f for f in every if len(f.t) >= 2]  # every fold's shapes: all of them
    else:
        if val_panel is not None:
            val_series = features(val_panel)
        elif params["val_size"] > 0 and panel.n_series >= 5:
            # Held-out series are picked by index: no copy of the panel is made.
            n_val = max(1, int(round(params["val_size"] * panel.n_series)))
            perm = rng.permutation(panel.n_series)
            train_idx = np.sort(perm[n_val:])
            val_series = [every[i] for i in np.sort(perm[:n_val])]
        train_feats = [every[i] for i in train_idx if len(every[i].t) >= 2]
        shaped = train_feats
    fit_id = None
    if fingerprint_it:
        # A resumable fit trains one network whatever `folds` says: leave it out, so
        # that checkpoints written before it existed still resume.
        fit_params = {k: v for k, v in params.items() if k not in ("verbose", "folds")}
        fit_params["training series"] = train_idx.tolist()
        fit_id = fingerprint(fit_params, [panel, val_panel])
    return TrainingData(
        # From here on the series live as float32 values in `every` / `val_series`: let
        # the panels' float64 copies go (a fit's memory is then about half its frame's).
        panel=without_values(panel),
        report=report,
        time_scale=time_scale,
        scaler=scaler,
        static_mean=static_mean,
        static_std=static_std,
        bounds=bounds,
        train_feats=train_feats,
        sizing=ListedSizing(shaped, params["network"].layout),
        spans=np.array([f.t[-1] for f in every]),
        val_series=val_series,
        rng=rng,
        fit_id=fit_id,
        folds=folds,
    )


def _fit(params, data: TrainingData, id_col, time_col, callbacks, checkpoint_dir, inferred):
    """Train on `data` and gather the fitted state (`inferred`: the targets were not
    named, so every column but the id and time is one)."""
    panel, time_scale, train_feats = data.panel, data.time_scale, data.train_feats
    val_series, rng = data.val_series, data.rng
    if not train_feats:
        raise ValueError(
            "every training series has a single event; forecasting needs series with >= 2 "
            "events (distinct times)"
        )
    context = None
    if params["context"] is not None:
        context = to_model_span(time_scale, params["context"], "context")
    if params["horizon"] is None:
        # At least the median gap between the training series' events (about one model
        # unit): a shorter default horizon would leave most cutoffs nothing to forecast.
        floor = data.sizing.median_gap() or 1.0
        horizon = max(float(0.5 * np.median(data.spans)), floor)
    else:
        horizon = to_model_span(time_scale, params["horizon"], "horizon")
    network = params["network"]
    layout = network.layout
    max_len = network.max_len(data.sizing.sizes())
    windows = data.sizing.max_window_events(horizon)
    if windows == 0:
        typical = fmt_span(time_scale.to_raw_span_of_model(1.0))
        given = params["horizon"] is not None
        what = f"horizon={params['horizon']!r}" if given else "the default horizon"
        raise ValueError(
            f"{what} ({fmt_span(time_scale.to_raw_span_of_model(horizon))}) is shorter than "
            "every gap between consecutive events of the training series, so no training "
            "cutoff has anything to forecast; pass a horizon of at least the typical gap "
            f"(the median gap is {typical})" + (", or leave horizon unset" if given else "")
        )
    n_queries = next_pow2(min(windows, layout.train_queries), 8)
    batch_size = params["batch_size"]
    checkpoint = None
    if checkpoint_dir is not None:
        checkpoint = Checkpoint(checkpoint_dir, data.fit_id)

    rule = params["discretisation"]
    architecture = Architecture(
        n_features=n_features(len(panel.target_cols), len(panel.static_cols)),
        n_targets=len(panel.target_cols),
        hidden_size=params["hidden_size"],
        state_size=params["state_size"],
        blocks=params["blocks"],
        n_layers=params["n_layers"],
        dropout=params["dropout"],
        discretisation=ZOH() if rule is None else rule,
        n_static=len(panel.static_cols),
        ssm=params["ssm"],
        network=network,
    )
    options = dict(
        batch_size=batch_size,
        horizon=horizon,
        context=context,
        max_len=max_len,
        n_queries=n_queries,
        layout=layout,
    )
    # Training batches split into groups of similar length, each padded to its own shape.
    groups = training_groups(
        batch_size, max_len=max_len, n_queries=n_queries, layout=layout, devices=len(jax.devices())
    )
    splits = data.folds or [(train_feats, val_series)]
    loss = as_loss(params["loss"], "loss")
    val_metric = as_loss(params["val_metric"], "val_metric")
    weights = target_weights(params["target_weights"], panel.target_cols)  # checks the names
    targets = panel.target_cols
    if params["verbose"] and inferred and len(targets) > 1:
        # Extra numeric columns become targets too: say so before training.
        shown = ", ".join(map(str, targets[:8])) + (", ..." if len(targets) > 8 else "")
        print(
            f"s5ts fit: {len(targets)} targets, every column but the id and time: {shown}",
            file=sys.stderr,
        )
    if params["verbose"] and len(splits) > 1:
        why = " (folds='auto': fewer than 1,000 series)" if params["folds"] == "auto" else ""
        print(
            f"s5ts fit: {len(splits)} networks, one per fold{why}; folds=1 trains one",
            file=sys.stderr,
        )
    root = jax.random.key(params["random_state"])
    # One network: its keys as ever; a network per fold: each fold's from its own key.
    keys = [root] if len(splits) == 1 else list(jax.random.split(root, len(splits)))
    # Every shape the sampler can draw, compiled before the first network's first step
    # (the folds share them: they are sized on all the training series).
    warmup = training_shapes(
        data.sizing.feats if data.folds else train_feats,
        batch_size=batch_size,
        max_len=max_len,
        n_queries=n_queries,
        layout=layout,
        groups=groups,
    )
    results, held_out = [], []
    for fold, ((fold_train, fold_val), fold_key) in enumerate(zip(splits, keys, strict=True)):
        val_batches = []
        if fold_val is not None:
            val_batches = _val_batches(fold_val, horizon, context, max_len, batch_size, layout)
        init_key, train_key = jax.random.split(fold_key)
        prior = blend_prior(
            fold_train, horizon, context, max_len, n_queries, params["random_state"], layout
        )
        model = architecture.build(init_key, blend_prior=prior)
        optimizer = make_optimizer(
            model, params["learning_rate"], params["max_steps"], weight_decay=params["weight_decay"]
        )
        if data.sampler is None:

            def sample(feats=fold_train):
                return sample_groups(feats, rng, groups=groups, **options)

        else:
            sample = data.sampler(rng, groups=groups, **options)
            data.train_feats = train_feats = None  # a chunk: the sampler reads its own

        result = train(
            model,
            optimizer,
            sample,
            val_batches,
            rng=rng,
            max_steps=params["max_steps"],
            eval_every=params["eval_every"],
            patience=params["patience"],
            key=train_key,
            verbose=params["verbose"],
            loss=loss,
            val_metric=val_metric,
            weights=weights,
            callbacks=callbacks,
            checkpoint=checkpoint,
            warmup=warmup if fold == 0 else (),
            ema_decay=params["ema_decay"],
            fold=(fold, len(splits)),
            groups=groups,
        )
        results.append(result)
        held_out.append((result.model, val_batches))
        if result.stopped not in ("max_steps", "early_stopping"):
            break  # interrupted, stopped by a callback or diverged: keep what is done
    members = [r.model for r in results]
    scores = validation_scores(held_out)
    calibration = residual_quantiles(held_out)
    n_held = sum(len(v) for _, v in splits[: len(results)] if v is not None)
    _report_scores(scores, params["verbose"], n_held, len(results))
    histories = [
        {
            "train_loss": r.train_loss,
            "val_loss": r.val_loss,
            "best_step": r.best_step,
            "stopped": r.stopped,
        }
        for r in results
    ]
    fitted = FittedForecaster(
        id_col=id_col,
        time_col=time_col,
        target_cols=panel.target_cols,
        static_cols=panel.static_cols,
        time_scale=time_scale,
        scaler=data.scaler,
        static_mean=data.static_mean,
        static_std=data.static_std,
        context=context,
        horizon=horizon,
        max_len=max_len,
        input_bounds=data.bounds,
        architecture=dataclasses.replace(architecture, members=len(members)),
        model=members[0] if len(members) == 1 else Ensemble(members),
        history=histories[0] if len(results) == 1 else _per_fold(histories),
        report=data.report,
        validation_scores=scores,
        residual_quantiles=calibration,
    )
    validated = any(bool(v) for _, v in held_out)
    fold = (len(results) - 1, len(splits))
    return fitted, _stop_error(results[-1], validated, params["ema_decay"] > 0, fold)


def _per_fold(histories: list[dict]) -> dict:
    """One history with a list per key, one item per fold."""
    return {key: [h[key] for h in histories] for key in histories[0]}


def blend_prior(feats, horizon, context, max_len, n_queries, seed: int, layout) -> np.ndarray:
    """(C, 4) weights of (LOCF, series mean, training mean, recent mean) that forecast
    the training targets best, per target: the network's starting point.

    A grid over the simplex (steps of 0.1) scored on randomly cut training samples, drawn
    from their own random stream so that the training draws do not depend on it.
    """
    rng = np.random.default_rng([seed, 1])
    n_t = feats[0].y.shape[1]
    sq = np.zeros((len(_SIMPLEX), n_t))
    count = np.zeros(n_t)
    for _ in range(_PRIOR_BATCHES):
        b = sample_batch(
            feats,
            rng,
            batch_size=64,
            horizon=horizon,
            context=context,
            max_len=max_len,
            n_queries=n_queries,
            layout=layout,
        )
        y, m = b.y.astype(np.float64), b.mask
        for k, (w_locf, w_mean, _, w_recent) in enumerate(_SIMPLEX):
            pred = w_locf * b.locf[:, None] + w_mean * b.level[:, None]
            pred = pred + w_recent * b.recent[:, None]
            sq[k] += np.where(m, (pred - y) ** 2, 0.0).sum(axis=(0, 1))
        count += m.sum(axis=(0, 1))
    best = _SIMPLEX[np.argmin(sq, axis=0)]  # (C, 4); unobserved targets: the first point
    return np.where(count[:, None] > 0, best, _SIMPLEX[0])


_PRIOR_BATCHES = 8
# Every (LOCF, series mean, training mean, recent mean) in steps of 0.1 summing to 1,
# plain LOCF first (the prior of a target never observed).
_SIMPLEX = np.array(
    [
        (a / 10, b / 10, (10 - a - b - c) / 10, c / 10)
        for a in range(10, -1, -1)
        for b in range(11 - a)
        for c in range(11 - a - b)
    ]
)
assert _SIMPLEX.shape[1] == N_BASELINES


def _report_scores(scores: dict, verbose: bool, n_held: int, n_networks: int) -> None:
    """Say how the model compares with the simple forecasts on the held-out series, and
    warn when it does not beat the best of them."""
    if not scores:
        return
    where = f"the {n_held} validation series"
    if n_networks > 1:
        where = f"the {n_held} held-out series (each network on its own fold)"
    if verbose:
        print(
            f"s5ts fit: validation MSE (scaled units) {scores['model']:.4g}; last value "
            f"{scores['locf']:.4g}, series mean {scores['series_mean']:.4g}, recent mean "
            f"{scores['recent_mean']:.4g}, training mean {scores['train_mean']:.4g}",
            file=sys.stderr,
        )
    best = min(("locf", "series_mean", "recent_mean"), key=scores.__getitem__)
    if scores["model"] >= scores[best]:
        name = {
            "locf": "the last observed value",
            "series_mean": "each series' own mean",
            "recent_mean": "each series' recent mean",
        }
        warn(
            f"fit: on {where} the model's MSE ({scores['model']:.4g}, "
            f"scaled units) is not below that of forecasting {name[best]} "
            f"({scores[best]:.4g}); it is no better than that baseline here"
            + (" (with so few validation series the comparison is noisy)" if n_held < 30 else "")
            + ". More series, a longer max_steps or a smaller model may help; "
            "validation_scores_ has the figures.",
            BaselineWarning,
        )


def _stop_error(
    result, validated: bool, averaged: bool, fold: tuple[int, int] = (0, 1)
) -> BaseException | None:
    """The error to raise after a fit that did not end normally (the model is kept);
    `fold` is (which, of how many) network stopped."""
    which, of = fold
    network = f" of network {which + 1} of {of}" if of > 1 else ""
    before = f" (and the {which} network(s) trained before it)" if which else ""
    kept = (
        ("the weights' moving average" if averaged else "the weights")
        + f" of step {result.best_step}"
        + (" (the initial weights)" if result.best_step == 0 else "")
        + (" (best validation loss so far)" if validated else " (the last finite step)")
        + network
        + before
    )
    if result.stopped == "non_finite":
        return FloatingPointError(
            f"fit: the training or validation loss became NaN/inf at step {result.step + 1}"
            f"{network}; "
            f"training stopped and the forecaster keeps {kept}, usable for predict. Try a "
            "smaller learning_rate, or check the data for extreme values."
        )
    if result.stopped == "interrupted":
        # The forecaster is fitted (best weights so far); let the interrupt reach the caller.
        return KeyboardInterrupt(
            f"fit interrupted after step {result.step}{network}; keeping {kept}"
        )
    return None


def _val_batches(feats, horizon, context, max_len, batch_size, layout):
    # Fixed cutoffs: the last event at least one horizon before the series ends (the
    # last one before the middle of its span when that would be its first event).
    series, cuts, taus, ys = [], [], [], []
    for i, f in enumerate(feats):
        edge = f.t[-1] - horizon * (1 - 1e-9)  # robust to unit rounding
        c = max(int(np.searchsorted(f.t, edge, side="right")) - 1, 0)
        if c == 0 and len(f.t) >= 3:
            # Nothing but the first event a horizon before the end: cut at the middle of
            # the span instead, so that validation forecasts from more than one event
            # where the series allows.
            c = int(np.searchsorted(f.t, f.t[-1] / 2, side="right")) - 1
        q = queries_in_window(f, c, horizon)
        series += [i] * len(q)
        cuts += [c] * len(q)
        taus.append(f.t[q] - f.t[c])
        ys.append(f.y[q])
    if not series:
        return []
    rows = (np.asarray(series), np.asarray(cuts), np.concatenate(taus), np.concatenate(ys))
    return ValidationBatches(
        lambda: plan_batches(
            feats,
            *rows,
            batch_size=batch_size,
            length=max_len,
            n_queries=PREDICT_QUERIES,
            context=context,
            layout=layout,
            lengths=history_tiers(max_len, layout),  # a pass runs every eval_every steps
        )
    )


class ValidationBatches:
    """The validation batches, built anew on every pass (two batches in memory at a time:
    the next one is built while the last one is forecast): with every event's features
    they would take several times the data's own size."""

    def __init__(self, plan):
        self.plan = plan

    def __iter__(self):
        return built_ahead(batch for _, batch in self.plan())

    def __bool__(self) -> bool:
        return True
