"""Reading a user's frame for the forecaster: conversion plus the checks only a model needs.

`to_panel` validates the frame itself (columns, times, duplicates, statics); `read_panel`
adds what matters before values are standardised and fed to a network: every target the
model knows is present, and no value is too large to scale.
"""

from dataclasses import replace

import numpy as np

from ._columns import as_frame
from ._convert import to_panel
from ._messages import fmt_ids
from ._panel import ConversionReport, Panel
from ._timekind import TimeKind


# Beyond this magnitude, squares (variances) of a column overflow float64 on large panels;
# such values are nearly always sentinels or unit errors, so they are refused, not scaled.
MAX_ABS_VALUE = 1e100


def read_panel(
    df: object,
    static_df: object | None,
    *,
    id_col: str,
    time_col: str,
    target_cols,
    duplicates: str = "raise",
) -> tuple[Panel, ConversionReport]:
    """A validated Panel of `df` (with `static_df`'s covariates) and its conversion report.

    **Arguments:**

    - `df`: the long frame (`id_col`, `time_col`, one column per target).
    - `static_df`: one row per series of `df` (rows of other series are not used), or None.
    - `id_col`, `time_col`, `target_cols`, `duplicates`: as in `to_panel`.

    **Returns:**

    `(panel, report)`: the `Panel` and its `ConversionReport`.
    """
    panel, report = to_panel(
        df,
        id_col=id_col,
        time_col=time_col,
        target_cols=target_cols,
        duplicates=duplicates,
        static_df=static_df,
    )
    check_magnitude(panel)
    return panel, report


def check_has_targets(df: object, target_cols, what: str = "df") -> None:
    """Check that `df` holds every target column.

    The ValueError lists the fitted targets and `df`'s columns.

    **Arguments:**

    - `df`: the frame to check.
    - `target_cols`: the target columns the forecaster was fitted on.
    - `what`: how error messages name `df` (default `"df"`).
    """
    frame = as_frame(df, what)
    missing = [c for c in target_cols if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} lacks target column(s) {missing} that the forecaster was fitted on "
            f"(fitted targets: {list(target_cols)}; {what} columns: {list(frame.columns)})"
        )


def check_magnitude(panel: Panel) -> None:
    """Refuse target or static values beyond `MAX_ABS_VALUE` (1e100).

    Such values are nearly always sentinels or unit errors, and their squares (variances)
    can overflow float64 on large panels; the ValueError names the columns and series.

    **Arguments:**

    - `panel`: the panel to check.
    """
    # Column by column: a whole-array `abs` would cost two copies of the values.
    too_big = [j for j in range(panel.values.shape[1]) if _beyond(panel.values[:, j])]
    if too_big:
        big = np.zeros(panel.values.shape, bool)
        big[:, too_big] = np.abs(np.nan_to_num(panel.values[:, too_big])) > MAX_ABS_VALUE
        rows, cols = np.nonzero(big)
        names = [panel.target_cols[j] for j in np.unique(cols)]
        raise ValueError(
            f"target column(s) {names} hold values beyond +-{MAX_ABS_VALUE:g} in series "
            f"{fmt_ids(panel.ids[panel.series_of_row[rows]])}; these are too large to "
            "standardise safely: replace sentinels with NaN or change the unit"
        )
    if panel.static is not None and (np.abs(panel.static) > MAX_ABS_VALUE).any():
        rows, cols = np.nonzero(np.abs(panel.static) > MAX_ABS_VALUE)
        names = [panel.static_cols[j] for j in np.unique(cols)]
        raise ValueError(
            f"static_df column(s) {names} hold values beyond +-{MAX_ABS_VALUE:g} for series "
            f"{fmt_ids(panel.ids[rows])}; rescale them"
        )


def _beyond(column: np.ndarray) -> bool:
    with np.errstate(invalid="ignore"):
        return bool(np.nanmax(np.abs(column), initial=0.0) > MAX_ABS_VALUE)


def with_time_kind(
    panel: Panel, kind: TimeKind, what: str = "df", other: str = "the forecaster was fitted on"
) -> Panel:
    """`panel` with its times in `kind`, where the two are the same kind or a number
    can stand for the other: int times for float ones, whole float times for int ones (as
    `convert_dtypes` or a CSV's `30` / `30.0` make them).

    **Arguments:**

    - `panel`: the panel read.
    - `kind`: the `TimeKind` wanted (the fitted one).
    - `what`: how the error names the panel's frame (default `"df"`).
    - `other`: how it names what has `kind` (default `"the forecaster was fitted on"`).

    **Returns:**

    The panel, its times converted where needed; a TypeError when they cannot be.
    """
    have = panel.time_kind
    if have.same_as(kind):
        return panel
    times = None
    if have.kind == "int" and kind.kind == "float":
        times = panel.times.astype(np.float64)
    elif have.kind == "float" and kind.kind == "int":
        whole = np.isfinite(panel.times) & (panel.times == np.round(panel.times))
        if whole.all():
            times = panel.times.astype(np.int64)
    if times is None:
        example = ""
        if have.kind == "float" and kind.kind == "int":
            example = f" with fractions (e.g. {float(panel.times[~whole][0])!r})"
        raise TypeError(
            f"{what} has {have.describe()} times{example} but {other} {kind.describe()} "
            f"times; convert {panel.time_col!r} to match"
        )
    return replace(panel, times=times, time_kind=kind)
