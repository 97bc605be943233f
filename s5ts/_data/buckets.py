"""Few padded lengths and fixed-size batches, so only a few shapes reach the compiler."""

from collections.abc import Iterator

import numpy as np


def _next_pow2(x: int) -> int:
    return 1 << max(int(x) - 1, 0).bit_length()


def bucket_lengths(lengths: np.ndarray, n_buckets: int = 4, *, min_length: int = 16) -> np.ndarray:
    """At most `n_buckets` padded lengths (powers of two >= min_length) covering `lengths`.

    Each bucket is the power of two above a quantile (1/n, 2/n, ..., 1) of the lengths, so
    the last one covers the longest series. Powers of two keep shapes stable across calls.
    Returns (K,) int64, sorted, K <= n_buckets.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if n_buckets < 1 or min_length < 1:
        raise ValueError(f"n_buckets and min_length must be >= 1, got {n_buckets}, {min_length}")
    if len(lengths) == 0:
        return np.array([_next_pow2(min_length)], dtype=np.int64)
    qs = np.quantile(lengths, np.arange(1, n_buckets + 1) / n_buckets, method="higher")
    sizes = {_next_pow2(max(int(q), min_length)) for q in qs}
    return np.array(sorted(sizes), dtype=np.int64)


def assign_buckets(lengths: np.ndarray, buckets: np.ndarray) -> np.ndarray:
    """(S,) int64 index of the smallest bucket that holds each length."""
    lengths = np.asarray(lengths, dtype=np.int64)
    which = np.searchsorted(np.asarray(buckets), lengths, side="left")
    if np.any(which >= len(buckets)):
        raise ValueError(
            f"lengths up to {int(lengths.max())} do not fit the largest bucket "
            f"{int(np.max(buckets))}; recompute the buckets or truncate."
        )
    return which.astype(np.int64)


def iter_batches(
    lengths: np.ndarray,
    buckets: np.ndarray,
    batch_size: int,
    *,
    rng: np.random.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (padded length, (batch_size,) series indices) with series grouped by bucket.

    A bucket's last batch is filled with -1 (dummy series, padded as invalid) unless
    `drop_last`. With `rng`, members are shuffled within buckets and batches are shuffled;
    without it the order is deterministic (bucket, then series index).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    which = assign_buckets(lengths, buckets)
    batches: list[tuple[int, np.ndarray]] = []
    for k, size in enumerate(np.asarray(buckets).tolist()):
        members = np.flatnonzero(which == k)
        if rng is not None:
            members = rng.permutation(members)
        for start in range(0, len(members), batch_size):
            chunk = members[start : start + batch_size]
            if len(chunk) < batch_size:
                if drop_last:
                    continue
                chunk = np.concatenate([chunk, np.full(batch_size - len(chunk), -1)])
            batches.append((int(size), chunk.astype(np.int64)))
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    yield from batches
