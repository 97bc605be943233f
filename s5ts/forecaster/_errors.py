"""Exceptions raised by the forecaster."""


class NotFittedError(ValueError, AttributeError):
    """Raised when a forecaster is used before `fit`.

    Subclasses both `ValueError` and `AttributeError`, as scikit-learn's does, so code that
    catches either (including `sklearn.utils.validation.check_is_fitted` callers) works.
    """


class BaselineWarning(UserWarning):
    """Warned by `fit` when, on the validation series, the fitted model does not forecast
    better than the best simple baseline (last value or series mean). `validation_scores_`
    holds the figures."""
