"""A residual stack of SSM blocks over irregular events, with streaming and jumps.

Each block is prenorm: `x + drop(GLU(drop(gelu(ssm(norm(x))))))`. Layer norm acts per
event (batch statistics would couple series and break batch independence), dropout
masks are shared across time as in S5, one per series.

Like the layers, the stack takes one sequence `(L, F)` or a time-major batch
`(L, *batch, F)`; every per-event operation here acts on the last axis only.
"""

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

from .._array_types import AnyArray, Complex, Float, Gaps, Valid
from ._abstract_layer import AbstractSSMLayer
from ._bidirectional import Bidirectional


class SSMBlock(eqx.Module):
    """One prenorm residual block around an SSM layer of width H.

    `x + drop(GLU(drop(gelu(ssm(norm(x))))))`, acting on `(L, *batch, H)`.
    """

    norm: eqx.nn.LayerNorm
    ssm: AbstractSSMLayer | Bidirectional
    gate: eqx.nn.Linear
    dropout: float = eqx.field(static=True)

    def __init__(
        self, ssm: AbstractSSMLayer | Bidirectional, *, dropout: float = 0.0, key: jax.Array
    ):
        """**Arguments:**

        - `ssm`: the SSM layer; its `hidden_size` sets the block width H.
        - `dropout`: the dropout rate, one mask per series shared over time (default 0).
        - `key`: a `jax.random` key for the gate's projection.
        """
        hidden = ssm.hidden_size
        self.norm = eqx.nn.LayerNorm(hidden)
        self.ssm = ssm
        self.gate = eqx.nn.Linear(hidden, hidden, key=key)
        self.dropout = dropout

    def _normalise(self, x):
        mean = jnp.mean(x, axis=-1, keepdims=True)
        var = jnp.var(x, axis=-1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + self.norm.eps) * self.norm.weight + self.norm.bias

    def _mix(self, y, key):
        # Half-GLU: gelu(y) gated by a sigmoid of its own projection.
        h = jax.nn.gelu(y, approximate=False)
        if key is not None and self.dropout > 0:
            k1, k2 = jax.random.split(key)
            h = h * _dropout_mask(k1, h.shape[1:], self.dropout, h.dtype)
        h = h * jax.nn.sigmoid(h @ self.gate.weight.T + self.gate.bias)
        if key is not None and self.dropout > 0:
            h = h * _dropout_mask(k2, h.shape[1:], self.dropout, h.dtype)
        return h

    def scan(self, x, dt, valid, state=None, *, key=None):
        """Run the block over every event.

        **Arguments:**

        - `x`: inputs `(L, *batch, H)`.
        - `dt`: gaps `(L, *batch)`, the time since the previous event (≥ 0).
        - `valid`: `(L, *batch)` bool; `False` marks padding, whose SSM input is zeroed.
        - `state`: the SSM layer's state before the first event (default zero).
        - `key`: a `jax.random` key that enables dropout (training); `None` for none.

        **Returns:**

        `(y, state)`: outputs `(L, *batch, H)` and the SSM state after the last event.
        """
        # Zeroing the SSM input at padding events makes them no-ops under every rule.
        u = jnp.where(valid[..., None], self._normalise(x), 0.0)
        y, state = self.ssm.scan(u, dt, state)
        return x + self._mix(y, key), state

    def step(self, state, x_t, dt_t):
        """Advance by one event, without dropout.

        **Arguments:**

        - `state`: the SSM state after the previous event.
        - `x_t`: the new event's input `(*batch, H)`.
        - `dt_t`: its gap since the previous event, a scalar or `(*batch,)`.

        **Returns:**

        `(state, y_t)`: the SSM state after the event and its output `(*batch, H)`.
        """
        state, y = self.ssm.step(state, self._normalise(x_t), dt_t)
        return state, x_t + self._mix(y[None], None)[0]


def _dropout_mask(key, shape, rate, dtype):
    # One mask per series (the shape excludes time), shared over all its events.
    return jax.random.bernoulli(key, 1 - rate, shape).astype(dtype) / (1 - rate)


