"""Raw times -> float64 "model units", so that results do not depend on the user's time unit.

The model unit is the lower median of the positive within-series gaps of the panel it is
fitted on: one actual gap, so it scales exactly with the data. Raw differences are taken in
the raw dtype (exact int64 nanoseconds for datetimes/durations, exact int64 for integer
times) and then divided once in float64, which IEEE rounds correctly. So if the same panel
is written in seconds, minutes or hours and each version is exact in its unit (integers, or
floats that are exact binary fractions, e.g. quarter hours), the scaled arrays are
bit-identical. Floats that are themselves rounded (seconds / 60) cannot be exact in every
unit: they agree to a few ulps (relative ~1e-15).

When no series has two events the unit falls back to the span of all times, then to one
second (temporal data) or 1 (numbers).
"""

import datetime as _dt
import re
from fractions import Fraction

import numpy as np

from ._panel import Panel
from ._timekind import TimeKind


_SECOND = 10**9
_NS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "ms": 10**6,
    "s": _SECOND,
    "m": 60 * _SECOND,
    "min": 60 * _SECOND,
    "h": 3600 * _SECOND,
    "hr": 3600 * _SECOND,
    "d": 86400 * _SECOND,
    "w": 7 * 86400 * _SECOND,
}
# Other spellings, any case, singular or plural: "2 hours", "1 Day", "90 mins", "30 S".
_ALIASES = {
    "nanosecond": "ns",
    "microsecond": "us",
    "millisecond": "ms",
    "sec": "s",
    "second": "s",
    "minute": "min",
    "hour": "h",
    "day": "d",
    "week": "w",
}
# Pandas' month and month start: "1M" must not become a minute, nor "1MS" a millisecond.
_PANDAS_MONTHS = ("M", "MS")
_TOKEN = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Zµ]+)")


def _unit_ns(unit: str, text: str) -> int:
    if unit in _NS:
        return _NS[unit]
    lower = unit.lower()
    for key in (lower, lower.removesuffix("s")):
        key = _ALIASES.get(key, key)
        if key in _NS and unit not in _PANDAS_MONTHS:
            return _NS[key]
    raise ValueError(
        f"unknown unit {unit!r} in time span {text!r}; use ns, us, ms, s, min, h, d or w "
        "(or words such as '2 hours'); calendar units such as months have no fixed length "
        "('M' is pandas' month, not a minute)"
    )


def parse_span_ns(x: object) -> int:
    """A time span as integer nanoseconds.

    **Arguments:**

    - `x`: a `datetime.timedelta` (pandas `Timedelta` included, ns exact), a numpy
      `timedelta64`, or a string of number-unit pairs such as `"24h"`, `"1d12h"`,
      `"90min"`, `"2 hours"` (units ns, us/µs, ms, s, m/min, h/hr, d, w, or their
      words in any case); a bare unit (`"h"`) is one of it. Calendar units such as
      months have no fixed length and are refused, pandas' `"M"` (month) included.

    **Returns:**

    The span in nanoseconds, an `int`.
    """
    if hasattr(x, "value") and isinstance(x, _dt.timedelta):  # pandas Timedelta: ns exact
        return int(x.value)
    if isinstance(x, _dt.timedelta):
        return (x.days * 86400 + x.seconds) * 10**9 + x.microseconds * 10**3
    if isinstance(x, np.timedelta64):
        return int(x.astype("timedelta64[ns]").astype(np.int64))
    if isinstance(x, str):
        text = x.strip()
        if text.isalpha():  # a bare unit, as pandas' freq="h": one of it
            text = "1" + text
        tokens = _TOKEN.findall(text)
        if not tokens or _TOKEN.sub("", text).strip():
            raise ValueError(f"cannot read the time span {x!r}; write it like '24h' or '1d12h'")
        total = Fraction(0)
        for number, unit in tokens:
            total += Fraction(number) * _unit_ns(unit, x)
        return round(total)
    raise TypeError(f"expected a time span (timedelta or string like '24h'), got {x!r}")


