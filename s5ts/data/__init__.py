"""The DataFrame layer: long pandas / polars frames <-> numpy panels, time scale, scaling.

    panel, report = to_panel(df, static_df=static_df)  # validate, sort, pivot; report what changed
    ts = TimeScale().fit(panel)                       # raw times -> unit-free model units
    scaler = Scaler().fit(panel)                      # per-variable NaN-aware standardisation
    out = make_frame({"unique_id": ..., "ds": raw_times, "HR": ...}, like=panel)

narwhals is used at this boundary only; everything returned is numpy. Nothing here knows
about the model.
"""

from ._columns import (
    MISSING_COLUMNS_HINT as MISSING_COLUMNS_HINT,
    as_frame as as_frame,
    column_names as column_names,
)
from ._convert import to_panel as to_panel
from ._messages import fmt_ids as fmt_ids, fmt_span as fmt_span
from ._output import (
    from_panel as from_panel,
    make_frame as make_frame,
    read_queries as read_queries,
)
from ._panel import ConversionReport as ConversionReport, Panel as Panel
from ._reader import (
    MAX_ABS_VALUE as MAX_ABS_VALUE,
    check_has_targets as check_has_targets,
    check_magnitude as check_magnitude,
    read_panel as read_panel,
    with_time_kind as with_time_kind,
)
from ._scaler import Moments as Moments, Scaler as Scaler
from ._timekind import DtypeSpec as DtypeSpec, TimeKind as TimeKind
from ._timescale import TimeScale as TimeScale, parse_span_ns as parse_span_ns
