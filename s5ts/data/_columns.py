"""Reading validated columns out of a narwhals frame into numpy, naming culprits on failure.

Row positions in messages are 0-based positions in the frame the caller passed.
"""

from collections.abc import Sequence

import numpy as np

from ._messages import fmt_ids, fmt_list, fmt_rows
from ._narwhals import nw
from ._timekind import DtypeSpec, TimeKind, normalise_time, to_raw


def as_frame(df: object, what: str = "df") -> "nw.DataFrame":
    """Wrap a frame narwhals supports as an eager narwhals frame.

    Eager frames (pandas with numpy, nullable or Arrow-backed dtypes; polars; a
    `pyarrow.Table`; ...) are wrapped as they are, and outputs are frames of the same
    library (pandas outputs have numpy dtypes, NaN for missing). Lazy frames (a polars
    `LazyFrame`, ...) are collected first, into narwhals' eager frame for their backend:
    a polars `LazyFrame` gives eager polars outputs. Anything else is a `TypeError`.

    **Arguments:**

    - `df`: a frame narwhals supports, eager or lazy.
    - `what`: how the error message names `df` (default `"df"`).

    **Returns:**

    An eager `narwhals.DataFrame` around `df` (or around its collected result).
    """
    try:
        return nw.from_native(df, eager_only=True)
    except TypeError:
        pass
    try:
        lazy = nw.from_native(df)  # narwhals refuses series here: frames only
    except TypeError as err:
        raise TypeError(
            f"{what} must be a pandas or polars DataFrame (or another frame narwhals "
            f"supports, such as a pyarrow Table or a polars LazyFrame), got {type(df).__name__}."
        ) from err
    return lazy.collect()


def column_names(df: object, what: str = "df") -> list[str]:
    """The column names of a frame, without collecting a lazy one.

    **Arguments:**

    - `df`: a frame `as_frame` takes.
    - `what`: how an error names `df` (default `"df"`).

    **Returns:**

    The column names, in order.
    """
    try:
        return list(nw.from_native(df).columns)
    except TypeError:
        return list(as_frame(df, what).columns)  # raises the TypeError that names `what`


def backend_name(frame: "nw.DataFrame") -> str:
    """The narwhals backend name used to build output frames of the caller's type."""
    return str(frame.implementation)


# The fix `require_columns` suggests, worded for fit (a fitted forecaster rewords it).
MISSING_COLUMNS_HINT = "Rename them or pass id_col=/time_col=/target_cols= to match your frame."


def require_columns(frame: "nw.DataFrame", cols: Sequence[str], what: str = "df") -> None:
    """ValueError listing the missing and the available columns."""
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} is missing column(s) {missing}; available columns: {list(frame.columns)}. "
            + MISSING_COLUMNS_HINT
        )


class RowIds:
    """Per-row ids as (sorted unique ids, row codes); indexing gives the ids of some rows.

    Messages index this with a few rows; the full (n,) id array is never materialised.
    """

    def __init__(self, uniq: np.ndarray, codes: np.ndarray):
        self.uniq, self.codes = uniq, codes

    def __getitem__(self, rows: object) -> np.ndarray:
        return self.uniq[self.codes[rows]]

    def __len__(self) -> int:
        return len(self.codes)


def read_ids(frame: "nw.DataFrame", id_col: str, what: str = "df") -> tuple[RowIds, DtypeSpec]:
    """Ids of every row, sorted-unique encoded; ValueError naming the rows of null ids."""
    series = frame[id_col]
    null = series.is_null().to_numpy()
    if null.any():
        raise ValueError(
            f"id column {id_col!r} of {what} has null ids at {fmt_rows(np.flatnonzero(null))}; "
            "fill or drop them."
        )
    return RowIds(*encode_column(series, id_col)), DtypeSpec.of(series.dtype)


