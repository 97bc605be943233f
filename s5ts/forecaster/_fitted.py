"""What `fit` learns, in one frozen object: the estimator holds it, save/load write it.

A `FittedForecaster` is everything a fitted `S5Forecaster` knows beyond its
hyperparameters: the frame's column names, the time scale and scalers fitted on the
training data, the static normalisation, the spans in model units, the network, and
what happened in training. Adding a fitted attribute means adding a field here: save
and load write every field by its declared type (`to_config` / `from_config`, through
`_json`), and the estimator shows each field `name` as the attribute `name_`
(scikit-learn's convention for fitted state).
"""

import contextlib
import dataclasses
import hashlib
import json
import re
import typing
import weakref
from dataclasses import dataclass, field
from typing import NamedTuple

import equinox as eqx
import jax
import numpy as np

from ..batching import Series
from ..data import (
    MISSING_COLUMNS_HINT,
    ConversionReport,
    Panel,
    Scaler,
    TimeScale,
    as_frame,
    check_has_targets,
    read_panel,
    with_time_kind,
)
from ..network import N_BASELINES, S5, Ensemble, SharedClock
from . import _json
from ._errors import DataWarning
from ._user_warnings import warn


class Runtime(NamedTuple):
    """Hyperparameters that act after `fit` too, read from the estimator at every call (so
    `set_params` changes them without refitting)."""

    batch_size: int  # series (or query groups) per network call
    duplicates: str  # how duplicate (id, time) rows of a frame are read


@dataclass(frozen=True)
class Architecture:
    """The sizes and choices the network is built from (a skeleton needs nothing else)."""

    n_features: int  # event features (the shared-clock network's input)
    n_targets: int
    hidden_size: int
    state_size: int
    blocks: int
    n_layers: int
    dropout: float
    discretisation: object  # an s5ts.ssm.AbstractDiscretisation
    n_static: int = 0
    ssm: object = S5()  # an s5ts.network.AbstractSSM
    network: object = SharedClock()  # an s5ts.network.AbstractNetwork
    members: int = 1  # networks kept (one per fold); more than one: an Ensemble of them
    # Simple forecasts the blend weighs: 4 since the recent mean; files written before it
    # lack the field and load with 3 (`_persistence.UNNAMED_IN_OLDER_ARCHITECTURES`).
    baselines: int = N_BASELINES

    def build(self, key, blend_prior=None):
        """A freshly initialised network (or, for loading, the skeleton to fill);
        `blend_prior` (C, baselines) as in `s5ts.network.ForecastNet`. With `members > 1`, an
        `Ensemble` of that many, each from its own key."""
        if self.members == 1:
            return self.network.build(self, key, blend_prior)
        keys = jax.random.split(key, self.members)
        return Ensemble([self.network.build(self, k, blend_prior) for k in keys])


