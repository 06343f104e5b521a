"""A parameter's range, the one description shared by sweep distributions, sensitivity bounds and calibration priors,
with the one map from the unit interval to values that every sampled design uses.

Kinds (`dist`), for u in [0, 1):

    uniform      low + u (high - low)
    loguniform   exp(ln low + u (ln high - ln low))                 (0 < low)
    integer      min(floor(low + u (high - low + 1)), high)          (each of low..high with probability 1/k)
    categorical  values[min(floor(u k), k - 1)]                      (k = len(values), each equally likely)
    fixed        value

Each spec format admits the kinds it can use (a sweep's lhs/sobol design: uniform, loguniform, integer, categorical,
fixed; sensitivity bounds the same; a calibration prior only uniform and loguniform, because its refinement maps
values back to the unit interval).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from sim.scenario.strict import Strict

Scalar = float | int | bool | str

KINDS = ("uniform", "loguniform", "integer", "categorical", "fixed")


def one_kind(values: list) -> list:
    """`values` unchanged when they are all numbers, all true/false or all text; else ValueError. A parameter is
    one column of runs.parquet, which holds one kind: [0.5, "1"] ran every run, then could not be written."""
    kinds = {"true/false" if isinstance(v, bool) else "numbers" if isinstance(v, (int, float)) else "text"
             for v in values}
    if len(kinds) > 1:
        raise ValueError(f"the values mix {' and '.join(sorted(kinds))} ({', '.join(map(repr, values[:6]))}"
                         f"{', ...' if len(values) > 6 else ''}): give them all as one kind (numbers unquoted)")
    return values


def distinct_paths(parameters: dict[str, Any]) -> dict[str, Any]:
    """`parameters` unchanged when no dotted path is set by two of them (a name may join paths with commas, all
    set to its value); else ValueError: the later would silently overwrite the earlier at every point."""
    seen: dict[str, str] = {}
    for name in parameters:
        for path in (p.strip() for p in str(name).split(",")):
            if path == "seed":  # each run's seed is its replicate's (the spec's seed): a parameter would not act
                raise ValueError("'seed' is not a parameter: each run's seed is its replicate's, drawn from the "
                                 "spec's `seed`; vary the seeds with `replicates`")
            if path in seen:
                raise ValueError(f"the path {path} is set by two parameters ('{seen[path]}' and '{name}'): the "
                                 "second would overwrite the first at every point; give each path once")
            seen[path] = str(name)
    return parameters


class ParameterRange(Strict):
    """uniform(low, high), loguniform(low, high) with low > 0, integer(low..high inclusive), categorical(values),
    fixed(value); the map from the unit interval is in the module docstring."""

    dist: Literal["uniform", "loguniform", "integer", "categorical", "fixed"] = Field(
        description="uniform, loguniform, integer, categorical or fixed.")
    low: float | None = Field(None, description="uniform/loguniform/integer: lower bound.")
    high: float | None = Field(None, description="uniform/loguniform/integer: upper bound.")
    values: list[Scalar] | None = Field(None, min_length=1, description="categorical: the values, equally likely.")
    value: Scalar | None = Field(None, description="fixed: the value.")

    _one_kind = field_validator("values")(classmethod(lambda cls, v: v if v is None else one_kind(v)))

    # high == low is allowed (a point); specs that need a proper interval set this to True
    proper_interval: ClassVar[bool] = False

    @field_validator("low", "high", mode="before")
    @classmethod
    def _exact(cls, v: Any) -> Any:
        """A whole number beyond 2**53 would be rounded to a float unseen (2**53 + 1 became 2**53)."""
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
            raise ValueError("bounds must lie within +-2**53 (9,007,199,254,740,992), where every whole number is "
                             "exact as a float")
        return v

    @model_validator(mode="after")
    def _check(self) -> ParameterRange:
        need = {"categorical": ("values",), "fixed": ("value",)}.get(self.dist, ("low", "high"))
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"'{self.dist}' needs {' and '.join(need)}")
        extra = [k for k in ("low", "high", "values", "value") if k not in need and getattr(self, k) is not None]
        if extra:
            raise ValueError(f"'{self.dist}' takes {' and '.join(need)}, not {', '.join(extra)}")
        if self.low is not None and self.high is not None:
            if self.proper_interval and not self.high > self.low:
                raise ValueError(f"high ({self.high}) must be above low ({self.low})")
            if self.high < self.low:
                raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
            if self.dist == "loguniform" and self.low <= 0:
                raise ValueError("loguniform needs low > 0")
            if self.dist == "integer" and not (float(self.low).is_integer() and float(self.high).is_integer()):
                raise ValueError(f"integer needs whole-number bounds, found low {self.low} and high {self.high}")
            if self.dist == "integer" and max(abs(self.low), abs(self.high)) > 2**53:
                raise ValueError("integer bounds must lie within +-2**53 (9,007,199,254,740,992), where every whole "
                                 "number is exact as a float")
        return self

    def _bounds(self) -> tuple[float, float]:
        assert self.low is not None and self.high is not None, "checked by _check for interval kinds"
        return self.low, self.high

    def from_unit(self, u: Any) -> list:
        """Values for unit-interval samples u (module docstring): floats, ints (integer) or the given values."""
        u = np.atleast_1d(np.asarray(u, dtype=float))
        if self.dist == "fixed":
            return [self.value] * u.size
        if self.dist == "categorical":
            assert self.values is not None
            k = len(self.values)
            return [self.values[int(i)] for i in np.minimum(np.floor(u * k), k - 1)]
        low, high = self._bounds()
        if self.dist == "uniform":
            return (low + u * (high - low)).tolist()
        if self.dist == "loguniform":
            lo, hi = math.log(low), math.log(high)
            return np.exp(lo + u * (hi - lo)).tolist()
        return [int(v) for v in np.minimum(np.floor(low + u * (high - low + 1)), high)]

    def extremes(self) -> list:
        """The values a design can reach at its ends (every value, for categorical): what a spec checks against its
        scenario before anything runs."""
        if self.dist == "categorical":
            assert self.values is not None
            return list(self.values)
        if self.dist == "fixed":
            return [self.value]
        return self.from_unit(np.array([0.0, 1.0]))

    def to_scale(self, x: Any) -> np.ndarray:
        """The range's own scale, on which it is uniform: x (uniform) or ln x (loguniform)."""
        self._continuous()
        return np.log(x) if self.dist == "loguniform" else np.asarray(x, dtype=float)

    def to_unit(self, x: Any) -> np.ndarray:
        """Inverse of `from_unit` for the continuous kinds: (scale(x) - scale(low)) / (scale(high) - scale(low))."""
        low, high = self._bounds()
        lo, hi = self.to_scale(low), self.to_scale(high)
        return (self.to_scale(x) - lo) / (hi - lo)

    def quantile(self, q: float) -> float:
        """The q-quantile of a continuous range."""
        self._continuous()
        return float(self.from_unit(q)[0])

    def _continuous(self) -> None:
        if self.dist not in ("uniform", "loguniform"):
            raise TypeError(f"a '{self.dist}' range has no continuous scale")
