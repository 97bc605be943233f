"""Options that choose the network and its SSM layers: small objects, not strings.

`ssm=`: `S5()` (one MIMO layer per block), `S4D(init=...)` or `DSS(variant=...)` (one
SISO system per channel). `network=`: `SharedClock()` (every event of a series on one
clock) or `VariableClocks(heads=...)` (each variable on its own clock, attention across
the variables at the query). Each option knows how to build its part and, for the
networks, how its batches are laid out.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import numpy as np

from ..batching import EVENTS, VARIABLE_TOKENS, Layout, next_pow2
from ..ssm import (
    AbstractDiscretisation,
    AbstractDSSVariant,
    AbstractS4DInit,
    AbstractSSMLayer,
    DSSExp,
    DSSLayer,
    S4DLayer,
    S4DLegS,
    S5Layer,
)
from ._shared_clock import ForecastNet
from ._variable_clocks import VariableClockNet


class AbstractSSM(eqx.Module):
    """Which SSM layer the network's stack is made of."""

    @abc.abstractmethod
    def make(
        self,
        hidden_size: int,
        state_size: int,
        blocks: int,
        discretisation: AbstractDiscretisation,
        key: jax.Array,
    ) -> AbstractSSMLayer:
        """One SSM layer.

        **Arguments:**

        - `hidden_size`: the layer's width H.
        - `state_size`: the real state size P.
        - `blocks`: HiPPO-N blocks (S5 only).
        - `discretisation`: the rule for each event's gap.
        - `key`: a `jax.random` key.

        **Returns:**

        The layer.
        """


class S5(AbstractSSM):
    """S5: one MIMO diagonal SSM per block, HiPPO-N in `blocks` blocks (the default)."""

    def make(self, hidden_size, state_size, blocks, discretisation, key):
        return S5Layer(
            hidden_size, state_size, blocks=blocks, discretisation=discretisation, key=key
        )


class S4D(AbstractSSM):
    """S4D: a SISO diagonal SSM per channel with `state_size / 2` modes each.

    **Arguments:**

    - `init`: the initial spectrum, `s5ts.ssm.S4DLegS()` (default), `S4DInv()`,
      `S4DLin()` or `S4DReal()`.
    """

    init: AbstractS4DInit = S4DLegS()

    def make(self, hidden_size, state_size, blocks, discretisation, key):
        return S4DLayer(
            hidden_size, state_size, init=self.init, discretisation=discretisation, key=key
        )


class DSS(AbstractSSM):
    """DSS: one diagonal spectrum of `state_size / 2` modes shared by every channel.

    **Arguments:**

    - `variant`: `s5ts.ssm.DSSExp()` (default) or `s5ts.ssm.DSSSoftmax(length)`.
    """

    variant: AbstractDSSVariant = DSSExp()

    def make(self, hidden_size, state_size, blocks, discretisation, key):
        # DSS carries no conjugate pairs: half the real state size in complex modes keeps
        # the state the same size as S5's and S4D's.
        return DSSLayer(
            hidden_size,
            max(state_size // 2, 1),
            variant=self.variant,
            discretisation=discretisation,
            key=key,
        )


class AbstractNetwork(eqx.Module):
    """Which forecasting network `fit` builds, and how its batches are laid out."""

    layout: ClassVar[Layout]

    @abc.abstractmethod
    def build(self, architecture, key: jax.Array, blend_prior=None) -> eqx.Module:
        """A freshly initialised network.

        **Arguments:**

        - `architecture`: an `s5ts.forecaster.Architecture` (sizes and choices).
        - `key`: a `jax.random` key.
        - `blend_prior`: initial weights of the simple forecasts (last value, running
          mean, training mean, recent mean: the first `architecture.baselines` of them),
          `(baselines,)` or per target `(C, baselines)`; None starts at the last value.

        **Returns:**

        The network.
        """

    # Whether `predict` cuts histories longer than the trained `max_len` (and warns).
    cuts_history: ClassVar[bool]

    @abc.abstractmethod
    def max_len(self, lengths: np.ndarray) -> int:
        """The padded history length of training batches.

        **Arguments:**

        - `lengths`: each training series' history length (events for the shared
          clock, the most observations of one variable for variable clocks).

        **Returns:**

        The padded length, a power of two.
        """

    @abc.abstractmethod
    def predict_length(self, most: int, max_len: int) -> int:
        """The padded length of prediction batches.

        **Arguments:**

        - `most`: the longest history among the batches' samples.
        - `max_len`: the trained padded length.

        **Returns:**

        The padded length.
        """


class SharedClock(AbstractNetwork):
    """One SSM encoder over every event of a series (an event: whatever was measured at
    one time), then one virtual query event per forecast time."""

    layout: ClassVar[Layout] = EVENTS
    cuts_history: ClassVar[bool] = True

    def build(self, architecture, key, blend_prior=None):
        a = architecture
        return ForecastNet(
            a.n_features,
            a.n_targets,
            make_ssm=_maker(a),
            hidden_size=a.hidden_size,
            n_layers=a.n_layers,
            dropout=a.dropout,
            n_baselines=a.baselines,
            blend_prior=blend_prior,
            key=key,
        )

    def max_len(self, lengths):
        return next_pow2(int(np.max(lengths)), 16)

    def predict_length(self, most, max_len):
        return max_len  # one shape for every call; longer histories keep their latest


class VariableClocks(AbstractNetwork):
    """Each variable on its own clock: one SSM stack, shared by the variables, runs over
    each variable's own observations with its own gaps; at a query time every variable's
    state is stepped to that time and the variables attend to each other.

    **Arguments:**

    - `heads`: attention heads across the variables (default 4; must divide
      `hidden_size`).
    """

    heads: int = eqx.field(static=True, default=4)
    layout: ClassVar[Layout] = VARIABLE_TOKENS
    cuts_history: ClassVar[bool] = False

    def build(self, architecture, key, blend_prior=None):
        a = architecture
        return VariableClockNet(
            a.n_targets,
            a.n_static,
            make_ssm=_maker(a),
            hidden_size=a.hidden_size,
            n_layers=a.n_layers,
            dropout=a.dropout,
            heads=self.heads,
            n_baselines=a.baselines,
            blend_prior=blend_prior,
            key=key,
        )

    def max_len(self, lengths):
        # Training keeps each variable's latest 32 observations at most (p90 of a
        # PhysioNet variable over 24 h is 27; its running mean summarises the older
        # ones); prediction and streaming keep them all.
        return min(next_pow2(int(np.max(lengths)), 8), 32)

    def predict_length(self, most, max_len):
        # Never cut: streaming keeps every observation, and so does predict.
        return max(max_len, next_pow2(most, 8))


def _maker(a):
    def make_ssm(key):
        return a.ssm.make(a.hidden_size, a.state_size, a.blocks, a.discretisation, key)

    return make_ssm
