"""Exceptions and warnings raised by the forecaster."""

from ..data import fmt_span


class NotFittedError(ValueError, AttributeError):
    """Raised when a forecaster is used before `fit`.

    Subclasses both `ValueError` and `AttributeError`, as scikit-learn's does, so code that
    catches either (including `sklearn.utils.validation.check_is_fitted` callers) works.
    """


class BaselineWarning(UserWarning):
    """Warned by `fit` when, on the validation series, the fitted model does not forecast
    better than the best simple baseline (last value, series mean or recent mean).
    `validation_scores_` holds the figures."""


class DataWarning(UserWarning):
    """Warned when part of a frame does not reach the model: rows with no observed target
    (left out; a series' forecasts start after its last observed value), merged duplicates,
    a `static_df` given to a forecaster fitted without static covariates, or
    `cross_validation` windows that start before their series' first event.

    **Arguments:**

    - `message`: the warning's text.
    - `report`: the `ConversionReport` of the frame read (default None: the static case).
    """

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report

    @classmethod
    def left_out(cls, report, what: str = "df") -> "DataWarning":
        """The warning for what reading a frame left out.

        **Arguments:**

        - `report`: the frame's `ConversionReport`.
        - `what`: how the message names the frame (default `"df"`).

        **Returns:**

        The `DataWarning`.
        """
        empty = report.n_empty_rows_dropped > 0
        after = ": forecasts start after each series' last observed value" if empty else ""
        return cls(f"reading {what} left out " + "; ".join(report.excluded()) + after, report)


class ExtrapolationWarning(UserWarning):
    """Warned when forecasts are asked for more than twice the trained `horizon_` after a
    series' last event: training never reached that far, so they are extrapolation.

    **Arguments:**

    - `message`: the warning's text.
    - `count`: how many forecasts (default 0), so that a caller predicting in parts can
      add the counts up.
    - `furthest`: the longest span after a last event, in the data's units (default None).
    - `horizon`: the trained horizon, in the data's units (default None).
    """

    def __init__(self, message: str, count: int = 0, furthest=None, horizon=None):
        super().__init__(message)
        self.count, self.furthest, self.horizon = count, furthest, horizon

    @classmethod
    def of(cls, count: int, furthest, horizon) -> "ExtrapolationWarning":
        """The warning for forecasts beyond twice the trained horizon.

        **Arguments:**

        - `count`: how many forecasts.
        - `furthest`: the longest span after their series' last event (data's units).
        - `horizon`: the trained horizon (data's units).

        **Returns:**

        The `ExtrapolationWarning`, its message naming the three.
        """
        return cls(
            f"{count} forecast(s) lie up to {fmt_span(furthest)} after their series' last "
            "event, more than twice the horizon the forecaster was trained for "
            f"(horizon_ = {fmt_span(horizon)}): they are extrapolation. Fit with a larger "
            "horizon to train for them.",
            count,
            furthest,
            horizon,
        )


class TruncatedHistoryWarning(UserWarning):
    """Warned by `predict` and `cross_validation` when a history is longer than `max_len_`
    events: the forecast uses only its latest `max_len_` events. Streaming
    (`init_state` / `update` / `predict_from_state`) never cuts a history."""
