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
        moments = Moments(values.shape[1]).add(values).moments()
        names = data.target_cols if isinstance(data, Panel) else self.target_cols
        fitted = Scaler.from_moments(*moments, names)
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


class Moments:
    """Per-column count, mean, second central moment and magnitude of the non-NaN values
    of (N, C) blocks, merged block by block (Chan et al.'s pairwise update); one block
    gives exactly the direct computation.

    **Arguments:**

    - `n_cols`: the number of columns C.
    """

    def __init__(self, n_cols: int):
        self.n, self.mean, self.m2, self.magnitude = (np.zeros(n_cols) for _ in range(4))

    def add(self, block: np.ndarray) -> "Moments":
        """Merge in the non-NaN values of a block, a column at a time (no whole-block
        temporaries).

        **Arguments:**

        - `block`: `(N, C)` values, NaN where unobserved.

        **Returns:**

        The moments themselves, updated.
        """
        for j in range(block.shape[1]):
            col = block[:, j]
            col = col[~np.isnan(col)]
            if not len(col):
                continue
            n_b, mean_b = len(col), col.mean()
            m2_b = np.sum((col - mean_b) ** 2)
            magnitude = np.abs(col).max()
            if self.n[j] == 0:  # the first values: exactly as computed directly
                self.n[j], self.mean[j], self.m2[j], self.magnitude[j] = (
                    n_b,
                    mean_b,
                    m2_b,
                    magnitude,
                )
                continue
            n = self.n[j] + n_b
            delta = mean_b - self.mean[j]
            self.mean[j] += delta * n_b / n
            self.m2[j] += m2_b + delta**2 * self.n[j] * n_b / n
            self.n[j] = n
            self.magnitude[j] = max(self.magnitude[j], magnitude)
        return self

    def moments(self):
        """The moments so far.

        **Returns:**

        `(count, mean, std, magnitude)`, each `(C,)`: the number of values, their mean,
        population standard deviation and largest absolute value (what
        `Scaler.from_moments` takes).
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.where(self.n > 0, np.sqrt(self.m2 / self.n), 0.0)
        return self.n, self.mean, std, self.magnitude
