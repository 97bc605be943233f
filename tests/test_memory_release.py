"""Freed heap memory goes back to the operating system after XLA compiles (glibc only)."""

import pytest

from s5ts.training import release_free_memory
from s5ts.training._memory import _malloc_trim


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(_malloc_trim() is None, reason="needs glibc's malloc_trim (Linux)")
def test_release_returns_a_fragmented_heap():
    # 2,000 blocks of 64 KB (below glibc's mmap threshold, so on the heap), then free all
    # but the last: it pins the top of the heap, so glibc keeps the rest mapped by itself.
    blocks = [bytearray(64 * 1024) for _ in range(2000)]
    for b in blocks:
        b[::4096] = b"x" * len(b[::4096])  # touch every page
    pinned = blocks[-1]
    del blocks
    held = _rss_mb()
    release_free_memory()
    assert _rss_mb() < held - 40  # of the ~125 MB freed; without the trim, none
    assert pinned[0] == ord("x")


def test_release_is_safe_to_call_repeatedly():
    for _ in range(3):
        release_free_memory()
