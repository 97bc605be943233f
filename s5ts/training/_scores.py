"""Validation: scores of held-out forecasts against the simple forecasts, and the
residual quantiles that calibrate the intervals."""

from collections.abc import Iterable, Sequence

import equinox as eqx
import numpy as np

from ..batching import AnyBatch
from ..network import forecast_batch
from ._losses import AbstractLoss


def held_out_forecasts(held_out: Sequence[tuple[eqx.Module, Iterable[AnyBatch]]]):
    """`(mean, scale, batch)` for every batch of every `(model, batches)` pair (numpy,
    float64): each network's forecasts of the series it was validated on."""
    for model, batches in held_out:
        for batch in batches:
            mean, scale = forecast_batch(model, batch)
            yield np.asarray(mean, np.float64), np.asarray(scale, np.float64), batch


def validation_scores(
    held_out: Sequence[tuple[eqx.Module, Iterable[AnyBatch]]],
) -> dict[str, float]:
    """MSE of the models and of the simple forecasts on held-out batches, per variable
    then averaged over the variables (scaled units): `model`, `locf` (last observed
    value), `series_mean` (the series' mean so far), `train_mean` (the training mean) and
    `recent_mean` (the series' recency-weighted mean, `s5ts._features.RECENT_HALF_LIFE`).
    `held_out` pairs each network with its own held-out batches (one pair, or one per
    fold: the scores then pool every fold's targets). The history is read as the model
    reads it (values clipped to the input bounds); {} when nothing was held out."""
    sq: dict[str, np.ndarray] = {}
    count = 0.0
    for mean, _, batch in held_out_forecasts(held_out):
        preds = {
            "model": mean,
            "locf": np.broadcast_to(batch.locf[:, None], batch.y.shape),
            "series_mean": np.broadcast_to(batch.level[:, None], batch.y.shape),
            "train_mean": np.zeros(batch.y.shape, np.float32),
            "recent_mean": np.broadcast_to(batch.recent[:, None], batch.y.shape),
        }
        for name, pred in preds.items():
            err = np.where(batch.mask, (pred.astype(np.float64) - batch.y) ** 2, 0.0)
            sq[name] = sq.get(name, 0.0) + err.sum(axis=(0, 1))
        count = count + batch.mask.sum(axis=(0, 1))
    seen = np.asarray(count) > 0
    if not seen.any():
        return {}
    return {name: float(np.mean(v[seen] / count[seen])) for name, v in sq.items()}


CALIBRATION_PROBS = np.linspace(0.005, 0.995, 199)  # where residual quantiles are kept
_MIN_RESIDUALS = 200  # fewer residuals of a target: the pooled quantiles serve it


def residual_quantiles(held_out: Sequence[tuple[eqx.Module, Iterable[AnyBatch]]]) -> np.ndarray:
    """(C, G) quantiles of the standardised residuals `(y - mean) / scale` of held-out
    forecasts at `CALIBRATION_PROBS`, per target, where the intervals' quantiles are
    read instead of the Gaussian's (empty (0, G) when nothing was held out). A target
    with few held-out values takes the quantiles pooled over every target.

    `held_out` is as in `validation_scores`. With one network per fold each residual is
    that network's own on its fold; their mixture's forecast is at least as spread and
    usually closer, so its intervals come out a little wide rather than narrow."""
    per: list[list[np.ndarray]] = []
    for mean, scale, batch in held_out_forecasts(held_out):
        r = (batch.y - mean) / scale
        if not per:
            per = [[] for _ in range(r.shape[-1])]
        for j in range(r.shape[-1]):
            per[j].append(r[..., j][batch.mask[..., j]])
    if not per:
        return np.zeros((0, len(CALIBRATION_PROBS)))
    per_target = [np.concatenate(p) for p in per]
    pooled = np.concatenate(per_target)
    if len(pooled) < _MIN_RESIDUALS:
        return np.zeros((0, len(CALIBRATION_PROBS)))
    pooled_q = np.quantile(pooled, CALIBRATION_PROBS)
    return np.stack(
        [
            np.quantile(p, CALIBRATION_PROBS) if len(p) >= _MIN_RESIDUALS else pooled_q
            for p in per_target
        ]
    )


def evaluate(
    model: eqx.Module,
    batches: Iterable[AnyBatch],
    metric: AbstractLoss,
    weights: np.ndarray | None = None,
) -> float:
    """The validation score of `metric` (lower is better) over held-out batches, through
    the same compiled forward pass as prediction (so validation adds no compilation)."""
    total = None
    for batch in batches:
        mean, scale = forecast_batch(model, batch)
        total = metric.accumulate(total, mean, scale, batch.y, batch.mask, weights)
    return metric.reduce(total, weights)
