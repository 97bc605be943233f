"""A bidirectional wrapper: one layer over time and one over reversed time, outputs summed."""

import equinox as eqx
import jax.numpy as jnp

from .._array_types import Gaps, Seq, State
from ._abstract_layer import AbstractSSMLayer


class Bidirectional(eqx.Module):
    """`y = forward(u, dt) + reverse(backward(reverse(u), gaps to the next event))`.

    A whole-sequence encoder: the output at an event depends on later events too, so it
    cannot be streamed: `step` raises and there is no `jump` (a state after the last event
    cannot see the future). In
    reversed time event k is held over the gap to the *next* event, `dt[k+1]`, and the last
    event gets 0, which keeps trailing padding (`u = 0`, `dt = 0`) a no-op in both
    directions.
    """

    forward: AbstractSSMLayer
    backward: AbstractSSMLayer

    def __init__(self, forward: AbstractSSMLayer, backward: AbstractSSMLayer):
        """**Arguments:**

        - `forward`: the layer run over time.
        - `backward`: the layer run over reversed time; same `hidden_size`.
        """
        if forward.hidden_size != backward.hidden_size:
            raise ValueError(
                f"forward and backward layers must have the same hidden_size, got "
                f"{forward.hidden_size} and {backward.hidden_size}"
            )
        self.forward = forward
        self.backward = backward

    @property
    def hidden_size(self) -> int:
        """H, the width shared by both layers."""
        return self.forward.hidden_size

    def init_state(self, batch_shape: tuple[int, ...] = ()) -> State:
        """The forward layer's zero state (the state `scan` returns is the forward one).

        **Arguments:**

        - `batch_shape`: leading batch axes of the state (default `()`, one sequence).

        **Returns:**

        `forward.init_state(batch_shape)`.
        """
        return self.forward.init_state(batch_shape)

    def scan(self, u: Seq, dt: Gaps, state: State | None = None) -> tuple[Seq, State]:
        """Run both directions over the whole sequence and sum their outputs.

        **Arguments:**

        - `u`: inputs `(L, *batch, H)`.
        - `dt`: gaps `(L, *batch)`, the time since the previous event (≥ 0).
        - `state`: the forward layer's state before the first event (default zero); the
          backward layer always starts from zero after the last event.

        **Returns:**

        `(y, final_state)`: outputs `(L, *batch, H)` and the forward layer's state after
        the last event.
        """
        y, final = self.forward.scan(u, dt, state)
        dt_back = jnp.concatenate([dt[1:], jnp.zeros_like(dt[:1])])
        y_back, _ = self.backward.scan(u[::-1], dt_back[::-1])
        return y + y_back[::-1], final

    def __call__(self, u: Seq, dt: Gaps) -> Seq:
        """Outputs only, from zero states.

        **Arguments:**

        - `u`: inputs `(L, *batch, H)`.
        - `dt`: gaps `(L, *batch)`.

        **Returns:**

        The outputs `y`, `(L, *batch, H)`.
        """
        return self.scan(u, dt)[0]

    def step(self, state, u_t, dt_t):
        """Not supported: always raises `ValueError` (the output depends on later events).

        **Arguments:**

        - `state`, `u_t`, `dt_t`: as in `AbstractSSMLayer.step`; not used.
        """
        raise ValueError(
            "a Bidirectional layer looks at future events and cannot be stepped; use a "
            "unidirectional layer for streaming and forecasting"
        )
