"""JSON for what a saved forecaster holds: option objects and the fitted state's types.

Option objects (discretisation rules, losses) are written as their class name and fields
and read back only from a fixed list of known classes, so reading a file never imports
or calls anything else. Every other value is encoded by its declared type (`encode` /
`decode`), so that a new fitted field of a known type needs no code here.
"""

import dataclasses
import types
import typing

import numpy as np

from ..data import ConversionReport, Scaler, TimeScale
from ..network import DSS, S4D, S5, SharedClock, VariableClocks
from ..ssm import (
    ZOH,
    Bilinear,
    DSSExp,
    DSSSoftmax,
    Impulse,
    S4DInv,
    S4DLegS,
    S4DLin,
    S4DReal,
)
from ..training import GaussianNLL, SquaredError


# The only classes a file may name.
OPTIONS = {
    cls.__name__: cls
    for cls in (
        ZOH,
        Impulse,
        Bilinear,
        GaussianNLL,
        SquaredError,
        S5,
        S4D,
        DSS,
        S4DLegS,
        S4DInv,
        S4DLin,
        S4DReal,
        DSSExp,
        DSSSoftmax,
        SharedClock,
        VariableClocks,
    )
}


def encode_option(value):
    """An option object as `{"class": name, fields...}`; other values unchanged."""
    cls = type(value)
    if OPTIONS.get(cls.__name__) is cls:
        fields = {f.name: encode_option(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"class": cls.__name__, **fields}
    if dataclasses.is_dataclass(value):  # an option this version cannot write
        raise ValueError(f"cannot save {value!r}: only {sorted(OPTIONS)} can be written to JSON")
    return value


def decode_option(value):
    """The inverse of `encode_option` (strings and plain values pass through)."""
    if isinstance(value, dict) and "class" in value:
        if value["class"] not in OPTIONS:
            raise ValueError(f"unknown option class {value['class']!r}")
        fields = {k: decode_option(v) for k, v in value.items() if k != "class"}
        return OPTIONS[value["class"]](**fields)
    return value


def _unwrap(kind):
    """`X` for `X | None`; other types unchanged."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        inner = [k for k in typing.get_args(kind) if k is not type(None)]
        return inner[0] if len(inner) == 1 else kind
    return kind


def encode(value, kind):
    """`value`, declared as type `kind`, as JSON."""
    if value is None:
        return None
    kind = _unwrap(kind)
    if kind in (TimeScale, Scaler):
        return value.to_dict()
    if kind is np.ndarray:  # JSON has no infinity: "inf" / "-inf"
        a = np.asarray(value, dtype=np.float64)
        return np.where(np.isfinite(a), a.astype(object), a.astype(str)).tolist()
    if kind is ConversionReport:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(value).items()
        }
    if dataclasses.is_dataclass(kind):  # e.g. the network's Architecture
        return {f.name: encode_option(getattr(value, f.name)) for f in dataclasses.fields(kind)}
    if isinstance(value, tuple):
        return list(value)
    return encode_option(value)


def decode(data, kind):
    """The inverse of `encode`: JSON `data` as a value of type `kind`."""
    if data is None:
        return None
    kind = _unwrap(kind)
    if kind in (TimeScale, Scaler):
        return kind.from_dict(data)
    if kind is np.ndarray:
        return np.asarray(data, dtype=np.float64)
    if kind is ConversionReport:
        return ConversionReport(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in dict(data).items()}
        )
    if dataclasses.is_dataclass(kind):
        return kind(**{k: decode_option(v) for k, v in dict(data).items()})
    origin = typing.get_origin(kind)
    if origin is tuple:
        return tuple(str(x) for x in data)
    if kind is float:
        return float(data)
    if kind is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise ValueError(f"expected an int, got {data!r}")
        return data
    if kind is str:
        return str(data)
    if kind is dict or origin is dict:
        return dict(data)
    return decode_option(data)
