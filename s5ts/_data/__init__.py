"""DataFrame <-> numpy conversion layer (private; the public names live in `s5ts.data`)."""

from .buckets import assign_buckets, bucket_lengths, iter_batches
from .convert import to_panel
from .output import from_panel, make_frame, read_queries
from .padding import PaddedBatch, pad
from .panel import ConversionReport, Panel
from .scaler import Scaler
from .timekind import DtypeSpec, TimeKind
from .timescale import TimeScale, parse_span_ns


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
