"""`S5Forecaster`: the scikit-learn-style shell over the pure pieces.

The class holds the hyperparameters and, once fitted, one `FittedForecaster` (what `fit`
learned). The work lives in one module per verb: `_fit`, `_predict`,
`_cross_validation`, `_online` (streaming) and `_persistence`. All randomness comes from
`random_state`.

scikit-learn is not a dependency: the estimator follows its contract (`get_params` /
`set_params`, `__sklearn_is_fitted__`, `__sklearn_tags__` built only when scikit-learn
asks) without importing it, so `clone`, `check_is_fitted`, `is_regressor` and `Pipeline`
work where it is installed.
"""

import inspect
from typing import no_type_check

from ..network import S5, AbstractNetwork, AbstractSSM, SharedClock
from ..ssm import ZOH, AbstractDiscretisation
from ..training import AbstractLoss, GaussianNLL
from ._cross_validation import cross_validation
from ._errors import NotFittedError
from ._fit import fit
from ._fitted import FittedForecaster, Runtime
from ._forecast_state import ForecastState
from ._json import decode_option, encode_option
from ._online import init_state, predict_from_state, update
from ._persistence import UNNAMED_IN_OLDER_FILES, from_payload, load, save, to_payload
from ._predict import predict


_IN_DATA_UNITS = ("horizon", "context")  # fitted spans shown as `<name>_` in the data's units


