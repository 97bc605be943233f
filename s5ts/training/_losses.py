"""What training minimises and what validation scores: option objects, not strings.

`GaussianNLL()` fits mean and scale together by the Gaussian negative log-likelihood.
`SquaredError()` fits the mean by squared error alone and the scale by the NLL around
that mean held fixed, so the point forecast minimises the usual benchmark metric while
the intervals stay fitted. As a validation metric each scores a forecaster's held-out
forecasts: the NLL pooled over every observed value, or the squared error per variable
then averaged over the variables (the shape of the benchmark metric, far less sensitive
than the NLL to a few outlying targets).
"""

import abc
import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._array_types import AnyArray, Bool, Float


_LOG_2PI = math.log(2 * math.pi)


def _average(
    per: Float[AnyArray, "*batch targets"],
    mask: Bool[AnyArray, "*batch targets"],
    weights: Float[AnyArray, " targets"] | None,
) -> Float[AnyArray, ""]:
    # Weighted mean over the observed entries; a batch with no weight scores 0.
    w = jnp.asarray(mask, per.dtype) if weights is None else jnp.where(mask, weights, 0.0)
    total = jnp.sum(w)
    return jnp.where(total > 0, jnp.sum(jnp.where(mask, per, 0.0) * w) / total, 0.0)


def gaussian_nll(
    mean: Float[AnyArray, "*batch targets"],
    scale: Float[AnyArray, "*batch targets"],
    y: Float[AnyArray, "*batch targets"],
    mask: Bool[AnyArray, "*batch targets"],
    weights: Float[AnyArray, " targets"] | None = None,
) -> Float[AnyArray, ""]:
    """Negative log-likelihood averaged over the observed entries, per-target weighted."""
    z = (y - mean) / scale
    return _average(0.5 * z**2 + jnp.log(scale) + 0.5 * _LOG_2PI, mask, weights)


def squared_error(
    mean: Float[AnyArray, "*batch targets"],
    y: Float[AnyArray, "*batch targets"],
    mask: Bool[AnyArray, "*batch targets"],
    weights: Float[AnyArray, " targets"] | None = None,
) -> Float[AnyArray, ""]:
    """Squared error averaged over the observed entries, per-target weighted."""
    return _average((y - mean) ** 2, mask, weights)


class AbstractLoss(eqx.Module):
    """A training loss and the validation metric of the same name.

    `loss(mean, scale, y, mask, weights)` is the (jax) training loss of a batch;
    `accumulate` and `reduce` score held-out forecasts batch by batch, in numpy.
    `alias` is the string users may pass instead of the object.
    """

    alias: ClassVar[str]

    @abc.abstractmethod
    def __call__(
        self,
        mean: Float[AnyArray, "*batch targets"],
        scale: Float[AnyArray, "*batch targets"],
        y: Float[AnyArray, "*batch targets"],
        mask: Bool[AnyArray, "*batch targets"],
        weights: Float[AnyArray, " targets"] | None = None,
    ) -> Float[AnyArray, ""]:
        """The training loss of a batch (lower is better)."""

    @abc.abstractmethod
    def accumulate(self, total, mean, scale, y, mask, weights):
        """`total` (None at the start) updated with one batch of held-out forecasts."""

    @abc.abstractmethod
    def reduce(self, total, weights) -> float:
        """The validation score from the accumulated `total` (0 when nothing was scored)."""


class GaussianNLL(AbstractLoss):
    """Gaussian negative log-likelihood of mean and scale (per-target weighted).

    As a validation metric: the NLL pooled over every observed held-out value.
    """

    alias: ClassVar[str] = "nll"

    def __call__(self, mean, scale, y, mask, weights=None):
        return gaussian_nll(mean, scale, y, mask, weights)

    def accumulate(self, total, mean, scale, y, mask, weights):
        w = None if weights is None else jnp.asarray(weights, jnp.float32)
        mask = np.asarray(mask)
        n = float(mask.sum() if weights is None else (mask * np.asarray(weights)).sum())
        nll = float(gaussian_nll(mean, scale, jnp.asarray(y), mask, w))
        s, c = (0.0, 0.0) if total is None else total
        return s + nll * n, c + n

    def reduce(self, total, weights) -> float:
        if total is None:
            return 0.0
        s, c = total
        return s / c if c > 0 else 0.0


class SquaredError(AbstractLoss):
    """Squared error for the mean; the scale is fitted by the NLL around the mean held
    fixed (`stop_gradient`), so intervals are still fitted.

    As a validation metric: the squared error of the mean per variable, then the
    (weighted) average over the variables that have held-out values.
    """

    alias: ClassVar[str] = "mse"

    def __call__(self, mean, scale, y, mask, weights=None):
        fixed = jax.lax.stop_gradient(mean)
        return squared_error(mean, y, mask, weights) + gaussian_nll(fixed, scale, y, mask, weights)

    def accumulate(self, total, mean, scale, y, mask, weights):
        err = np.where(mask, (np.asarray(mean) - y) ** 2, 0.0)
        sq, count = (0.0, 0.0) if total is None else total
        return sq + err.sum(axis=(0, 1)), count + mask.sum(axis=(0, 1))

    def reduce(self, total, weights) -> float:
        if total is None:
            return 0.0
        sq, count = total
        seen = np.asarray(count) > 0
        per_target = np.asarray(sq)[seen] / np.asarray(count)[seen]
        w = np.ones(len(per_target)) if weights is None else np.asarray(weights)[seen]
        return float(np.sum(w * per_target) / np.sum(w)) if np.sum(w) > 0 else 0.0


LOSSES: dict[str, type[AbstractLoss]] = {c.alias: c for c in (GaussianNLL, SquaredError)}


def as_loss(value: "AbstractLoss | str", name: str) -> AbstractLoss:
    """The loss object for `value` (an object or its alias); `name` names the parameter."""
    if isinstance(value, AbstractLoss):
        return value
    if isinstance(value, str) and value in LOSSES:
        return LOSSES[value]()
    raise ValueError(
        f"{name} must be s5ts.GaussianNLL() or s5ts.SquaredError() (or the alias "
        f"{' or '.join(repr(a) for a in LOSSES)}), got {value!r}"
    )
