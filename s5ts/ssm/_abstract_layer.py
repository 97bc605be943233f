"""The one recurrence every layer shares, in its three uses: scan, step and jump.

A concrete layer says how to get its continuous spectrum and per-state step sizes
(`_spectrum`), how inputs enter the state (`_project_in`), how the state is read out
(`_project_out`) and the shape of its state. Everything else — discretising each event
with its own gap, scanning a sequence, stepping one event, jumping the state forward with
no input — is written once here and never overridden (Equinox's abstract/final pattern),
so the three uses give the same numbers by construction. The whole-sequence pass has a
hand-written backward pass (`_recurrence.py`); `step` and `jump` are
differentiated by JAX.
"""

import abc
import contextlib
import contextvars

import equinox as eqx
import jax.numpy as jnp

from .._array_types import AnyArray, Complex, Float, Seq, State, Step
from ._discretisation import AbstractDiscretisation
from ._recurrence import layer_scan
from ._scans import AbstractScan


class AbstractSSMLayer(eqx.Module):
    """A diagonal SSM over irregular time: `layer(u, dt)` maps `(L, H)` inputs to `(L, H)`.

    `dt[k] ≥ 0` is the time since the previous event. An event with `u = 0` and
    `dt = 0` leaves the state unchanged under every discretisation rule. A negative or NaN
    gap is an error, also under `jit` (through `eqx.error_if`).

    Batches: a time-major batch passed directly — `u` of shape `(L, *batch, H)` with `dt`
    of shape `(L, *batch)` — or `jax.vmap` over batch-major data, within a few percent of
    each other (`benchmarks/scan.py` measures both). `scan` and `__call__` have a
    hand-written backward pass (a custom VJP, `_recurrence.py`): reverse-mode autodiff,
    higher orders included, but not forward-mode (`jax.jvp`).
    """

    hidden_size: eqx.AbstractVar[int]
    discretisation: eqx.AbstractVar[AbstractDiscretisation]
    scan_backend: eqx.AbstractVar[AbstractScan]

    @abc.abstractmethod
    def _spectrum(self) -> tuple[Complex[AnyArray, "*state"], Float[AnyArray, "*state"]]:
        """Continuous eigenvalues `Λ` and per-state step sizes `Δ` (broadcastable)."""

    @abc.abstractmethod
    def _project_in(self, u: Step) -> State:
        """`B̃ u` for every event: `(*lead, H)` to `(*lead, *state)`."""

    @abc.abstractmethod
    def _project_out(self, x: State, u: Step) -> Step:
        """`y = Re(C̃ x)·factor + D ⊙ u` for every event: `(*lead, *state)` to `(*lead, H)`."""

    @property
    @abc.abstractmethod
    def state_shape(self) -> tuple[int, ...]:
        """Shape of the complex state carried between events."""

    def _coefficients(self, dt: Float[AnyArray, "..."]) -> tuple[State, State]:
        Lambda, Delta = self._spectrum()
        dt = _checked_gaps(dt)
        dt = jnp.reshape(dt, dt.shape + (1,) * Lambda.ndim)
        return self.discretisation(Lambda, Delta * dt)

    def _complex_dtype(self):
        return jnp.result_type(self._spectrum()[0])

    def init_state(self, batch_shape: tuple[int, ...] = ()) -> State:
        """The zero state, the state before the first event.

        **Arguments:**

        - `batch_shape`: leading batch axes of the state (default `()`, one sequence).

        **Returns:**

        A complex zero array of shape `batch_shape + state_shape`.
        """
        return jnp.zeros(tuple(batch_shape) + self.state_shape, self._complex_dtype())

    # `scan` and `__call__` take any float arrays and check their shapes themselves
    # (`_check_inputs`), with messages that say how to fix them.
    def scan(
        self, u: Float[AnyArray, "..."], dt: Float[AnyArray, "..."], state: State | None = None
    ) -> tuple[Seq, State]:
        """Run the whole sequence from `state` (default zero).

        **Arguments:**

        - `u`: inputs `(L, *batch, H)`.
        - `dt`: gaps `(L, *batch)`, the time since the previous event (≥ 0).
        - `state`: the state before the first event, `(*batch, *state_shape)`.

        **Returns:**

        `(y, final_state)`: outputs `(L, *batch, H)` and the state after the last event.
        """
        _check_inputs(u, dt)
        if state is None:
            state = self.init_state(dt.shape[1:])
        return layer_scan(self, u, _checked_gaps(dt), state)

    def __call__(self, u: Float[AnyArray, "..."], dt: Float[AnyArray, "..."]) -> Seq:
        """Run the sequence from the zero state and keep the outputs only.

        **Arguments:**

        - `u`: inputs `(L, H)`, or a time-major batch `(L, *batch, H)`.
        - `dt`: gaps `(L,)` (or `(L, *batch)`), the time since the previous event (≥ 0).

        **Returns:**

        The outputs `y`, the shape of `u`.
        """
        return self.scan(u, dt)[0]

    def step(
        self, state: State, u_t: Step, dt_t: Float[AnyArray, "*batch"] | float
    ) -> tuple[State, Step]:
        """Advance by one event.

        **Arguments:**

        - `state`: the state after the previous event.
        - `u_t`: the new event's input `(*batch, H)`.
        - `dt_t`: its gap since the previous event, a scalar or `(*batch,)`.

        **Returns:**

        `(state, y_t)`: the state after the event and its output `(*batch, H)`.
        """
        dt = jnp.asarray(dt_t, jnp.real(state).dtype)[None]
        Lambda_bar, gamma = self._coefficients(dt)
        x = Lambda_bar[0] * state + gamma[0] * self._project_in(u_t[None])[0]
        return x, self._project_out(x[None], u_t[None])[0]

    def jump(self, state: State, dt: Float[AnyArray, "*batch"] | float) -> State:
        """Advance the state by a span `dt` with no new input: `x ↦ Λ̄(dt) ⊙ x`.

        Equal to `step(state, zeros, dt)[0]`; used to carry a state to a query time.

        **Arguments:**

        - `state`: the state to carry, `(*batch, *state_shape)`.
        - `dt`: the span (≥ 0), a scalar or `(*batch,)`.

        **Returns:**

        The state after the span, the shape of `state`.
        """
        dt = jnp.asarray(dt, jnp.real(state).dtype)[None]
        return self._coefficients(dt)[0][0] * state

    def output(self, state: State) -> Step:
        """What the layer reads out of a state with no input: `Re(C̃ x)` (times 2 with
        conjugate symmetry), e.g. of a state carried to a query time by `jump`.

        **Arguments:**

        - `state`: `(*batch, *state_shape)`.

        **Returns:**

        The output `(*batch, H)`.
        """
        lead = state.shape[: state.ndim - len(self.state_shape)]
        zeros = jnp.zeros((*lead, self.hidden_size), jnp.real(state).dtype)
        return self._project_out(state, zeros)


