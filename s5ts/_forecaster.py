"""`S5Forecaster`: the scikit-learn-style shell over the pure pieces.

The class holds the hyperparameters, the sklearn contract and the fitted state; the work
lives in one module per verb: `_fit` (validation, scaling, split, the training loop in
`_loop`), `_predict` (query rows -> (series, cutoff event, tau) triples -> frames of the
caller's type), `_cross_validation` and `_persistence`. All randomness comes from
`random_state`.
"""

import inspect

import numpy as np

from ._cross_validation import cross_validation
from ._discretise import ZOH
from ._errors import NotFittedError
from ._features import SeriesFeatures, series_features
from ._fit import fit
from ._model import ForecastNet
from ._predict import predict
from ._streaming import ForecastState, init_state, predict_from_state, update
from ._validation import check_has_targets, check_magnitude, read_panel


class S5Forecaster:
    """Probabilistic forecaster for irregularly sampled multivariate series (S5 encoder).

    **Hyperparameters** (stored unchanged; validated in `fit`):

    - `context`: history span the model sees before a cutoff (a number in the data's time
      unit, or a timedelta / string such as `"24h"` for datetimes); `None` = all history.
    - `horizon`: how far ahead training targets reach (same units); `None` = half the
      median series span. Forecasts beyond it are extrapolation.
    - `hidden_size`, `state_size`, `blocks`, `n_layers`, `dropout`: the S5 stack.
    - `discretisation`: a rule object (`s5ts.ZOH()`, `s5ts.Impulse()`, ...); `None` = ZOH.
    - `learning_rate`, `weight_decay`, `batch_size`, `max_steps`: optimisation.
    - `val_size`: fraction of series held out for early stopping when no `val_df` is given;
      `eval_every` (steps) and `patience` (evaluations) control early stopping, which keeps
      the weights with the best `val_metric`: `"nll"` (the training loss, default) or
      `"mse"` (of the mean forecast, per variable then averaged; better for point accuracy
      when a few outlying targets make the NLL noisy).
    - `loss`: `"nll"` (default) fits mean and scale by the Gaussian NLL; `"mse"` fits the
      mean by squared error and the scale by the NLL around it — better point accuracy
      (MSE) where a few hard targets would otherwise be explained away by a wide scale.
    - `target_weights`: `None` (every target counts equally in scaled units) or a dict
      `{target: weight >= 0}` (unnamed targets keep 1), used by the training loss and
      the validation score, e.g. to fit the error in the data's own units or to favour
      the variables a downstream metric weighs most.
    - `duplicates`: rows with the same (id, time) in any frame read — `"raise"` (default),
      or aggregate them per variable with `"mean"` or `"last"`.
    - `random_state`: int seed for every random choice; `verbose`: show a progress bar.
    """

    def __init__(
        self,
        *,
        context=None,
        horizon=None,
        hidden_size: int = 64,
        state_size: int = 64,
        blocks: int = 4,
        n_layers: int = 2,
        dropout: float = 0.1,
        discretisation=None,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-2,
        batch_size: int = 32,
        max_steps: int = 1000,
        val_size: float = 0.2,
        eval_every: int = 50,
        patience: int = 10,
        val_metric: str = "nll",
        loss: str = "nll",
        target_weights: dict | None = None,
        duplicates: str = "raise",
        random_state: int = 0,
        verbose: bool = True,
    ):
        self.context = context
        self.horizon = horizon
        self.hidden_size = hidden_size
        self.state_size = state_size
        self.blocks = blocks
        self.n_layers = n_layers
        self.dropout = dropout
        self.discretisation = discretisation
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.val_size = val_size
        self.eval_every = eval_every
        self.patience = patience
        self.val_metric = val_metric
        self.loss = loss
        self.target_weights = target_weights
        self.duplicates = duplicates
        self.random_state = random_state
        self.verbose = verbose

    # -- scikit-learn contract --------------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "S5Forecaster":
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; valid: {self._param_names()}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __repr__(self) -> str:
        defaults = S5Forecaster().get_params()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k]]
        return f"S5Forecaster({', '.join(changed)})"

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                "This S5Forecaster instance is not fitted yet. Call 'fit' with appropriate "
                "arguments before using this estimator."
            )

    # -- fit ----------------------------------------------------------------------------------

    def fit(
        self,
        df,
        static_df=None,
        val_df=None,
        *,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_cols=None,
        callbacks=None,
        checkpoint_dir=None,
    ) -> "S5Forecaster":
        """Fit on a long frame (`id_col`, `time_col`, one column per target, NaN = unobserved).

        `static_df` holds one row per series (numeric covariates); `val_df` (optional)
        holds validation series for early stopping, else `val_size` of the series is held
        out. Returns `self`.

        `callbacks`: a callable or list of callables, each called after every training
        step with a record of `step`, `max_steps`, `loss`, `val_loss` (None except at
        validation steps) and `best_step`; returning True stops training early (the best
        weights so far are kept).

        `checkpoint_dir`: a directory for resumable training. The full training state
        (weights, optimiser state, step, random states, best weights; JSON + arrays, no
        pickle, written atomically) is saved there every `eval_every` steps and when
        training stops. If it already holds a checkpoint of the same fit (same
        hyperparameters and data) training resumes from it and ends with the same weights
        as an uninterrupted run; a finished checkpoint just restores the result. A
        checkpoint of a different fit raises ValueError.

        Faults: if a loss becomes NaN/inf, training stops, the forecaster keeps the best
        weights so far and `FloatingPointError` is raised. On Ctrl-C (KeyboardInterrupt) the
        forecaster is likewise left fitted with the best weights so far (and the checkpoint
        saved) before the KeyboardInterrupt propagates. `history_["stopped"]` says why
        training ended.
        """
        return fit(
            self,
            df,
            static_df,
            val_df,
            id_col,
            time_col,
            target_cols,
            callbacks,
            checkpoint_dir,
        )

    def _skeleton(self, key) -> ForecastNet:
        return ForecastNet(
            self.n_features_,
            len(self.target_cols_),
            hidden_size=self.hidden_size,
            state_size=self.state_size,
            blocks=self.blocks,
            n_layers=self.n_layers,
            dropout=self.dropout,
            discretisation=ZOH() if self.discretisation is None else self.discretisation,
            key=key,
        )

    def _span(self, x, what: str) -> float:
        try:
            span = self.time_scale_.to_model_span(x)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{what}: {err}") from err
        if not np.isfinite(span) or span <= 0:
            raise ValueError(f"{what} must be a positive span, got {x!r}")
        return float(span)

    def _features(self, panel) -> list[SeriesFeatures]:
        t = self.time_scale_.elapsed(panel)
        y = self.scaler_.transform(panel.values)
        k = len(self.static_mean_)
        static = np.zeros((panel.n_series, k)) if panel.static is None else panel.static
        static = (static - self.static_mean_) / self.static_std_
        return [
            series_features(t[a:b], y[a:b], static[i])
            for i, (a, b) in enumerate(zip(panel.indptr[:-1], panel.indptr[1:], strict=True))
        ]

    # -- predict --------------------------------------------------------------------------------

    def predict(
        self,
        df,
        query_df=None,
        *,
        static_df=None,
        h: int | None = None,
        freq=None,
        level=None,
        quantiles=None,
    ):
        """Forecast after the end of each series of `df` (the history).

        Either `query_df` (`id_col`, `time_col` rows at any times after each series' last
        time; one forecast per row, in its order) or `h` steps of `freq` after each series'
        last time (`freq` defaults to the median gap seen in training). Returns a frame of
        `df`'s type: `id_col`, `time_col`, per target `<target>` (mean),
        `<target>-lo-<l>` / `<target>-hi-<l>` per `level` (central intervals, percent) and
        `<target>-q<q>` per quantile `q` in (0, 1).
        """
        self._check_fitted()
        return predict(self, df, query_df, static_df, h, freq, level, quantiles)

    # -- streaming ------------------------------------------------------------------------------

    def init_state(self, df, static_df=None) -> ForecastState:
        """Encode every series of `df` (all its events) into a `ForecastState` for streaming.

        `df` and `static_df` are as in `predict`; many series are encoded at once, batched.
        Then `update` adds new events at the cost of those events only, and
        `predict_from_state` forecasts from the state. The state carries the whole history:
        unlike `predict`, which keeps only the latest `max_len_` events of a longer
        history, streaming never cuts or forgets events. So it needs a forecaster fitted
        with `context=None` (ValueError otherwise): a recurrent state cannot drop events
        older than a context window.
        """
        self._check_fitted()
        return init_state(self, df, static_df)

    def update(self, state: ForecastState, new_df) -> ForecastState:
        """A new state with the rows of `new_df` added; `state` itself is unchanged.

        `new_df` has the columns of `df` and rows for any subset of the state's series,
        one or several events each, all after the series' last time in the state. Static
        covariates come from the state. Raises ValueError for series not in the state
        (encode those with `init_state`) and for rows at or before a series' last time.
        The result equals `init_state` on the whole history, to float rounding.
        """
        self._check_fitted()
        return update(self, state, new_df)

    def predict_from_state(
        self,
        state: ForecastState,
        query_df=None,
        *,
        h: int | None = None,
        freq=None,
        level=None,
        quantiles=None,
    ):
        """Forecast after each series' last event in `state`: the frame `predict` returns.

        Arguments as in `predict` (`query_df` rows for any of the state's series, or `h`
        steps of `freq` after every series' last time). The frame has the type of the
        frame `init_state` read. Equal to `predict` on the whole history (to float
        rounding) as long as that history is within `max_len_` events, where `predict`
        starts cutting it.
        """
        self._check_fitted()
        return predict_from_state(self, state, query_df, h, freq, level, quantiles)

    # -- cross-validation ---------------------------------------------------------------------

    def cross_validation(
        self,
        df,
        *,
        n_windows: int = 1,
        step_size=None,
        h,
        static_df=None,
        level=None,
        quantiles=None,
        refit: bool = False,
    ):
        """Rolling-origin evaluation with cutoffs in time, without refitting.

        Per series the last cutoff is its last time minus `h`, and earlier ones are
        `step_size` (default `h`) apart; `h` and `step_size` are spans like `horizon`. Each
        window forecasts every event in `(cutoff, cutoff + h]` from the events up to the
        cutoff. Returns `id_col, time_col, cutoff`, the forecast columns of `predict`, then
        the truth `<target>-y` per target (NaN where not observed: score observed only).
        Windows without history or without events are skipped.
        """
        self._check_fitted()
        if refit:
            raise NotImplementedError("refit=True is not supported; fit once and pass refit=False")
        return cross_validation(self, df, n_windows, step_size, h, static_df, level, quantiles)

    # -- persistence ----------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the fitted forecaster to the directory `path` (atomically; no pickle)."""
        from ._persistence import save

        self._check_fitted()
        save(self, path)

    @classmethod
    def load(cls, path) -> "S5Forecaster":
        """Read a forecaster written by `save`; ValueError if the files are missing or bad."""
        from ._persistence import load

        return load(path)

    def _read(self, df, static_df, *, what: str = "df", statics: bool = True):
        """Read and check a frame against the fitted forecaster; `statics=False` skips the
        static covariates (a streaming update takes them from its state)."""
        check_has_targets(df, self.target_cols_)
        panel = read_panel(
            df,
            static_df if statics else None,
            self.id_col_,
            self.time_col_,
            self.target_cols_,
            self.duplicates,
        )
        check_magnitude(panel)
        kind = self.time_scale_.kind
        if not panel.time_kind.same_as(kind):
            raise TypeError(
                f"{what} has {panel.time_kind.kind} times but the forecaster was fitted on "
                f"{kind.kind} times; convert {self.time_col_!r} to match"
            )
        if statics and self.static_cols_ and panel.static_cols != self.static_cols_:
            raise ValueError(
                f"the forecaster was fitted with static covariates {list(self.static_cols_)}; "
                f"pass static_df with those columns (got {list(panel.static_cols)})"
            )
        return panel
