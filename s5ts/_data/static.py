"""Static covariates: one row per series, aligned to the panel's sorted ids."""

import numpy as np

from ._messages import fmt_ids, fmt_rows
from .columns import as_frame, read_ids, read_numeric, require_columns


def read_static(static_df: object, id_col: str, ids: np.ndarray) -> tuple[np.ndarray, tuple]:
    """(S, K) float64 static covariates in the order of `ids`, and the K column names.

    Raises when static_df has duplicate ids, ids not in the data, lacks ids of the data,
    non-numeric columns, or missing / infinite values.
    """
    frame = as_frame(static_df, "static_df")
    if len(frame) == 0:
        raise ValueError("static_df is empty (0 rows); pass None or one row per series.")
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
    known = set(ids.tolist())
    unknown = [r for x, r in row_of.items() if x not in known]
    if unknown:
        raise ValueError(
            f"static_df has series {fmt_ids(sids[unknown])} ({fmt_rows(unknown)}) that are not "
            f"in df; remove them from static_df (or check the {id_col!r} dtype matches)."
        )
    missing = [x for x in ids.tolist() if x not in row_of]
    if missing:
        raise ValueError(
            f"static_df lacks series {fmt_ids(missing)} of df; add one row for each series."
        )
    order = np.array([row_of[x] for x in ids.tolist()], dtype=np.int64)
    return values[order], tuple(str(c) for c in cols)