def encode_column(series: "nw.Series", name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values (U,) and each row's code (n,) int64 of a null-free column."""
    if series.dtype.is_numeric():
        uniq, codes = np.unique(series.to_numpy(), return_inverse=True)
        return uniq, codes.astype(np.int64).reshape(-1)
    distinct = series.unique().to_numpy().tolist()
    kinds = sorted({type(x).__name__ for x in distinct})
    if len(kinds) > 1:
        raise TypeError(
            f"column {name!r} mixes value types {kinds}; cast it to one type (e.g. strings)."
        )
    uniq = np.empty(len(distinct), dtype=object)
    uniq[:] = sorted(distinct)
    # a hash join in the frame library: converting millions of strings to numpy costs more
    lut = nw.from_dict(
        {"__key": uniq, "__code": np.arange(len(uniq), dtype=np.int64)},
        backend=series.implementation,
    ).with_columns(nw.col("__key").cast(series.dtype))
    # both keys in the series' own dtype: pyarrow builds the table's strings as large_string
    rows = series.cast(series.dtype).alias("__key").to_frame().with_row_index("__row")
    joined = rows.join(lut, on="__key", how="left")
    codes = np.empty(len(series), dtype=np.int64)
    codes[joined["__row"].to_numpy()] = joined["__code"].to_numpy()
    return uniq, codes


def read_times(frame: "nw.DataFrame", time_col: str, ids: RowIds) -> tuple[np.ndarray, TimeKind]:
    """(n,) raw times and their kind; errors name the series and rows with missing times."""
    series, kind = normalise_time(frame[time_col])
    bad = series.is_null().to_numpy()
    if kind.kind == "float":
        raw = series.cast(nw.Float64).to_numpy()
        bad = bad | ~np.isfinite(raw)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"time column {time_col!r} has null/NaN/NaT/inf values in series "
            f"{fmt_ids(ids[rows])} at {fmt_rows(rows)}; every row needs a time: fill or drop "
            "those rows."
        )
    return to_raw(series, kind), kind


def read_numeric(
    frame: "nw.DataFrame", cols: Sequence[str], ids: RowIds, role: str = "target"
) -> np.ndarray:
    """(n, k) float64 with NaN for null; TypeError for non-numeric, ValueError for +-inf."""
    schema = frame.schema
    bad = [c for c in cols if not schema[c].is_numeric()]
    if bad:
        kinds = {c: str(schema[c]) for c in bad}
        hint = {
            "target": "or leave them out of target_cols",
            "static": "or drop them from static_df (encode categories as numbers first)",
        }.get(role, "first")
        raise TypeError(
            f"{role} column(s) {bad} are not numeric (dtypes {kinds}); cast them to a float "
            f"dtype {hint}."
        )
    # One column at a time into the result: reading a wide frame costs one copy of its
    # values, not several.
    values = np.empty((len(frame), len(cols)), dtype=np.float64)
    for j, c in enumerate(cols):
        values[:, j] = _floats(frame.select(nw.col(c).cast(nw.Float64)))[:, 0]
        inf = np.isinf(values[:, j])
        if inf.any():
            rows = np.flatnonzero(inf)
            raise ValueError(
                f"{role} column(s) {[c]} hold +-inf in series {fmt_ids(ids[rows])} at "
                f"{fmt_rows(rows)}; replace them with NaN (not observed) or a finite value."
            )
    return values


def _floats(frame: "nw.DataFrame") -> np.ndarray:
    """(n, k) float64 of float columns, NaN for null."""
    values = frame.select(nw.all().fill_null(float("nan"))).to_numpy()
    if values.dtype != object:
        return values.astype(np.float64, copy=False)
    # pandas' nullable and Arrow-backed dtypes turn NaN back into pd.NA, which numpy
    # cannot read as a float: fill with a number, then mark the nulls
    null = frame.select(nw.all().is_null()).to_numpy().astype(bool)
    values = frame.select(nw.all().fill_null(0.0)).to_numpy().astype(np.float64)
    values[null] = np.nan
    return values


def check_unique_names(cols: Sequence[str], what: str) -> None:
    dup = sorted({c for c in cols if list(cols).count(c) > 1})
    if dup:
        raise ValueError(f"{what} lists {fmt_list(dup)} more than once")
