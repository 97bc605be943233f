"""Datasets that ship with s5ts (embedded, no download)."""

from ._synthetic import RANGES, VARIABLES, synthetic_vitals


__all__ = ["RANGES", "VARIABLES", "synthetic_vitals"]