@dataclass(frozen=True, eq=False)
class FittedForecaster:
    """The fitted state of an `S5Forecaster` (read it as the estimator's `<field>_`)."""

    id_col: str
    time_col: str
    target_cols: tuple[str, ...]
    static_cols: tuple[str, ...]
    time_scale: TimeScale
    scaler: Scaler
    static_mean: np.ndarray  # (K,)
    static_std: np.ndarray  # (K,)
    context: float | None  # history span seen before a cutoff, model units (None: all)
    horizon: float  # span of the training targets after a cutoff, model units
    max_len: int  # most history events the network sees at once
    # (2, C) range of the scaled values as inputs: the training values' 0.2 % and 99.8 %
    # quantiles, widened by a tenth of their span (outside: entry errors, clipped).
    input_bounds: np.ndarray
    architecture: Architecture
    model: object  # the network (None only while loading, before the weights are read)
    history: dict = field(default_factory=dict)  # losses, best step, why training stopped
    report: ConversionReport | None = None  # what reading the training frame did
    # Validation MSE of the model and of the simple forecasts (`model`, `locf`,
    # `series_mean`, `train_mean`, `recent_mean`; scaled units); empty without validation
    # series.
    validation_scores: dict = field(default_factory=dict)
    # (C, G) quantiles of the validation series' standardised residuals at
    # `s5ts._training.CALIBRATION_PROBS`: intervals read their quantiles here instead of
    # the Gaussian's, so that they cover what they say; (0, G) without validation series.
    residual_quantiles: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def n_features(self) -> int:
        return self.architecture.n_features

    # -- reading frames against what was fitted -------------------------------------------

    def read(
        self, df, static_df, duplicates: str, *, what: str = "df", statics: bool = True
    ) -> Panel:
        """A validated Panel of `df` for this forecaster; `statics=False` skips the static
        covariates (a streaming update takes them from its state). Warns (`DataWarning`)
        when rows are left out and errors name `what`."""
        check_has_targets(df, self.target_cols, what)
        static_df = self._static_frame(static_df) if statics else None
        with self.reworded(what):
            panel, report = read_panel(
                df,
                static_df,
                id_col=self.id_col,
                time_col=self.time_col,
                target_cols=self.target_cols,
                duplicates=duplicates,
            )
        if report.excluded():
            warn(DataWarning.left_out(report, what))
        return with_time_kind(panel, self.time_scale.kind, what)

    @contextlib.contextmanager
    def reworded(self, what: str = "df"):
        """Re-raise a frame reader's ValueError / TypeError in this forecaster's words: the
        frame named `what` instead of `df`, and a missing column fixed by renaming it to
        the fitted one (fit's `id_col=` / `time_col=` are not arguments here)."""
        try:
            yield
        except (ValueError, TypeError) as err:
            text = str(err) if what == "df" else re.sub(r"\bdf\b", what, str(err))
            text = text.replace(
                MISSING_COLUMNS_HINT,
                f"Rename them to the columns the forecaster was fitted with (id column "
                f"{self.id_col!r}, time column {self.time_col!r}).",
            )
            if text == str(err):
                raise
            raise type(err)(text) from None

    def _static_frame(self, static_df):
        """`static_df`'s fitted covariate columns by name (others are not used), or None."""
        if static_df is None:
            if self.static_cols:
                raise ValueError(
                    f"the forecaster was fitted with static covariates "
                    f"{list(self.static_cols)}; pass static_df with those columns"
                )
            return None
        if not self.static_cols:
            warn(
                "static_df is not used: the forecaster was fitted without static covariates "
                "(fit with static_df to use them)",
                DataWarning,
            )
            return None
        frame = as_frame(static_df, "static_df")
        missing = [c for c in self.static_cols if c not in frame.columns]
        if missing:
            raise ValueError(
                f"static_df lacks the static covariate(s) {missing} the forecaster was fitted "
                f"with ({list(self.static_cols)}); its columns are {list(frame.columns)}"
            )
        if self.id_col not in frame.columns:
            return static_df  # reading it names the missing id column
        return frame.select(self.id_col, *self.static_cols).to_native()

    def features(self, panel: Panel) -> list[Series]:
        """Every series' event features, in model units."""
        scalings = (self.time_scale, self.scaler, self.static_mean, self.static_std)
        return scaled_series(panel, *scalings, self.input_bounds)

    def statics(self, panel: Panel) -> np.ndarray:
        """(S, K) normalised static covariates of the panel's series (zeros without any)."""
        return normalised_statics(panel, self.static_mean, self.static_std)

    def raw_span(self, model_span: float):
        """A span in model units, in the data's own units (hours, a Timedelta, ...)."""
        return self.time_scale.to_raw_span_of_model(model_span)

    def replace(self, **changes) -> "FittedForecaster":
        return dataclasses.replace(self, **changes)

    def fingerprint(self) -> str:
        """SHA-256 of what decides the forecasts: the config (less the training record)
        and the network's weights. Equal for a saved and loaded (or pickled) copy; computed
        once per object (the object is frozen: the cache is beside it)."""
        cached = _FINGERPRINTS.get(self)
        if cached is None:
            config = self.to_config()
            for name in ("history", "report", "validation_scores"):
                config.pop(name)
            h = hashlib.sha256(json.dumps(config, sort_keys=True, allow_nan=False).encode())
            for leaf in jax.tree.leaves(eqx.filter(self.model, eqx.is_array)):
                a = np.asarray(leaf)
                h.update(f"{a.dtype.str}{a.shape}".encode())
                h.update(np.ascontiguousarray(a).tobytes())
            cached = _FINGERPRINTS[self] = h.hexdigest()
        return cached

    # -- files --------------------------------------------------------------------------

    def training_summary(self) -> str:
        """How training went, in words: steps, best step and why it stopped (per fold
        when the fit trained one network per fold)."""
        h = self.history
        if "best_step" not in h:
            return "no training history"
        losses = h.get("train_loss")  # not kept by save: a loaded model has the rest
        if not isinstance(h["best_step"], list):
            steps = "" if losses is None else f"{len(losses)} steps, "
            return f"{steps}best step {h['best_step']} ({h['stopped']})"
        steps = "" if losses is None else "/".join(str(len(t)) for t in losses) + " steps, "
        best = "/".join(str(b) for b in h["best_step"])
        stopped = "/".join(sorted(set(h["stopped"])))
        return f"{len(h['best_step'])} networks, one per fold: {steps}best steps {best} ({stopped})"

    def to_config(self) -> dict:
        """Every field but the network's weights, as JSON (the weights go to their own
        file). The training history keeps its summary, not the per-step losses."""
        kinds = typing.get_type_hints(FittedForecaster)
        out = {}
        for f in dataclasses.fields(self):
            if f.name == "model":
                continue
            value = getattr(self, f.name)
            if f.name == "history":
                value = {k: v for k, v in value.items() if k in ("best_step", "stopped")}
            out[f.name] = _json.encode(value, kinds[f.name])
        return out

    @classmethod
    def from_config(cls, config: dict) -> "FittedForecaster":
        """The fitted state of `to_config`'s JSON, without weights (`model` is None)."""
        kinds = typing.get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            if f.name == "model":
                continue
            if f.name in config:
                values[f.name] = _json.decode(config[f.name], kinds[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise KeyError(f.name)
        return cls(model=None, **values)


# FittedForecaster -> fingerprint; entries go with their objects.
_FINGERPRINTS: "weakref.WeakKeyDictionary[FittedForecaster, str]" = weakref.WeakKeyDictionary()


def panel_features(
    panel: Panel,
    time_scale: TimeScale,
    scaler: Scaler,
    static: np.ndarray,
    bounds: np.ndarray | None,
):
    """Each series of a panel as times and scaled values (float32), with normalised
    statics (S, K) and input bounds; their features are built per batch."""
    t = time_scale.elapsed(panel)
    y = scaled_values(panel.values, scaler)
    static = np.asarray(static, np.float32)
    return [
        Series(t[a:b], y[a:b], static[i], bounds)
        for i, (a, b) in enumerate(zip(panel.indptr[:-1], panel.indptr[1:], strict=True))
    ]


def normalised_statics(panel: Panel, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(S, K) static covariates of the panel's series, normalised by the training
    `mean` and `std` (K,) (zeros without any)."""
    static = np.zeros((panel.n_series, len(mean))) if panel.static is None else panel.static
    return (static - mean) / std


def scaled_series(panel: Panel, time_scale, scaler, static_mean, static_std, bounds):
    """`panel_features` with the statics normalised: every series as a fit scales it."""
    statics = normalised_statics(panel, static_mean, static_std)
    return panel_features(panel, time_scale, scaler, statics, bounds)


def scaled_values(values: np.ndarray, scaler: Scaler, rows: int = 1 << 16) -> np.ndarray:
    """(N, C) float32 standardised values, built a block of rows at a time so that no
    float64 copy of the whole panel is ever held."""
    out = np.empty(values.shape, np.float32)
    for a in range(0, len(values), rows):
        out[a : a + rows] = scaler.transform(values[a : a + rows])
    return out


def input_bounds(values: np.ndarray, scaler: Scaler, quantile: float = 0.002) -> np.ndarray:
    """(2, C) input bounds, in scaled units, from training values (N, C) in data units
    (NaN: unobserved); unbounded for a variable never observed. One column at a time (no
    copy of the whole array)."""
    q = np.full((2, values.shape[1]), np.nan)
    for j in range(values.shape[1]):
        col = values[:, j]
        col = (col[~np.isnan(col)] - scaler.mean[j]) / scaler.std[j]
        if len(col):
            q[:, j] = np.quantile(col, [quantile, 1 - quantile])
    return padded_bounds(q)


def padded_bounds(q: np.ndarray) -> np.ndarray:
    """(2, C) input bounds from the (2, C) low and high quantiles of the scaled training
    values (NaN: never observed, unbounded): the range widened by 10 % each side."""
    pad = 0.1 * (q[1] - q[0])
    seen = ~np.isnan(q[0])
    return np.stack([np.where(seen, q[0] - pad, -np.inf), np.where(seen, q[1] + pad, np.inf)])


def to_model_span(time_scale: TimeScale, x, what: str) -> float:
    try:
        span = time_scale.to_model_span(x)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{what}: {err}") from err
    if not np.isfinite(span) or span <= 0:
        raise ValueError(f"{what} must be a positive span, got {x!r}")
    return float(span)
