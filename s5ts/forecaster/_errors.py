"""Exceptions raised by the forecaster."""


class NotFittedError(ValueError, AttributeError):
    """Raised when a forecaster is used before `fit`.

    Subclasses both `ValueError` and `AttributeError`, as scikit-learn's does, so code that
    catches either (including `sklearn.utils.validation.check_is_fitted` callers) works.
    """


class BaselineWarning(UserWarning):
    """Warned by `fit` when, on the validation series, the fitted model does not forecast
    better than the best simple baseline (last value, series mean or recent mean).
    `validation_scores_` holds the figures."""


class ExtrapolationWarning(UserWarning):
    """Warned when forecasts are asked for more than twice the trained `horizon_` after a
    series' last event: training never reached that far, so they are extrapolation."""


class TruncatedHistoryWarning(UserWarning):
    """Warned by `predict` and `cross_validation` when a history is longer than `max_len_`
    events: the forecast uses only its latest `max_len_` events. Streaming
    (`init_state` / `update` / `predict_from_state`) never cuts a history."""
