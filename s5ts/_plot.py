"""`plot_forecast`: history points, forecast mean and interval bands for a few series."""

import numpy as np

from .data import as_frame


def _column(frame, name):
    return frame[name].to_numpy()


def plot_forecast(
    history_df,
    forecast_df,
    *,
    ids=None,
    target: str | None = None,
    level=None,
    ax=None,
    max_ids: int = 4,
    id_col: str = "unique_id",
    time_col: str = "ds",
):
    """Plot observed history and forecasts of one target for a few series.

    A new figure is built without pyplot, so that it is safe under any backend.

    **Arguments:**

    - `history_df`: the observed data, a long frame with `id_col`, `time_col` and `target`.
    - `forecast_df`: the output of `predict` (or `cross_validation`): the mean column
      `<target>` and, per `level`, `<target>-lo-<level>` / `<target>-hi-<level>` bands.
    - `ids`: the series to draw (default: the first `max_ids` series of `forecast_df`).
    - `target`: the variable to draw (default: the first forecast column).
    - `level`: the interval levels whose bands to draw, e.g. `[80, 95]` (default none).
    - `ax`: a matplotlib axes to draw every series on; `None` (default) for a new figure
      with one panel per series.
    - `max_ids`: how many series to draw when `ids` is not given (default 4).
    - `id_col`, `time_col`: the id and time columns of both frames (default
      `"unique_id"`, `"ds"`).

    **Returns:**

    The matplotlib figure (that of `ax`, when given).
    """
    from matplotlib.figure import Figure

    hist = as_frame(history_df, "history_df")
    fc = as_frame(forecast_df, "forecast_df")
    skip = {id_col, time_col, "cutoff"}
    if target is None:
        target = next(c for c in fc.columns if c not in skip and "-" not in c)
    for frame, what in ((fc, "forecast_df"), (hist, "history_df")):
        if target not in frame.columns:
            raise ValueError(f"{what} has no column {target!r}; columns: {list(frame.columns)}")
    prefix = f"{target}-lo-"
    have = [c[len(prefix) :] for c in fc.columns if c.startswith(prefix)]
    missing = [lv for lv in level or [] if f"{prefix}{lv}" not in fc.columns]
    if missing:
        raise ValueError(
            f"forecast_df has no {missing} % intervals for {target!r}; its levels are "
            f"{have or 'none'} (predict with level={list(level)} to draw those)"
        )
    fc_ids = _column(fc, id_col)
    if ids is None:
        ids = list(dict.fromkeys(fc_ids.tolist()))[:max_ids]
    ids = list(ids)
    if ax is None:
        fig = Figure(figsize=(8, 2.4 * len(ids)), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(len(ids), 1, squeeze=False)[:, 0]))
    else:
        fig, axes = ax.figure, [ax] * len(ids)
    h_ids, h_t, h_y = _column(hist, id_col), _column(hist, time_col), _column(hist, target)
    f_t, f_y = _column(fc, time_col), _column(fc, target)
    for sid, a in zip(ids, axes, strict=True):
        keep = (h_ids == sid) & ~np.isnan(h_y.astype(float))
        a.plot(h_t[keep], h_y[keep], ".", color="0.3", ms=3, label="observed")
        rows = np.flatnonzero(fc_ids == sid)
        rows = rows[np.argsort(f_t[rows], kind="stable")]
        for lv in sorted(level or [], reverse=True):
            lo, hi = _column(fc, f"{target}-lo-{lv}"), _column(fc, f"{target}-hi-{lv}")
            a.fill_between(f_t[rows], lo[rows], hi[rows], alpha=0.2, color="C0", lw=0,
                           label=f"{lv}% interval")  # fmt: skip
        a.plot(f_t[rows], f_y[rows], "-", color="C0", label="forecast")
        a.set_title(f"{sid}: {target}", fontsize=9)
    axes[0].legend(fontsize=7, loc="best")
    return fig
