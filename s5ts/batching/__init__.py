"""What a network eats: per-event and query features of a series, and the padded,
fixed-shape batches they are cut into for training, validation and prediction.

Pure numpy, built on the host: `series_features` / `continue_features` turn a series'
scaled events into feature rows (the running and recent means, time since each variable
was seen, ...); `sample_batch` / `sample_groups` draw training cuts, `plan_batches` lays
out every query of a prediction, and `built_ahead` builds the next batch in a thread
while the current one runs; `ListedSizing` / `StreamedSizing` give what a fit sizes its
batches on. Two layouts: `EVENTS` (every event of a series on one clock,
for `ForecastNet`) and `VARIABLE_TOKENS` (each variable's observations as its own
tokens, for `VariableClockNet`).
"""

from ._batches import (
    EVENTS as EVENTS,
    AnyBatch as AnyBatch,
    Batch as Batch,
    Layout as Layout,
    assemble as assemble,
    built_ahead as built_ahead,
    fill_queries as fill_queries,
    history_start as history_start,
    history_tiers as history_tiers,
    max_window_events as max_window_events,
    next_pow2 as next_pow2,
    plan_batches as plan_batches,
    queries_in_window as queries_in_window,
    sample_batch as sample_batch,
    sample_groups as sample_groups,
    training_groups as training_groups,
    training_shapes as training_shapes,
)
from ._features import (
    FIRST_GAP as FIRST_GAP,
    AnySeries as AnySeries,
    Carry as Carry,
    Series as Series,
    SeriesFeatures as SeriesFeatures,
    continue_features as continue_features,
    n_features as n_features,
    recent_mean as recent_mean,
    series_features as series_features,
)
from ._sizing import ListedSizing as ListedSizing, StreamedSizing as StreamedSizing
from ._variable_tokens import (
    TOKEN_FEATURES as TOKEN_FEATURES,
    VARIABLE_TOKENS as VARIABLE_TOKENS,
    VariableBatch as VariableBatch,
    variable_tokens as variable_tokens,
)
