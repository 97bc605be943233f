"""Prediction: query rows -> (series, cutoff event, tau) triples -> forecast columns.

Every query becomes one slot in a fixed-shape batch (one compilation for all calls), and its
forecast depends only on its own series' history and its own time.
"""

from statistics import NormalDist

import numpy as np

from .._batches import plan_batches
from .._network import forecast
from ..data import fmt_ids, make_frame, read_queries
from ._checks import check_levels, check_quantiles


PREDICT_QUERIES = 32  # query slots per history in prediction batches (one fixed shape)


def predict(fitted, runtime, df, query_df, static_df, h, freq, level, quantiles):
    """The frame `S5Forecaster.predict` returns (arguments as documented there)."""
    check_request(query_df, h, level, quantiles)
    panel = fitted.read(df, static_df, runtime.duplicates)
    last = panel.times[panel.indptr[1:] - 1]
    series, raw = query_rows(fitted, panel, last, query_df, h, freq, "in df")
    cut = panel.lengths[series] - 1
    tau = fitted.time_scale.offsets(raw, last[series])
    cols = {panel.id_col: panel.ids[series], panel.time_col: raw}
    cols.update(
        forecast_columns(fitted, panel, series, cut, tau, level, quantiles, runtime.batch_size)
    )
    return make_frame(cols, like=panel)


def check_request(query_df, h, level, quantiles) -> None:
    """The argument checks every forecast starts with, before any frame is read."""
    check_levels(level), check_quantiles(quantiles)
    if query_df is not None and h is not None:
        raise ValueError("pass either query_df or h (with freq), not both")
    if query_df is None and h is None:
        raise ValueError("pass query_df (times to forecast) or h (steps of freq)")


def query_rows(fitted, like, last, query_df, h, freq, where: str):
    """Series index and raw time (R,) of each forecast row: the rows of `query_df`, or an
    `h`-step grid of `freq` after each series' `last` time (S,) (raw). `like` gives the ids
    and time dtype; `where` says where the last times come from, for the error."""
    if query_df is not None:
        series, raw = read_queries(query_df, like)
    else:
        series, raw = _grid(fitted.time_scale, like, last, h, freq)
    early = raw <= last[series]
    if early.any():
        bad = np.unique(series[early])
        raise ValueError(
            f"query times must come after each series' last time {where}; series "
            f"{fmt_ids(like.ids[bad])} have {int(early.sum())} query row(s) at or before "
            "their last time"
        )
    return series, raw


def _grid(time_scale, panel, last, h, freq):
    if not isinstance(h, int | np.integer) or isinstance(h, bool) or h < 1:
        raise ValueError(f"h must be a positive number of steps (int), got {h!r}")
    step = time_scale.unit if freq is None else time_scale.to_raw_span(freq)
    if not isinstance(step, int | float | np.number) or isinstance(step, bool):
        raise TypeError(f"freq must be a number in the data's time unit, got {freq!r}")
    if not np.isfinite(step) or step <= 0:
        raise ValueError(f"freq must be a positive span, got {freq!r}")
    if panel.time_kind.kind != "float" and step != int(step):
        raise ValueError(f"freq must be a whole number of time units, got {freq!r}")
    step = np.asarray(step, dtype=panel.times.dtype)
    k = np.arange(1, h + 1, dtype=panel.times.dtype)
    series = np.repeat(np.arange(panel.n_series), h)
    return series, (last[:, None] + k[None, :] * step).reshape(-1)


def forecast_columns(
    fitted, panel, series, cut, tau, level, quantiles, batch_size
) -> dict[str, np.ndarray]:
    """Mean, interval and quantile columns per target for rows (series, cutoff, tau)."""
    check_levels(level), check_quantiles(quantiles)
    batches = plan_batches(
        fitted.features(panel),
        series,
        cut,
        tau,
        batch_size=batch_size,
        length=fitted.max_len,
        n_queries=PREDICT_QUERIES,
        context=fitted.context,
    )
    mean, scale = forecast(fitted.model, batches, len(series))
    return columns_from_scaled(fitted, panel, series, mean, scale, level, quantiles)


def columns_from_scaled(fitted, panel, series, mean, scale, level, quantiles):
    """The columns of `forecast_columns` from the network's means and scales (R, C) in
    scaled units; `panel.ids[series]` names the rows' series in the finiteness error."""
    levels, qs = check_levels(level), check_quantiles(quantiles)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = fitted.scaler.inverse_transform(mean)
        sd = fitted.scaler.inverse_scale(scale)
    _check_finite(panel, series, mean, sd)
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(fitted.target_cols):
        out[name] = mean[:, j]
        for lv in levels[::-1]:
            out[f"{name}-lo-{_fmt(lv)}"] = mean[:, j] - _z(0.5 + lv / 200) * sd[:, j]
        for lv in levels:
            out[f"{name}-hi-{_fmt(lv)}"] = mean[:, j] + _z(0.5 + lv / 200) * sd[:, j]
        for q in qs:
            out[f"{name}-q{_fmt(q)}"] = mean[:, j] + _z(q) * sd[:, j]
    return out


def _check_finite(panel, series, mean, sd) -> None:
    # The backstop for "never a silent NaN": inputs far outside what the model was fitted
    # on can still overflow float32 inside the network.
    bad = ~(np.isfinite(mean).all(1) & np.isfinite(sd).all(1))
    if bad.any():
        raise ValueError(
            f"forecasts for series {fmt_ids(panel.ids[series[bad]])} are not finite "
            f"({int(bad.sum())} row(s)): their history or query times lie far outside the "
            "range the forecaster was fitted on; check those series' values and times"
        )


def _z(p: float) -> float:
    return NormalDist().inv_cdf(p)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))
