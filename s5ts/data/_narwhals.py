"""The one place narwhals is imported: pin the stable API so upgrades cannot change behaviour."""

try:
    import narwhals.stable.v2 as nw
except ImportError:  # narwhals < 2.0 ships only the v1 stable API
    import narwhals.stable.v1 as nw  # type: ignore[no-redef]


__all__ = ["nw"]