class SSMStack(eqx.Module):
    """Input projection, then `n_layers` SSM blocks, over one sequence or a time-major batch.

    - `stack(x, dt, valid)` → outputs `(L, H)` (or `(L, *batch, H)`);
    - `stack.scan(x, dt, valid)` → `(outputs, states)`, the per-block states after the
      last event, from which `step` (a new event) or `jump` (a span with no input) go on.
    """

    encoder: eqx.nn.Linear
    blocks: tuple[SSMBlock, ...]

    def __init__(
        self,
        in_size: int,
        make_ssm: Callable[[jax.Array], AbstractSSMLayer | Bidirectional],
        n_layers: int,
        *,
        dropout: float = 0.0,
        key: jax.Array,
    ):
        """**Arguments:**

        - `in_size`: F, the number of input features per event.
        - `make_ssm`: `make_ssm(key)` builds one SSM layer; its `hidden_size` sets the
          stack width H.
        - `n_layers`: the number of blocks.
        - `dropout`: the dropout rate of every block (default 0).
        - `key`: a `jax.random` key.
        """
        keys = jax.random.split(key, 2 * n_layers + 1)
        ssms = [make_ssm(k) for k in keys[1 : n_layers + 1]]
        self.encoder = eqx.nn.Linear(in_size, ssms[0].hidden_size, key=keys[0])
        self.blocks = tuple(
            SSMBlock(s, dropout=dropout, key=k)
            for s, k in zip(ssms, keys[n_layers + 1 :], strict=True)
        )

    def init_state(self, batch_shape: tuple[int, ...] = ()) -> tuple[Complex[AnyArray, "..."], ...]:
        """The zero states, the states before the first event.

        **Arguments:**

        - `batch_shape`: leading batch axes of the states (default `()`, one sequence).

        **Returns:**

        One zero state per block, each `batch_shape + state_shape`.
        """
        return tuple(b.ssm.init_state(batch_shape) for b in self.blocks)

    def scan(
        self,
        x: Float[AnyArray, "length *batch features"],
        dt: Gaps,
        valid: Valid | None = None,
        states: Sequence[Complex[AnyArray, "..."]] | None = None,
        *,
        key: jax.Array | None = None,
    ) -> tuple[Float[AnyArray, "length *batch hidden"], tuple[Complex[AnyArray, "..."], ...]]:
        """Run all events.

        **Arguments:**

        - `x`: inputs `(L, *batch, F)`.
        - `dt`: gaps `(L, *batch)`, the time since the previous event (≥ 0).
        - `valid`: `(L, *batch)` bool, `False` marks padding (default: all valid).
        - `states`: the per-block states before the first event (default zero).
        - `key`: a `jax.random` key that enables dropout (training); `None` for none.

        **Returns:**

        `(y, states)`: outputs `(L, *batch, H)` and the per-block states after the last
        event.
        """
        if valid is None:
            valid = jnp.ones(dt.shape, bool)
        if states is None:
            states = self.init_state(dt.shape[1:])
        keys = [None] * len(self.blocks) if key is None else jax.random.split(key, len(self.blocks))
        h = self._encode(x)
        out = []
        for block, state, k in zip(self.blocks, states, keys, strict=True):
            h, state = block.scan(h, dt, valid, state, key=k)
            out.append(state)
        return h, tuple(out)

    def _encode(self, x):
        return x @ self.encoder.weight.T + self.encoder.bias

    def __call__(self, x, dt, valid=None, *, key=None) -> Float[AnyArray, "length *batch hidden"]:
        """Outputs only, from zero states.

        **Arguments:**

        - `x`, `dt`, `valid`, `key`: as in `scan`.

        **Returns:**

        The outputs `(L, *batch, H)`.
        """
        return self.scan(x, dt, valid, key=key)[0]

    def step(self, states, x_t: Float[AnyArray, "*batch features"], dt_t):
        """Advance by one new event `x_t` arriving `dt_t` after the previous one.

        **Arguments:**

        - `states`: the per-block states after the previous event.
        - `x_t`: the new event's input `(*batch, F)`.
        - `dt_t`: its gap since the previous event, a scalar or `(*batch,)`.

        **Returns:**

        `(states, y_t)`: the per-block states after the event and its output
        `(*batch, H)`.
        """
        h = self._encode(x_t)
        new = []
        for block, state in zip(self.blocks, states, strict=True):
            state, h = block.step(state, h, dt_t)
            new.append(state)
        return tuple(new), h

    def jump(self, states, dt):
        """Carry every block's state forward by `dt` with no input.

        **Arguments:**

        - `states`: the per-block states.
        - `dt`: the span (≥ 0), a scalar or `(*batch,)`.

        **Returns:**

        The per-block states after the span.
        """
        return tuple(b.ssm.jump(s, dt) for b, s in zip(self.blocks, states, strict=True))
