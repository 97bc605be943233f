"""The moving average of the weights, what a fit validates and keeps."""

import equinox as eqx
import jax

from .._array_types import AnyArray, Float


@eqx.filter_jit
def moving_average(average, model, decay: Float[AnyArray, ""]):
    """`average` moved towards `model` by `1 - decay` (the weights; the rest unchanged)."""
    avg, rest = eqx.partition(average, eqx.is_inexact_array)
    new = eqx.filter(model, eqx.is_inexact_array)
    return eqx.combine(jax.tree.map(lambda a, w: a + (1 - decay) * (w - a), avg, new), rest)


def average_decay(ema_decay: float, step: int) -> float:
    """The decay at `step` (1, 2, ...): ramped up as `(1 + step) / (10 + step)`, so that
    the average forgets the first weights quickly and then settles at `ema_decay`."""
    return min(ema_decay, (1 + step) / (10 + step))