class S5Forecaster:
    """Probabilistic forecaster for irregularly sampled multivariate series (SSM encoder).

    Hyperparameters are stored unchanged and validated in `fit`. What `fit` learns is the
    `fitted_` object; each of its fields is also readable as `<field>_` (`target_cols_`,
    `time_scale_`, `horizon_`, `history_`, `model_`, ...). The spans `horizon_` and
    `context_` are in the data's own units (a number in its time unit, or a
    `numpy.timedelta64` for datetimes), like the hyperparameters; `fitted_.horizon` and
    `fitted_.context` hold them in the model's internal units. `history_` holds the
    training losses, the best step and why training stopped; when the fit kept more
    than one network (`folds`), each of its entries is a list with one item per network.

    A fitted forecaster pickles (`pickle`, `joblib`) through the format of `save`: JSON
    and raw weight bytes, checked on unpickling like `load` checks files.

    **Arguments:**

    - `context`: history span the model sees before a cutoff (a number in the data's time
      unit, or a timedelta / string such as `"24h"` for datetimes); `None` = all history.
    - `horizon`: how far ahead training targets reach (same units); `None` = half the
      median series span, and at least the median gap between events. Forecasts beyond
      it are extrapolation.
    - `hidden_size`: width of the S5 stack.
    - `state_size`: real state size of each S5 layer.
    - `blocks`: HiPPO-N blocks per S5 layer (`state_size` must be a multiple of twice it).
    - `n_layers`: S5 blocks in the stack.
    - `dropout`: dropout rate inside the stack (one mask per series).
    - `discretisation`: the rule object that discretises each event's gap (`s5ts.ZOH()`,
      `s5ts.Impulse()`, `s5ts.Bilinear()`).
    - `ssm`: the SSM layer of the stack: `s5ts.S5()`, `s5ts.S4D(init=...)` or
      `s5ts.DSS(variant=...)`.
    - `network`: `s5ts.SharedClock()` (every event of a series on one clock) or
      `s5ts.VariableClocks()` (each variable on its own clock, the variables attending
      to each other at the query time).
    - `learning_rate`: peak learning rate (warm-up, then cosine decay).
    - `weight_decay`: AdamW weight decay (not on the SSM spectrum and input matrix).
    - `ema_decay`: decay of the exponential moving average of the weights, which is
      what validation scores and `fit` keeps (steadier than the last step's weights on
      small or noisy data). The decay at a step is the smaller of this value and
      `(1 + step) / (10 + step)`, so early on the average spans about the last ninth of
      the steps (0.99 is reached at step 890). `0` keeps the raw weights.
    - `batch_size`: series per training step.
    - `max_steps`: most training steps.
    - `val_size`: fraction of series held out for early stopping when no `val_df` is given.
    - `folds`: how many networks `fit` trains when it holds out series itself. With
      `k > 1` the series are split into `k` folds and one network is trained per fold,
      validated (early stopping, the baseline comparison, the interval calibration) on
      the fold it did not train on; the forecast is the mixture of the `k` networks (a
      cross-fitted ensemble: every series trains `k - 1` of them, and `val_size` is
      not used). `"auto"` (the default): `round(1 / val_size)` folds, at most 5 (5 with the
      default `val_size`), when `fit` is
      given fewer than 1,000 series, where one network's variance is a large part of
      its error and each fit takes seconds, and one network otherwise, or when `val_df`,
      `chunk_size` or `checkpoint_dir` is given. `1`: one network.
    - `eval_every`: steps between validations.
    - `patience`: validations without improvement before training stops early.
    - `val_metric`: what selects the kept weights on the held-out series:
      `s5ts.GaussianNLL()` (alias `"nll"`) or `s5ts.SquaredError()` (alias `"mse"`,
      per variable then averaged; better for point accuracy when a few outlying targets
      make the NLL noisy).
    - `loss`: what training minimises: `s5ts.GaussianNLL()` (alias `"nll"`) fits mean and
      scale by the Gaussian NLL; `s5ts.SquaredError()` (alias `"mse"`) fits the mean by
      squared error and the scale by the NLL around it.
    - `target_weights`: `None` (every target counts equally in scaled units) or a dict
      `{target: weight >= 0}` (unnamed targets keep 1), used by the training loss and the
      validation score.
    - `duplicates`: rows with the same (id, time) in any frame read: `"raise"`, or
      aggregate them per variable with `"mean"` or `"last"`.
    - `random_state`: int seed for every random choice.
    - `verbose`: show a progress bar (redrawn every 30 s, not ten times a second, when
      stderr is a log file or a pipe rather than a terminal).
    """

    # The public methods check their arguments themselves (`_checks`), with messages in
    # the words of the API; runtime type checkers (jaxtyping in the tests) leave them be.
    @no_type_check
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
        discretisation: AbstractDiscretisation = ZOH(),
        ssm: AbstractSSM = S5(),
        network: AbstractNetwork = SharedClock(),
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-2,
        ema_decay: float = 0.99,
        batch_size: int = 32,
        max_steps: int = 1000,
        val_size: float = 0.2,
        folds: int | str = "auto",
        eval_every: int = 50,
        patience: int = 10,
        val_metric: AbstractLoss | str = GaussianNLL(),
        loss: AbstractLoss | str = GaussianNLL(),
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
        self.ssm = ssm
        self.network = network
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.val_size = val_size
        self.folds = folds
        self.eval_every = eval_every
        self.patience = patience
        self.val_metric = val_metric
        self.loss = loss
        self.target_weights = target_weights
        self.duplicates = duplicates
        self.random_state = random_state
        self.verbose = verbose

    # -- scikit-learn contract --------------------------------------------------------------

    _estimator_type = "regressor"  # what scikit-learn < 1.6 reads instead of tags

    def __sklearn_tags__(self):
        """scikit-learn's tags (scikit-learn >= 1.6; imported only when it asks): a
        regressor that needs fit, takes frames with NaN and strings, and no `y`."""
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=False, multi_output=True, single_output=False),
            regressor_tags=RegressorTags(),
            input_tags=InputTags(allow_nan=True, string=True),
            requires_fit=True,
        )

    @classmethod
    def _get_param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """The hyperparameters, as passed."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params) -> "S5Forecaster":
        """Set hyperparameters by name; returns `self`."""
        unknown = sorted(set(params) - set(self._get_param_names()))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; valid: {self._get_param_names()}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return "fitted_" in self.__dict__

    def __getattr__(self, name: str):
        # Fitted state reads as `<field>_` (only called when normal lookup fails).
        fitted = self.__dict__.get("fitted_")
        if (
            fitted is not None
            and name.endswith("_")
            and not name.startswith("_")
            and hasattr(fitted, name[:-1])
        ):
            value = getattr(fitted, name[:-1])
            if name[:-1] in _IN_DATA_UNITS and value is not None:
                return fitted.raw_span(value)
            return value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> dict:
        # Pickle what `save` writes (JSON + weight bytes), never the JAX objects; the
        # per-step losses ride along, as save keeps only their summary.
        state = {"hyperparameters": {k: encode_option(v) for k, v in self.get_params().items()}}
        if self.__sklearn_is_fitted__():
            state["fitted"] = to_payload(self.get_params(), self.fitted_)
            state["history"] = _plain_history(self.fitted_.history)
        return state

    def __setstate__(self, state: dict) -> None:
        params = {k: decode_option(v) for k, v in state["hyperparameters"].items()}
        self.__dict__.update(self._defaults() | UNNAMED_IN_OLDER_FILES | params)
        if state.get("fitted") is not None:
            _, fitted = from_payload(state["fitted"], self._defaults())
            self.fitted_ = fitted.replace(history=fitted.history | state.get("history", {}))

    @classmethod
    def _defaults(cls) -> dict:
        return {
            p.name: p.default
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self"
        }

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults[k])]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _fitted(self) -> FittedForecaster:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        return self.fitted_

    def _runtime(self) -> Runtime:
        return Runtime(self.batch_size, self.duplicates)

    # -- fit ----------------------------------------------------------------------------------

    @no_type_check
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
        chunk_size: int | None = None,
    ) -> "S5Forecaster":
        """Fit on a long frame (`id_col`, `time_col`, one column per target, NaN = unobserved).

        **Arguments:**

        - `df`: the training series.
        - `static_df`: one row per series (numeric covariates), or None. In a
          scikit-learn `Pipeline`, whose `fit(X, y)` hands `y` to the last step's second
          argument, that is this one: `pipe.fit(df)` or `pipe.fit(df, static_df)`.
        - `val_df`: validation series for early stopping (one network is trained); else
          the fit holds out series itself, `val_size` of them or one fold per network
          (`folds`).
        - `id_col`, `time_col`, `target_cols`: the column names (`target_cols=None`: every
          other column).
        - `callbacks`: a callable or list of callables, each called after every training
          step with a record of `step`, `max_steps`, `loss`, `val_loss` (None except at
          validation steps), `best_step` and `fold` / `folds` (which network of how many
          is training); returning True stops training early (the best weights so far,
          and the networks trained before, are kept).
        - `checkpoint_dir`: a directory for resumable training. The full training state
          (weights, optimiser state, step, random states, best weights; JSON + arrays, no
          pickle, written atomically) is saved there every `eval_every` steps and when
          training stops. If it already holds a checkpoint of the same fit (same
          hyperparameters and data) training resumes from it and ends with the same
          weights as an uninterrupted run; a finished checkpoint just restores the result.
          A resumable fit trains one network (`folds="auto"` then means 1).
          A checkpoint of a different fit raises ValueError.
        - `chunk_size`: for training data larger than memory: read `df` (a polars
          `LazyFrame` such as `pl.scan_parquet(path)`, or the path of a Parquet file or
          folder) this many series at a time. A first pass fits the scalings over every
          series; training then draws batches from one chunk at a time, the chunks in a
          new random order each round. Memory holds two chunks at most, the
          validation series (`val_size` of the series held out by id, at most
          `chunk_size` of them; or `val_df`) and a few numbers per series. Needs the default
          `SharedClock` network; not combined with `checkpoint_dir`. `None` (default):
          the data are read into memory.

        **Returns:**

        `self`.

        Faults: if a loss becomes NaN/inf, training stops, the forecaster keeps the best
        weights so far and `FloatingPointError` is raised. On Ctrl-C (KeyboardInterrupt)
        the forecaster is likewise left fitted with the best weights so far (and the
        checkpoint saved) before the KeyboardInterrupt propagates. `history_["stopped"]`
        says why training ended. If reading `df` excluded anything (rows with no
        observed target, merged duplicates, ...) a warning says what; `report_` has the
        details.
        """
        fitted, error = fit(
            self.get_params(),
            df,
            static_df,
            val_df,
            id_col,
            time_col,
            target_cols,
            callbacks,
            checkpoint_dir,
            chunk_size,
        )
        self.fitted_ = fitted
        if error is not None:
            raise error
        return self

    # -- predict --------------------------------------------------------------------------------

    @no_type_check
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

        **Arguments:**

        - `df`: the history, a long frame like the training frame.
        - `query_df`: `id_col`, `time_col` rows at any times after each series' last time;
          one forecast per row, in its order.
        - `static_df`: the series' static covariates, if fitted with them.
        - `h`, `freq`: instead of `query_df`, `h` steps of `freq` after each series' last
          time (`freq` defaults to the median gap seen in training).
        - `level`: central interval levels in percent, e.g. `[80, 95]` (a fraction such
          as 0.8 is an error that suggests 80).
        - `quantiles`: quantiles in (0, 1).

        **Returns:**

        A frame of `df`'s type: `id_col`, `time_col`, per target `<target>` (the mean),
        `<target>-lo-<l>` / `<target>-hi-<l>` per level and `<target>-q<q>` per quantile.

        Warnings: the network sees at most `max_len_` events (the longest training series,
        rounded up to a power of two); a longer history is cut to its latest `max_len_`
        events, with a `TruncatedHistoryWarning` (streaming, `init_state` / `update` /
        `predict_from_state`, never cuts). Forecasts more than twice `horizon_` after a
        series' last event come with an `ExtrapolationWarning`.
        """
        fitted = self._fitted()
        return predict(fitted, self._runtime(), df, query_df, static_df, h, freq, level, quantiles)

    # -- streaming ------------------------------------------------------------------------------

    @no_type_check
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
        return init_state(self._fitted(), self._runtime(), df, static_df, self.context)

    @no_type_check
    def update(self, state: ForecastState, new_df) -> ForecastState:
        """A new state with the rows of `new_df` added; `state` itself is unchanged.

        `new_df` has the columns of `df` and rows for any subset of the state's series,
        one or several events each, all after the series' last time in the state. Static
        covariates come from the state. Raises ValueError for series not in the state
        (encode those with `init_state`) and for rows at or before a series' last time.
        The result equals `init_state` on the whole history, to float rounding.
        """
        return update(self._fitted(), self._runtime(), state, new_df)

    @no_type_check
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
        starts cutting it. The state must come from this model or a saved / loaded or
        pickled copy of it (ValueError otherwise); forecasts more than twice `horizon_`
        ahead warn as in `predict`.
        """
        fitted = self._fitted()
        return predict_from_state(fitted, state, query_df, h, freq, level, quantiles)

    # -- cross-validation ---------------------------------------------------------------------

    @no_type_check
    def cross_validation(
        self,
        df,
        *,
        h: int,
        freq=None,
        n_windows: int = 1,
        step_size: int | None = None,
        static_df=None,
        level=None,
        quantiles=None,
        refit: bool = False,
        long: bool = False,
    ):
        """Rolling-origin evaluation with cutoffs in time, per series.

        `h` counts steps of `freq`, as in `predict` and in neuralforecast: a window spans
        `h * freq` (for a span such as 24 h, pass `h=24, freq=1.0` or `h=1, freq="24h"`).
        Per series the last cutoff is its last time minus that span, and earlier ones are
        `step_size` steps of `freq` apart. Each window forecasts every event of the series
        in `(cutoff, cutoff + h * freq]` from the events up to the cutoff. Windows without
        events are skipped, and so are windows without history (a cutoff before the
        series' first event), with a `DataWarning`.

        **Arguments:**

        - `df`: the series, a long frame like the training frame.
        - `h`: steps of `freq` per window (int).
        - `freq`: one step, a span in the data's units (default: the median gap seen in
          training, as in `predict`).
        - `n_windows`: windows per series.
        - `step_size`: steps of `freq` between successive cutoffs (default `h`).
        - `static_df`: the series' static covariates, if fitted with them.
        - `level`, `quantiles`: as in `predict`.
        - `refit`: `False` (default) forecasts every window with this fitted model (which
          has seen the windows if it was fitted on `df`). `True` fits, per window, a fresh
          forecaster with these hyperparameters on every series cut at its own cutoff of
          that window, and forecasts the window with it: honest out-of-sample scores at
          the cost of `n_windows` fits, each about as long as the original `fit`. This
          forecaster (which supplies the column names) stays as it is.
        - `long`: `False` (default) for one row per scored event; `True` for one row per
          observed (series, time, variable), the layout of utilsforecast's `evaluate`.

        **Returns:**

        With `long=False`, a frame of `df`'s type: `id_col, time_col, cutoff`, the forecast
        columns of `predict`, then the truth `<target>-y` per target (NaN where not
        observed: score observed only). With `long=True`: `id_col, time_col, cutoff,
        variable, y`, then the forecast named after the model: `S5Forecaster` (the mean),
        `S5Forecaster-lo-<l>` / `-hi-<l>` per level, `S5Forecaster-q<q>` per quantile.
        """
        fitted = self._fitted()
        refit_on = None
        if refit:

            def refit_on(frame):
                twin = type(self)(**self.get_params())
                twin.fit(
                    frame,
                    static_df,
                    id_col=fitted.id_col,
                    time_col=fitted.time_col,
                    target_cols=list(fitted.target_cols),
                )
                return twin.fitted_

        return cross_validation(
            fitted,
            self._runtime(),
            df,
            n_windows,
            step_size,
            h,
            freq,
            static_df,
            level,
            quantiles,
            refit=refit_on,
            long_name=type(self).__name__ if long else None,
        )

    # -- persistence ----------------------------------------------------------------------------

    @no_type_check
    def save(self, path) -> None:
        """Write the fitted forecaster to the directory `path` (atomically; no pickle):
        `config.json` (hyperparameters, fitted state, the SHA-256 of the weights and of
        itself) and `model.eqx` (the weights)."""
        save(path, self.get_params(), self._fitted())

    @classmethod
    def load(cls, path) -> "S5Forecaster":
        """Read a forecaster written by `save`; ValueError if the files are missing or bad.

        Every file is checked against the SHA-256 digests `save` recorded before anything
        is used: a changed byte is a ValueError naming the file. Nothing is unpickled.
        """
        params, fitted = load(path, cls._defaults())
        est = cls(**params)
        est.fitted_ = fitted
        return est


def _plain_history(history: dict) -> dict:
    # Losses as Python numbers: a pickle of them holds no numpy or JAX object.
    out = dict(history)
    folds = isinstance(out.get("best_step"), list)  # one entry per fold

    def each(value, convert):
        return [convert(v) for v in value] if folds else convert(value)

    if "train_loss" in out:
        out["train_loss"] = each(out["train_loss"], lambda ls: [float(x) for x in ls])
    if "val_loss" in out:
        out["val_loss"] = each(out["val_loss"], lambda ls: [(int(s), float(v)) for s, v in ls])
    return out


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays and the like: compare by identity
        return a is b
