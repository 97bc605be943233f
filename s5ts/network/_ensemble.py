"""Several trained networks of one architecture, run side by side as one network.

`fit` with `folds > 1` trains one network per fold of the series (each validated on its
own fold) and keeps them as an `Ensemble`: the members' weights stacked on a leading
axis, every call vmapped over it. So an ensemble answers the same calls as a single
network — whole batches, streaming's `encode` / `decode`, `init_state` — and prediction,
streaming, saving and devices need nothing of their own. Streamed states carry the
member axis second, `(B, K, ...)`, so that they stay indexed by series first.

The forecast is the equal-weight mixture of the members' Gaussians: the mean of their
means, and the variance of the mixture (the members' mean variance plus the spread of
their means).
"""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

from .._array_types import AnyArray, Float


class Ensemble(eqx.Module):
    """`K` networks of one architecture, forecasting as their equal-weight mixture."""

    members: eqx.Module  # one network whose every array has a leading (K,) axis
    size: int = eqx.field(static=True)

    def __init__(self, members: Sequence[eqx.Module]):
        """**Arguments:**

        - `members`: two or more networks of one architecture (equal shapes and
          settings; only their weights differ).
        """
        if len(members) < 2:
            raise ValueError(f"an Ensemble needs two or more members, got {len(members)}")
        arrays = [eqx.filter(m, eqx.is_array) for m in members]
        stacked = jax.tree.map(lambda *a: jnp.stack(a), *arrays)
        self.members = eqx.combine(stacked, eqx.filter(members[0], eqx.is_array, inverse=True))
        self.size = len(members)

    @property
    def n_targets(self) -> int:
        return self.members.n_targets

    def member(self, k: int) -> eqx.Module:
        """Member `k` as a network of its own."""
        arrays, rest = eqx.partition(self.members, eqx.is_array)
        return eqx.combine(jax.tree.map(lambda a: a[k], arrays), rest)

    def __call__(
        self, batch, *, key: jax.Array | None = None
    ) -> tuple[Float[AnyArray, "batch queries targets"], Float[AnyArray, "batch queries targets"]]:
        """Means and scales `(B, Q, C)` of a batch (the members' mixture)."""

        def one(member, k):
            return member(batch, key=k)

        return mixture(*eqx.filter_vmap(one)(self.members, self._keys(key)))

    def init_state(self, batch_shape: tuple[int, ...]):
        """Every member's states before any event, `batch_shape[:1] + (K,) + ...`."""
        return eqx.filter_vmap(lambda m: m.init_state(batch_shape), out_axes=1)(self.members)

    def encode(self, *inputs, states=None, key: jax.Array | None = None):
        """Every member's `encode(*inputs, states=...)`; states `(B, K, ...)`."""

        def one(member, s, k):
            return member.encode(*inputs, states=s, key=k)

        run = eqx.filter_vmap(one, in_axes=(eqx.if_array(0), 1, 0), out_axes=1)
        return run(self.members, states, self._keys(key))

    def decode(self, states, *inputs):
        """The mixture of every member's `decode(states, *inputs)`; states `(B, K, ...)`."""

        def one(member, s):
            return member.decode(s, *inputs)

        run = eqx.filter_vmap(one, in_axes=(eqx.if_array(0), 1))
        return mixture(*run(self.members, states))

    def _keys(self, key):
        return None if key is None else jax.random.split(key, self.size)


def mixture(
    means: Float[AnyArray, "members ..."], scales: Float[AnyArray, "members ..."]
) -> tuple[Float[AnyArray, "..."], Float[AnyArray, "..."]]:
    """Mean and standard deviation of the equal-weight mixture of Gaussians
    `N(means[k], scales[k]²)`."""
    mean = means.mean(0)
    variance = jnp.mean(scales**2, axis=0) + jnp.mean((means - mean) ** 2, axis=0)
    return mean, jnp.sqrt(variance)
