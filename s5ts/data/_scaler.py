"""Per-variable standardisation that ignores unobserved (NaN) values."""

import numpy as np

from ._panel import Panel


_CONSTANT = 1e-12  # std below this fraction of the variable's magnitude counts as constant


class Scaler:
    """x -> (x - mean) / std per target variable, fitted on training data only.

    Variables that are constant (or never observed) get std 1 so they map to 0 rather than
    to inf; never-observed variables get mean 0. JSON-able via to_dict / from_dict.
    """

    def __init__(self, mean=None, std=None, target_cols: tuple[str, ...] = ()):
        """**Arguments:**

        - `mean`: `(C,)` per-variable means, or `None` (default) for an unfitted scaler.
        - `std`: `(C,)` per-variable standard deviations, or `None`.
        - `target_cols`: the variables' names (default `()`).
        """
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)
        self.target_cols = tuple(target_cols)

    def fit(self, data: Panel | np.ndarray) -> "Scaler":
        """Fit the per-variable mean and std on observed values only.

        **Arguments:**

        - `data`: a Panel (its `values`; its `target_cols` are kept too) or an `(N, C)`
          array with NaN where unobserved.

        **Returns:**

        The scaler itself, fitted.
        """
        values = data.values if isinstance(data, Panel) else np.asarray(data, dtype=np.float64)
        if values.ndim != 2:
            raise ValueError(f"expected (N, C) values, got shape {values.shape}")
        n_cols = values.shape[1]
        count, mean, std, magnitude = (np.zeros(n_cols) for _ in range(4))
        for j in range(n_cols):  # a column at a time: no whole-array temporaries
            col = values[:, j]
            col = col[~np.isnan(col)]
            count[j] = len(col)
            if len(col):
                mean[j] = col.mean()
                std[j] = np.sqrt(np.mean((col - mean[j]) ** 2))
                magnitude[j] = np.abs(col).max()
        names = data.target_cols if isinstance(data, Panel) else self.target_cols
        fitted = Scaler.from_moments(count, mean, std, magnitude, names)
        self.mean, self.std, self.target_cols = fitted.mean, fitted.std, fitted.target_cols
        return self

    @classmethod
    def from_moments(cls, count, mean, std, magnitude, target_cols=()) -> "Scaler":
        """A scaler from per-variable moments of the observed values (e.g. merged over
        chunks of data), with `fit`'s rules for constant and unobserved variables.

        **Arguments:**

        - `count`, `mean`, `std`, `magnitude`: `(C,)` number of observed values, their
          mean, population standard deviation and largest absolute value.
        - `target_cols`: the variables' names (default `()`).

        **Returns:**

        The fitted scaler.
        """
        count, mean, std, magnitude = (
            np.asarray(a, np.float64) for a in (count, mean, std, magnitude)
        )
        constant = (count == 0) | (std <= _CONSTANT * magnitude) | (std == 0)
        return cls(np.where(count > 0, mean, 0.0), np.where(constant, 1.0, std), target_cols)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Standardise; NaN stays NaN.

        **Arguments:**

        - `values`: `(..., C)` in data units.

        **Returns:**

        `(..., C)` float64 standardised values.
        """
        self._check()
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Undo `transform`.

        **Arguments:**

        - `values`: `(..., C)` standardised values.

        **Returns:**

        `(..., C)` float64 in data units.
        """
        self._check()
        return np.asarray(values, dtype=np.float64) * self.std + self.mean

    def inverse_scale(self, spread: np.ndarray) -> np.ndarray:
        """Rescale spreads to data units (multiply by std, no shift).

        **Arguments:**

        - `spread`: `(..., C)` standard deviations or interval half-widths, standardised.

        **Returns:**

        `(..., C)` float64 in data units.
        """
        self._check()
        return np.asarray(spread, dtype=np.float64) * self.std

    def to_dict(self) -> dict:
        """The fitted scaler as plain JSON-able values.

        **Returns:**

        `{"mean": [...], "std": [...], "target_cols": [...]}`.
        """
        self._check()
        return {
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "target_cols": list(self.target_cols),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Scaler":
        """Rebuild a scaler saved with `to_dict`.

        **Arguments:**

        - `d`: the output of `to_dict`.

        **Returns:**

        The fitted `Scaler`.
        """
        return cls(d["mean"], d["std"], tuple(d.get("target_cols", ())))

    def _check(self) -> None:
        if self.mean is None or self.std is None:
            raise ValueError("this Scaler is not fitted yet; call fit(...) first")

    def __repr__(self) -> str:
        n = None if self.mean is None else len(self.mean)
        return f"Scaler(n_variables={n})"
