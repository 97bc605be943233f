"""Panel / numpy columns -> a frame of the caller's type, and query frames -> raw times."""

from collections.abc import Mapping, Sequence

import numpy as np

from ._columns import as_frame, read_ids, read_times, require_columns
from ._messages import fmt_ids, fmt_rows
from ._narwhals import nw
from ._panel import Panel
from ._timekind import from_raw_expr, raw_to_numpy


def make_frame(
    columns: Mapping[str, np.ndarray],
    like: Panel,
    *,
    time_cols: Sequence[str] | None = None,
    nan_as_null: bool = True,
) -> object:
    """A native frame of the caller's type with the given columns, in order.

    The `like.id_col` column holds id values and gets the original id dtype.

    **Arguments:**

    - `columns`: `{name: (n,) array}`, the columns in order.
    - `like`: the panel whose backend, id dtype and time dtype the frame takes.
    - `time_cols`: the columns that hold raw times, rebuilt with the original time dtype
      (unit and time zone). Default: `like.time_col` and `"cutoff"`, when present.
    - `nan_as_null`: turn NaN in float columns into null (default `True`; polars
      distinguishes them, pandas does not).

    **Returns:**

    A pandas, polars, ... frame (the backend `like` came from).
    """
    if time_cols is None:
        time_cols = [c for c in (like.time_col, "cutoff") if c in columns]
    data: dict[str, np.ndarray] = {}
    for name, arr in columns.items():
        arr = np.asarray(arr)
        data[name] = raw_to_numpy(arr, like.time_kind) if name in time_cols else arr
    frame = nw.from_dict(data, backend=like.backend)
    exprs = [from_raw_expr(c, like.time_kind) for c in time_cols]
    id_dtype = like.id_dtype.to_narwhals()
    if like.id_col in data and id_dtype is not None and frame.schema[like.id_col] != id_dtype:
        exprs.append(nw.col(like.id_col).cast(id_dtype))
    if nan_as_null:
        schema = frame.schema
        floats = [c for c in data if c not in time_cols and schema[c].is_float()]
        exprs += [nw.col(c).fill_nan(None) for c in floats]
    if exprs:
        frame = frame.with_columns(exprs)
    return frame.to_native()


def from_panel(
    panel: Panel,
    *,
    tidy: bool = False,
    variable_col: str = "variable",
    value_col: str = "value",
) -> object:
    """The panel as a long frame of the caller's type.

    **Arguments:**

    - `panel`: the panel.
    - `tidy`: `False` (default) for the wide layout `id_col, time_col, <targets>`, one row
      per event, null where unobserved; `True` for the tidy layout
      `id_col, time_col, variable_col, value_col`, one row per observed value.
    - `variable_col`, `value_col`: the tidy layout's column names (default `"variable"`,
      `"value"`).

    **Returns:**

    A frame of the backend the panel came from.
    """
    ids = panel.ids[panel.series_of_row]
    if not tidy:
        cols = {panel.id_col: ids, panel.time_col: panel.times}
        cols.update({c: panel.values[:, j] for j, c in enumerate(panel.target_cols)})
        return make_frame(cols, like=panel)
    rows, var = np.nonzero(panel.observed)
    names = np.asarray(panel.target_cols, dtype=object)
    cols = {
        panel.id_col: ids[rows],
        panel.time_col: panel.times[rows],
        variable_col: names[var],
        value_col: panel.values[rows, var],
    }
    return make_frame(cols, like=panel)


def read_queries(
    query_df: object, like: Panel, *, id_col: str | None = None, time_col: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The series and raw time of each query row, in the frame's order.

    Raises on unknown ids and on times that cannot be compared with the panel's (another
    kind, or tz-aware vs naive). Other columns are ignored.

    **Arguments:**

    - `query_df`: a frame with an id and a time column, one row per query.
    - `like`: the panel the queries refer to.
    - `id_col`, `time_col`: the column names (default: the panel's).

    **Returns:**

    `(series, times)`: series index `(Q,)` int64 into `like` and raw times `(Q,)` in the
    panel's raw dtype.
    """
    id_col = like.id_col if id_col is None else id_col
    time_col = like.time_col if time_col is None else time_col
    frame = as_frame(query_df, "query_df")
    require_columns(frame, [id_col, time_col], "query_df")
    if len(frame) == 0:
        return np.zeros(0, np.int64), np.zeros(0, like.times.dtype)
    raw_ids, _ = read_ids(frame, id_col, "query_df")
    raw, kind = read_times(frame, time_col, raw_ids)
    int_for_float = kind.kind == "int" and like.time_kind.kind == "float"
    if not (kind.same_as(like.time_kind) or int_for_float):
        raise TypeError(
            f"query_df column {time_col!r} holds {_described(kind)} times but the data had "
            f"{_described(like.time_kind)} times; convert the query times to match."
        )
    index = {x: i for i, x in enumerate(like.ids.tolist())}
    where = np.array([index.get(x, -1) for x in raw_ids.uniq.tolist()], dtype=np.int64)
    series = where[raw_ids.codes]
    unknown = np.flatnonzero(series < 0)
    if len(unknown):
        raise ValueError(
            f"query_df has series {fmt_ids(raw_ids[unknown])} ({fmt_rows(unknown)}) that are not "
            "in the data; every query needs the series' history."
        )
    return series, raw.astype(like.times.dtype)


def _described(kind) -> str:
    # The time zone matters (and is said) only for datetimes.
    if kind.kind != "datetime":
        return kind.kind
    return f"datetime (time zone {kind.time_zone})" if kind.time_zone else "tz-naive datetime"
