"""Static covariates: one row per series, aligned to the panel's sorted ids."""

import numpy as np

from ._columns import as_frame, read_ids, read_numeric, require_columns
from ._messages import fmt_ids, fmt_rows


def read_static(
    static_df: object, id_col: str, ids: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...], int]:
    """Static covariates aligned to the data's series.

    The contract, the same wherever a `static_df` is read: exactly one row per series of
    the data, numeric and complete. Rows of series that are not in the data are allowed
    (one static table may serve many frames) and are not used; their number is returned
    so that the conversion report can say so.

    **Arguments:**

    - `static_df`: a frame with `id_col` and one column per covariate.
    - `id_col`: the id column's name.
    - `ids`: (S,) the data's series ids, sorted.

    **Returns:**

    `(static, names, n_unused)`: (S, K) float64 covariates in the order of `ids`, the K
    column names, and the number of `static_df` rows whose series is not in the data.
    """
    frame = as_frame(static_df, "static_df")
    if len(frame) == 0:
        raise ValueError(
            f"static_df is empty (0 rows): it lacks series {fmt_ids(ids)} of df (column "
            f"{id_col!r}); pass one row per series (or None if fitted without statics)."
        )
    require_columns(frame, [id_col], "static_df")
    cols = [c for c in frame.columns if c != id_col]
    if not cols:
        raise ValueError(f"static_df has no covariate columns besides {id_col!r}.")
    sids, _ = read_ids(frame, id_col, "static_df")
    values = read_numeric(frame, cols, sids, role="static")

    nan = np.isnan(values)
    if nan.any():
        rows, which = np.nonzero(nan)
        names = [cols[j] for j in np.unique(which)]
        raise ValueError(
            f"static_df column(s) {names} have missing values for series {fmt_ids(sids[rows])} "
            f"at {fmt_rows(rows)}; static covariates must be complete: impute them first."
        )

    _, first = np.unique(sids.codes, return_index=True)
    dup = np.setdiff1d(np.arange(len(sids)), first)
    if len(dup):
        raise ValueError(
            f"static_df has more than one row for series {fmt_ids(sids[dup])} "
            f"({fmt_rows(dup)}); keep one row per {id_col!r}."
        )
    row_of = {x: int(r) for x, r in zip(sids.uniq.tolist(), first, strict=True)}
    missing = [x for x in ids.tolist() if x not in row_of]
    if missing:
        raise ValueError(
            f"static_df lacks series {fmt_ids(missing)} of df (column {id_col!r}); add one "
            f"row for each series, or check that the {id_col!r} dtypes match "
            f"(df: {ids.dtype}, static_df: {sids.uniq.dtype})."
        )
    order = np.array([row_of[x] for x in ids.tolist()], dtype=np.int64)
    return values[order], tuple(str(c) for c in cols), len(row_of) - len(ids)