class TimeScale:
    """Converts raw times to float64 model units. Fit on a Panel; JSON-able via to_dict."""

    def __init__(self, unit: float | int | None = None, kind: TimeKind | None = None):
        """**Arguments:**

        - `unit`: raw units per model unit (ns for datetimes/durations), or `None` (default)
          for an unfitted scale.
        - `kind`: the `TimeKind` of the raw times, or `None`.
        """
        self.unit = unit  # raw units per model unit (ns for datetimes/durations)
        self.kind = kind

    def fit(self, panel: Panel) -> "TimeScale":
        """Set the model unit from a panel.

        The unit is the lower median of the positive within-series gaps; when no series has
        two events, the span of all times, then one second (temporal data) or 1 (numbers).

        **Arguments:**

        - `panel`: the (training) panel.

        **Returns:**

        The time scale itself, fitted.
        """
        span = (panel.times.min(), panel.times.max()) if len(panel.times) else None
        fitted = TimeScale.from_gaps(TimeScale.within_gaps(panel), span, panel.time_kind)
        self.unit, self.kind = fitted.unit, fitted.kind
        return self

    @staticmethod
    def within_gaps(panel: Panel) -> np.ndarray:
        """The positive gaps between consecutive events of the same series: what `fit`
        takes the unit from (a chunked fit gathers them chunk by chunk).

        **Arguments:**

        - `panel`: the panel.

        **Returns:**

        The gaps in raw units and the raw times' dtype.
        """
        diffs = np.diff(panel.times)
        within = np.ones(len(diffs), dtype=bool)
        starts = panel.indptr[1:-1]
        within[starts[starts > 0] - 1] = False
        return diffs[within & (diffs > 0)]

    @classmethod
    def from_gaps(cls, gaps: np.ndarray, span: tuple | None, kind: TimeKind) -> "TimeScale":
        """The scale `fit` sets from a panel's `within_gaps`.

        **Arguments:**

        - `gaps`: the panel's `within_gaps` (or a uniform sample of them).
        - `span`: `(earliest, latest)` raw time of the panel, None if it has no rows.
        - `kind`: the raw times' `TimeKind`.

        **Returns:**

        A fitted `TimeScale`.
        """
        if len(gaps):
            k = (len(gaps) - 1) // 2
            unit = np.partition(gaps, k)[k]
        elif span is not None and span[1] > span[0]:
            unit = span[1] - span[0]
        else:
            unit = 10**9 if kind.is_temporal else 1
        return cls(float(unit) if kind.kind == "float" else int(unit), kind)

    # -- raw -> model units ------------------------------------------------------------------

    def offsets(self, raw: np.ndarray, anchor: np.ndarray | np.number | float | int) -> np.ndarray:
        """`(raw - anchor)` in model units.

        **Arguments:**

        - `raw`: raw times.
        - `anchor`: raw times to measure from; broadcasts against `raw`.

        **Returns:**

        float64 offsets, the broadcast shape.
        """
        self._check()
        diff = np.subtract(np.asarray(raw), np.asarray(anchor, dtype=np.asarray(raw).dtype))
        return diff.astype(np.float64) / np.float64(self.unit)

    def elapsed(self, panel: Panel) -> np.ndarray:
        """The time since each series' first event, in model units.

        **Arguments:**

        - `panel`: the panel.

        **Returns:**

        `(N,)` float64, one per row.
        """
        first = np.repeat(panel.times[panel.indptr[:-1]], panel.lengths)
        return self.offsets(panel.times, first)

    def gaps(self, panel: Panel) -> np.ndarray:
        """The time since the previous event of the same series, in model units.

        **Arguments:**

        - `panel`: the panel.

        **Returns:**

        `(N,)` float64, one per row; 0 at each series' first event.
        """
        prev = np.empty_like(panel.times)
        prev[1:] = panel.times[:-1]
        starts = panel.indptr[:-1][panel.lengths > 0]
        prev[starts] = panel.times[starts]
        return self.offsets(panel.times, prev)

    def to_raw_span(self, x: object) -> int | float:
        """A user span in raw units.

        **Arguments:**

        - `x`: for datetime / timedelta times, a timedelta or string such as `"24h"` (a
          number is a `TypeError`); otherwise a number in the data's unit (a timedelta or
          string is a `TypeError`).

        **Returns:**

        `int` nanoseconds for temporal data; otherwise `x` as is.
        """
        self._check()
        if self.kind.is_temporal:
            numeric = isinstance(x, int | float | np.number) and not isinstance(x, np.timedelta64)
            if numeric:
                raise TypeError(
                    f"the data has {self.kind.kind} times: give spans as a timedelta or a "
                    f"string like '24h', not the number {x!r}"
                )
            return parse_span_ns(x)
        if isinstance(x, str | _dt.timedelta | np.timedelta64):
            raise TypeError(
                f"the data has {self.kind.kind} times: give spans as numbers in the data's "
                f"unit, not {x!r}"
            )
        return x

    def to_model_span(self, x: object) -> float | np.ndarray:
        """A user span in model units.

        **Arguments:**

        - `x`: a number in the data's unit, or a timedelta / string for temporal data (as in
          `to_raw_span`).

        **Returns:**

        The span in model units: a `float`, or a float64 array for an array of numbers.
        """
        raw = self.to_raw_span(x)
        out = np.asarray(raw, dtype=np.float64) / np.float64(self.unit)
        return float(out) if out.ndim == 0 else out

    # -- model units -> raw ------------------------------------------------------------------

    def to_raw_span_of_model(self, span: float) -> "float | np.timedelta64":
        """A span in model units in the data's own terms.

        **Arguments:**

        - `span`: the span in model units.

        **Returns:**

        A `numpy.timedelta64` for datetime / timedelta times (rounded to the nanosecond, in
        the coarsest unit that holds it exactly: `24 h` prints as hours, not as 8.64e13
        ns), else a float in the data's time unit.
        """
        self._check()
        raw = float(span) * float(self.unit)
        if self.kind.is_temporal:
            return _coarsest(int(round(raw)))
        return raw

    def raw_at(
        self, anchor: np.ndarray | np.number | float | int, offsets: np.ndarray
    ) -> np.ndarray:
        """Raw times `offsets` model units after `anchor`.

        **Arguments:**

        - `anchor`: raw times; broadcasts against `offsets`.
        - `offsets`: offsets in model units.

        **Returns:**

        Raw times: float64 for float times, else int64 (the step rounded to an integer).
        """
        self._check()
        step = np.asarray(offsets, dtype=np.float64) * np.float64(self.unit)
        if self.kind.kind == "float":
            return np.asarray(anchor, dtype=np.float64) + step
        return np.asarray(anchor, dtype=np.int64) + np.rint(step).astype(np.int64)

    # -- persistence -------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The fitted scale as plain JSON-able values.

        **Returns:**

        `{"unit": ..., "kind": TimeKind.to_dict()}`.
        """
        self._check()
        return {"unit": self.unit, "kind": self.kind.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "TimeScale":
        """Rebuild a time scale saved with `to_dict`.

        **Arguments:**

        - `d`: the output of `to_dict`.

        **Returns:**

        The fitted `TimeScale`.
        """
        kind = TimeKind.from_dict(d["kind"])
        unit = float(d["unit"]) if kind.kind == "float" else int(d["unit"])
        return cls(unit, kind)

    def _check(self) -> None:
        if self.unit is None or self.kind is None:
            raise ValueError("this TimeScale is not fitted yet; call fit(panel) first")

    def __repr__(self) -> str:
        return (
            f"TimeScale(unit={self.unit!r}, kind={None if self.kind is None else self.kind.kind!r})"
        )


def _coarsest(ns: int) -> np.timedelta64:
    # numpy compares and adds timedeltas across units exactly, so only the repr changes
    for unit in ("D", "h", "m", "s", "ms", "us"):  # numpy's codes, coarsest first
        size = _NS[unit.lower()]
        if ns % size == 0:
            return np.timedelta64(ns // size, unit)
    return np.timedelta64(ns, "ns")
