"""`ForecastState`: what streaming keeps per series between updates."""

from dataclasses import dataclass

import numpy as np
from jaxtyping import Complex, Float, Int64, Shaped

from ..data import Panel


@dataclass(frozen=True, eq=False, repr=False)
class ForecastState:
    """The streaming state of S series (C targets, K statics); immutable.

    Made by `S5Forecaster.init_state`, advanced by `S5Forecaster.update` (which returns a
    new state) and read by `S5Forecaster.predict_from_state`. It carries the whole history
    of every series: nothing is forgotten or cut. Model-unit times are the forecaster's
    time scale, counted from each series' first event. It records the fingerprint of the
    model that made it: it serves that model and its saved / loaded or pickled copies only.
    """

    states: tuple[Complex[np.ndarray, "series ..."], ...]  # per block, after the last event
    first: Shaped[np.ndarray, " series"]  # raw time of the first event
    last: Shaped[np.ndarray, " series"]  # raw time of the last event
    t: Float[np.ndarray, " series"]  # model-unit time of the last event
    seen_at: Float[np.ndarray, "series targets"]  # model-unit time last observed; NaN: never
    locf: Float[np.ndarray, "series targets"]  # last observed value (scaled); 0: never
    total: Float[np.ndarray, "series targets"]  # sum of the observed values (scaled)
    count: Int64[np.ndarray, "series targets"]  # number of observed values
    # The recent mean's numerator and denominator at the last event (`recent_sums`).
    recent_total: Float[np.ndarray, "series targets"]
    recent_weight: Float[np.ndarray, "series targets"]
    static: Float[np.ndarray, "series statics"]  # normalised static covariates
    n_events: Int64[np.ndarray, " series"]  # events encoded so far
    # A Panel without events: the ids (sorted), column names, time and id dtypes and frame
    # backend, to read queries and build frames exactly as `predict` does.
    template: Panel
    fingerprint: str  # the model's (`FittedForecaster.fingerprint`): states are per model

    def __post_init__(self):
        arrays = (self.first, self.last, self.t, self.seen_at, self.locf, self.total, self.count)
        arrays += (self.recent_total, self.recent_weight)
        for a in (*self.states, *arrays, self.static, self.n_events, self.template.ids):
            a.flags.writeable = False

    @property
    def ids(self) -> np.ndarray:
        """(S,) the series ids, sorted."""
        return self.template.ids

    @property
    def n_series(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (
            f"ForecastState(n_series={self.n_series}, n_events={int(self.n_events.sum())}, "
            f"targets={list(self.template.target_cols)})"
        )
