"""The forecast as a blend of the simple forecasts plus a residual.

Per target the networks predict weights over the simple forecasts — the last observed
value (LOCF), the series' running mean, the training mean (0 in scaled units) and the
series' recent mean (its values weighted by recency) — a residual added to the blend,
and a scale. The weights depend on the query (how long ago the variable was seen, how
far ahead, ...) and start at a prior fitted on the training data, so even an untrained
network forecasts as well as the best fixed blend of the baselines, and with little data
it stays close to it. Networks saved before the recent mean blend the first three.
"""

import jax
import numpy as np

from .._array_types import AnyArray, Float


MIN_SCALE = 1e-3  # floor on the predicted std (in scaled units), keeps the NLL bounded
# LOCF, the series' running mean, the training mean (0 in scaled units), its recent mean.
N_BASELINES = 4


def blend_parts(
    residual: Float[AnyArray, "*batch targets"],
    raw_scale: Float[AnyArray, "*batch targets"],
    logits: Float[AnyArray, "*batch targets baselines"],
    locf: Float[AnyArray, "*batch targets"],
    level: Float[AnyArray, "*batch targets"],
    recent: Float[AnyArray, "*batch targets"],
) -> tuple[Float[AnyArray, "*batch targets"], Float[AnyArray, "*batch targets"]]:
    """Means and scales from per-target residuals, raw scales and blend logits (over the
    first 3 or all 4 baselines, in the order listed above `N_BASELINES`)."""
    w = jax.nn.softmax(logits, axis=-1)
    mean = w[..., 0] * locf + w[..., 1] * level + residual  # w[..., 2] weighs 0
    if logits.shape[-1] > 3:
        mean = mean + w[..., 3] * recent
    return mean, jax.nn.softplus(raw_scale) + MIN_SCALE


def blend(
    out: Float[AnyArray, "*batch outputs"],
    locf: Float[AnyArray, "*batch targets"],
    level: Float[AnyArray, "*batch targets"],
    recent: Float[AnyArray, "*batch targets"],
) -> tuple[Float[AnyArray, "*batch targets"], Float[AnyArray, "*batch targets"]]:
    """Means and scales from a head's outputs laid out `[residual (C), scale (C),
    logits (C, baselines)]`."""
    n = locf.shape[-1]
    logits = out[..., 2 * n :].reshape(*out.shape[:-1], n, -1)
    return blend_parts(out[..., :n], out[..., n : 2 * n], logits, locf, level, recent)


def prior_logits(
    prior: np.ndarray | None, n_targets: int, n_baselines: int = N_BASELINES
) -> np.ndarray:
    """(C, n_baselines) initial blend logits from prior weights (C, n_baselines) or
    (n_baselines,); None: plain LOCF."""
    if prior is None:
        prior = np.eye(n_baselines)[0]
    p = np.broadcast_to(np.asarray(prior, np.float64), (n_targets, n_baselines))
    p = np.clip(p, 1e-4, None)
    return np.log(p / p.sum(-1, keepdims=True))
