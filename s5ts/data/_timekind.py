"""What a column's dtype was, and how to turn its times into raw numbers and back.

Raw times are what the Panel stores: int64 nanoseconds since the epoch (UTC) for datetimes and
dates, int64 nanoseconds for durations, int64 for integer times and float64 for float times.
A `DtypeSpec` is a JSON-able record of the original narwhals dtype, so output frames rebuild
the caller's dtype exactly (unit and time zone included).
"""

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from ._messages import fmt_rows
from ._narwhals import nw


TimeKindName = Literal["datetime", "timedelta", "int", "float"]

_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_SIMPLE = (
    "Int8 Int16 Int32 Int64 UInt8 UInt16 UInt32 UInt64 Float32 Float64 String Categorical "
    "Boolean Date"
).split()


@dataclass(frozen=True)
class DtypeSpec:
    """A narwhals dtype as plain strings (name, time unit, time zone).

    **Arguments:**

    - `name`: the narwhals dtype's class name (`"Datetime"`, `"Int64"`, `"String"`, ...).
    - `time_unit`: `"ns"`, `"us"`, `"ms"` or `"s"` for datetimes and durations, else
      `None` (default).
    - `time_zone`: the time zone of a tz-aware datetime, else `None` (default).
    """

    name: str
    time_unit: str | None = None
    time_zone: str | None = None

    @classmethod
    def of(cls, dtype: object) -> "DtypeSpec":
        """Record a narwhals dtype.

        **Arguments:**

        - `dtype`: a narwhals dtype, an instance or a class.

        **Returns:**

        Its `DtypeSpec`.
        """
        name = type(dtype).__name__ if not isinstance(dtype, type) else dtype.__name__
        return cls(name, getattr(dtype, "time_unit", None), getattr(dtype, "time_zone", None))

    def to_narwhals(self) -> object | None:
        """Rebuild the narwhals dtype.

        **Returns:**

        The narwhals dtype, or `None` when it cannot be rebuilt by a cast (Object, Enum...).
        """
        if self.name == "Datetime":
            return nw.Datetime(self.time_unit, self.time_zone)
        if self.name == "Duration":
            return nw.Duration(self.time_unit)
        return getattr(nw, self.name)() if self.name in _SIMPLE else None

    def to_dict(self) -> dict:
        """The spec as plain JSON-able values.

        **Returns:**

        `{"name": ..., "time_unit": ..., "time_zone": ...}`.
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DtypeSpec":
        """Rebuild a `DtypeSpec` saved with `to_dict`.

        **Arguments:**

        - `d`: the output of `to_dict`.

        **Returns:**

        The `DtypeSpec`.
        """
        return cls(d["name"], d.get("time_unit"), d.get("time_zone"))


@dataclass(frozen=True)
class TimeKind:
    """The kind of a time column and its dtype.

    **Arguments:**

    - `kind`: `"datetime"` (dates included), `"timedelta"`, `"int"` or `"float"`.
    - `dtype`: the column's original `DtypeSpec`.
    """

    kind: TimeKindName
    dtype: DtypeSpec

    @property
    def time_zone(self) -> str | None:
        """The time zone of tz-aware datetimes, else None."""
        return self.dtype.time_zone

    @property
    def is_temporal(self) -> bool:
        """Datetimes and durations: raw values are nanoseconds, spans are timedeltas."""
        return self.kind in ("datetime", "timedelta")

    def to_dict(self) -> dict:
        """The kind as plain JSON-able values.

        **Returns:**

        `{"kind": ..., "dtype": DtypeSpec.to_dict()}`.
        """
        return {"kind": self.kind, "dtype": self.dtype.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "TimeKind":
        """Rebuild a `TimeKind` saved with `to_dict`.

        **Arguments:**

        - `d`: the output of `to_dict`.

        **Returns:**

        The `TimeKind`.
        """
        return cls(d["kind"], DtypeSpec.from_dict(d["dtype"]))

    def describe(self) -> str:
        """The kind as a user would say it.

        **Returns:**

        `"tz-aware datetime (UTC)"`, `"naive datetime"`, or the kind (`"int"`, ...).
        """
        if self.kind != "datetime":
            return self.kind
        zone = self.time_zone
        return "naive datetime" if zone is None else f"tz-aware datetime ({zone})"

    def same_as(self, other: "TimeKind") -> bool:
        """Whether raw values of the two kinds are comparable.

        **Arguments:**

        - `other`: the other kind.

        **Returns:**

        `True` for the same kind and, for datetimes, the same time zone awareness.
        """
        if self.kind != other.kind:
            return False
        return self.kind != "datetime" or (self.time_zone is None) == (other.time_zone is None)


def normalise_time(series: "nw.Series") -> "tuple[nw.Series, TimeKind]":
    """Classify a time column and return it in a form narwhals can convert.

    narwhals (2.29) reads pandas tz names with an underscore or digits (America/New_York,
    Etc/GMT+5) as dtype Unknown; converting such a column to UTC first makes it readable,
    and the original zone is kept in the TimeKind.
    """
    native_dtype = getattr(series.to_native(), "dtype", None)
    tz, unit = getattr(native_dtype, "tz", None), getattr(native_dtype, "unit", None)
    if series.dtype == nw.Unknown and tz is not None and unit is not None:
        utc = nw.from_native(series.to_native().dt.tz_convert("UTC"), series_only=True)
        return utc, TimeKind("datetime", DtypeSpec("Datetime", str(unit), str(tz)))
    return series, time_kind_of(series)


def time_kind_of(series: "nw.Series") -> TimeKind:
    """Classify a time column; raise TypeError for columns that cannot hold times."""
    dtype, name = series.dtype, series.name
    if dtype == nw.Datetime or dtype == nw.Date:
        return TimeKind("datetime", DtypeSpec.of(dtype))
    if dtype == nw.Duration:
        return TimeKind("timedelta", DtypeSpec.of(dtype))
    if dtype.is_integer():
        return TimeKind("int", DtypeSpec.of(dtype))
    if dtype.is_float():
        return TimeKind("float", DtypeSpec.of(dtype))
    raise TypeError(_bad_time_dtype_message(series, name, dtype))


def _bad_time_dtype_message(series: "nw.Series", name: str, dtype: object) -> str:
    values = series.to_numpy()
    if dtype == nw.Object or dtype == nw.Unknown:
        by_type: dict[str, list[int]] = {}
        for i, v in enumerate(values):
            by_type.setdefault(type(v).__name__, []).append(i)
        if len(by_type) > 1:
            parts = "; ".join(f"{t} at {fmt_rows(r)}" for t, r in by_type.items())
            return (
                f"time column {name!r} mixes value types ({parts}). Convert it to one type: "
                "all datetimes (pd.to_datetime / str.to_datetime) or all numbers."
            )
    if dtype == nw.String or dtype == nw.Object:
        return (
            f"time column {name!r} holds {dtype} values (e.g. {str(values[0])!r} at row 0), "
            "not times. Parse it first (pandas: pd.to_datetime; polars: str.to_datetime), "
            "or cast it to a number."
        )
    return (
        f"time column {name!r} has dtype {dtype}; expected datetimes, dates, durations, "
        "integers or floats."
    )


def to_raw(series: "nw.Series", kind: TimeKind) -> np.ndarray:
    """Raw times of a null-free time column: (N,) int64 ns, int64, or float64."""
    name = series.name
    if kind.kind == "int":
        return series.cast(nw.Int64).to_numpy().astype(np.int64, copy=False)
    if kind.kind == "float":
        return series.cast(nw.Float64).to_numpy().astype(np.float64, copy=False)
    unit = kind.dtype.time_unit or "ms"  # Date: whole days, exact in milliseconds
    if kind.kind == "datetime":
        ints = series.dt.timestamp("ms" if unit == "s" else unit).to_numpy()
        unit = "ms" if unit == "s" else unit
    else:
        # the integer behind a duration is in its own unit; narwhals' total_microseconds on
        # pandas goes through floats and is off by one for some negative values
        ints = series.cast(nw.Int64).to_numpy()
    ints = np.asarray(ints).astype(np.int64)
    factor = _NS_PER[unit]
    too_big = np.abs(ints) > np.iinfo(np.int64).max // factor
    if too_big.any():
        raise ValueError(
            f"time column {name!r} has values outside the nanosecond range (years 1678-2261) "
            f"at {fmt_rows(np.flatnonzero(too_big))}; shift or clip them."
        )
    return ints * factor


def from_raw_expr(name: str, kind: TimeKind) -> "nw.Expr":
    """An expression turning a raw column (datetime64[ns] / timedelta64[ns] / number) back."""
    col = nw.col(name)
    target = kind.dtype.to_narwhals()
    if kind.kind == "datetime" and kind.time_zone is not None:
        col = col.dt.replace_time_zone("UTC").dt.convert_time_zone(kind.time_zone)
    return col if target is None else col.cast(target)


def raw_to_numpy(raw: np.ndarray, kind: TimeKind) -> np.ndarray:
    """Raw values as a numpy array a frame library reads as the right family of dtype."""
    raw = np.asarray(raw)
    if kind.kind == "datetime":
        return raw.astype(np.int64).view("datetime64[ns]")
    if kind.kind == "timedelta":
        return raw.astype(np.int64).view("timedelta64[ns]")
    return raw.astype(np.int64 if kind.kind == "int" else np.float64)
