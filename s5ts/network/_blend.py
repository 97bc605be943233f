"""The forecast as a blend of the simple forecasts plus a residual.

Per target the networks predict weights over three baselines — the last observed value
(LOCF), the series' running mean and the training mean (0 in scaled units) — a residual
added to the blend, and a scale. The weights depend on the query (how long ago the
variable was seen, how far ahead, ...) and start at a prior fitted on the training
data, so even an untrained network forecasts as well as the best fixed blend of the
baselines, and with little data it stays close to it.
"""

import jax
import numpy as np

from .._array_types import AnyArray, Float


MIN_SCALE = 1e-3  # floor on the predicted std (in scaled units), keeps the NLL bounded
N_BASELINES = 3  # LOCF, the series' running mean, the training mean (0 in scaled units)


def blend_parts(
    residual: Float[AnyArray, "*batch targets"],
    raw_scale: Float[AnyArray, "*batch targets"],
    logits: Float[AnyArray, "*batch targets 3"],
    locf: Float[AnyArray, "*batch targets"],
    level: Float[AnyArray, "*batch targets"],
) -> tuple[Float[AnyArray, "*batch targets"], Float[AnyArray, "*batch targets"]]:
    """Means and scales from per-target residuals, raw scales and blend logits."""
    w = jax.nn.softmax(logits, axis=-1)
    mean = w[..., 0] * locf + w[..., 1] * level + residual  # w[..., 2] weighs 0
    return mean, jax.nn.softplus(raw_scale) + MIN_SCALE


def blend(
    out: Float[AnyArray, "*batch outputs"],
    locf: Float[AnyArray, "*batch targets"],
    level: Float[AnyArray, "*batch targets"],
) -> tuple[Float[AnyArray, "*batch targets"], Float[AnyArray, "*batch targets"]]:
    """Means and scales from a head's outputs laid out `[residual (C), scale (C),
    logits (C, 3)]`."""
    n = locf.shape[-1]
    logits = out[..., 2 * n :].reshape(*out.shape[:-1], n, N_BASELINES)
    return blend_parts(out[..., :n], out[..., n : 2 * n], logits, locf, level)


def prior_logits(prior: np.ndarray | None, n_targets: int) -> np.ndarray:
    """(C, 3) initial blend logits from prior weights (C, 3) or (3,); None: plain LOCF."""
    if prior is None:
        prior = np.array([1.0, 0.0, 0.0])
    p = np.broadcast_to(np.asarray(prior, np.float64), (n_targets, N_BASELINES))
    p = np.clip(p, 1e-4, None)
    return np.log(p / p.sum(-1, keepdims=True))