_CHECK_GAPS = contextvars.ContextVar("s5ts_check_gaps", default=True)


@contextlib.contextmanager
def unchecked_gaps():
    """Within this context, layers traced do not check their gaps at run time.

    The check (`eqx.error_if`) runs a host callback, and JAX does not keep programs with
    host callbacks in its persistent compilation cache. A caller whose gaps are
    non-negative and finite by construction (the forecaster reads them from sorted,
    validated times) enters this context inside the function it jits, so that its
    compiled steps can be cached. It acts when a function is traced, not when it runs.
    """
    token = _CHECK_GAPS.set(False)
    try:
        yield
    finally:
        _CHECK_GAPS.reset(token)


def _checked_gaps(dt: Float[AnyArray, "..."]) -> Float[AnyArray, "..."]:
    # A negative gap would run the recurrence backwards (unstable); NaN would poison every
    # later state. Raised at run time, so also inside jit, grad and vmap.
    if not _CHECK_GAPS.get():
        return dt
    bad = jnp.any(dt < 0) | jnp.any(jnp.isnan(dt))
    return eqx.error_if(dt, bad, "dt must be >= 0 and not NaN (the time since the last event)")


def _check_inputs(u, dt) -> None:
    if u.ndim < 2:
        raise ValueError(
            f"u must have shape (length, hidden) or time-major (length, *batch, hidden); "
            f"got shape {u.shape}."
        )
    if dt.shape != u.shape[:-1]:
        raise ValueError(
            f"dt must have shape {u.shape[:-1]} to match u of shape {u.shape} "
            f"(one gap per event); got {dt.shape}. For batch-major data use jax.vmap."
        )
