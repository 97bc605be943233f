"""Long pandas/polars frames <-> numpy panels, time scale, scaling, padding and bucketing.

panel, report = to_panel(df)                  # validate, sort, pivot; report says what changed
ts = TimeScale().fit(panel)                   # raw times -> unit-free model units
scaler = Scaler().fit(panel)                  # per-variable NaN-aware standardisation
for length, idx in iter_batches(panel.lengths, bucket_lengths(panel.lengths), 32):
    batch = pad(panel, idx, length, time_scale=ts, scaler=scaler)
out = make_frame({"unique_id": ..., "ds": raw_times, "model": ...}, like=panel)
"""

from ._data import (
    ConversionReport,
    DtypeSpec,
    PaddedBatch,
    Panel,
    Scaler,
    TimeKind,
    TimeScale,
    assign_buckets,
    bucket_lengths,
    from_panel,
    iter_batches,
    make_frame,
    pad,
    parse_span_ns,
    read_queries,
    to_panel,
)


__all__ = [
    "ConversionReport",
    "DtypeSpec",
    "PaddedBatch",
    "Panel",
    "Scaler",
    "TimeKind",
    "TimeScale",
    "assign_buckets",
    "bucket_lengths",
    "from_panel",
    "iter_batches",
    "make_frame",
    "pad",
    "parse_span_ns",
    "read_queries",
    "to_panel",
]
