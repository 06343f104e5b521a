"""PRIM (the Patient Rule Induction Method, Friedman and Fisher 1999) through EMA Workbench's implementation
(`ema_workbench.analysis.prim.Prim`, optional extra bordersim[discovery]): the peeling trajectory of one box and
the box chosen on it.

For N points with inputs x and a 0/1 case-of-interest flag y, a box B (an interval per numeric input, a set of
values per categorical one) has
    coverage = (cases in B) / (all cases),  density = (cases in B) / (points in B),  mass = (points in B) / N.
PRIM starts from the box holding every point and peels, step by step, the slice of at most `peel_alpha` of the
points in the box (the lowest or highest values of one input, or one category) whose removal raises the density
most per point lost (EMA Workbench's default "lenient1" objective), until the box holds less than `mass_min` of the
points; then it pastes back slices while that raises the density. Each step is a box on the peeling trajectory.
The chosen box is the one with the highest coverage among those with density >= `threshold`, the densest of
them on a tie (the densest box when none reaches the threshold). Then, while the weakest restriction of the chosen
box (the largest quasi-p-value, below) exceeds `max_qp`, that restriction is dropped (`PrimBox.drop_restriction`:
the input gets the data's whole range back) and the box so made, appended to the trajectory with the input named
in `dropped`, becomes the chosen one: PRIM peels greedily and keeps restrictions that a few points justified, and
a box should say only what the sample supports. Coverage and density are those of the final box.
A restricted input is one whose box limits differ from the range of the data. For each restricted side (a
categorical input has one, reported as qp_min) PRIM reports a quasi-p-value (Bryant and Lempert 2010):
P(X >= cases in B) for X ~ Binomial(points in B, density of B with that side released to the data's range), i.e.
how easily the box's density would arise without that restriction (small: the restriction matters; not corrected
for the many boxes PRIM tried).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.errors import ScenarioError, UsageError
from sim.extras import installed, missing_extra

if TYPE_CHECKING:
    from types import ModuleType

    import numpy as np
    import pandas as pd

EXTRA = "bordersim[discovery]"

TRAJECTORY_COLUMNS = ("step", "coverage", "density", "mass", "points", "cases", "restricted", "restricted_dims",
                      "dropped", "from_step", "chosen")
BOX_COLUMNS = ("parameter", "kind", "min", "max", "values", "qp_min", "qp_max", "data_min", "data_max")


def require_prim() -> None:
    """Raise `load_prim`'s UsageError when ema_workbench is not installed, without importing it (importing
    `ema_workbench.analysis` takes about 3 s: statsmodels, its modelling framework): a command checks this before
    its runs and imports PRIM only when it uses it."""
    if not installed("ema_workbench"):
        raise _missing("No module named 'ema_workbench'")


def load_prim() -> ModuleType:
    """`ema_workbench.analysis.prim`, imported with its import-time warnings silenced (it warns that ipyparallel, an
    evaluator it does not need here, is missing); UsageError naming the extra when it is not installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError as exc:
        raise _missing(str(exc)) from None
    return prim


def _missing(why: str) -> UsageError:
    return missing_extra("scenario discovery", "discovery", f"ema_workbench: {why}")


@dataclass
class PrimResult:
    """The peeling trajectory (one row per box, TRAJECTORY_COLUMNS: `dropped` names the input whose restriction was
    dropped to make a box after the peeling, `from_step` the box it was made from) and the chosen box (one row per
    restricted input, BOX_COLUMNS; numeric limits in min/max, categorical ones as '|'-joined values)."""

    trajectory: pd.DataFrame
    box: pd.DataFrame
    chosen: int
    coverage: float
    density: float
    mass: float
    cases: int
    points: int

    @property
    def restricted(self) -> list[str]:
        return list(self.box["parameter"])


def find_box(x: pd.DataFrame, y: np.ndarray, *, threshold: float = 0.8, peel_alpha: float = 0.05,
             paste_alpha: float = 0.05, mass_min: float = 0.05, max_qp: float = 0.05) -> PrimResult:
    """Run PRIM on inputs x (float, int or categorical columns) and cases of interest y (bool per row); choose the
    box by `threshold`, then drop its weakest restrictions by `max_qp` (module docstring). ScenarioError when y
    holds no case, or nothing else."""
    import numpy as np
    import pandas as pd

    y = np.asarray(y, dtype=bool)
    cases = int(y.sum())
    if cases == 0 or cases == len(y):
        raise ScenarioError(f"the condition holds at {cases} of {len(y)} points: there is nothing to tell apart; "
                            "change the condition (e.g. a threshold inside the range the outcome takes over the "
                            "points)",
                            key="condition")
    prim = load_prim()
    x = x.reset_index(drop=True)
    # Integer inputs go to PRIM as floats: pasting writes a limit between two values (3.5) into the box's table,
    # which pandas refuses for an int64 column (TypeError). Their limits are rounded inward below.
    integers = [c for c in x.columns if pd.api.types.is_integer_dtype(x[c].dtype)]
    as_floats = x.astype({c: float for c in integers})
    with warnings.catch_warnings():  # pandas deprecation notices from inside the library are not the user's business
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        p = prim.Prim(as_floats, y.astype(int), peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
        box = p.find_box()
        t = box.peeling_trajectory
        density = t["density"].to_numpy(float)
        dense = np.flatnonzero(density >= threshold - 1e-12)
        coverage = t["coverage"].to_numpy(float)
        # highest coverage, then the densest of those (np.lexsort: the last key is the primary one)
        chosen = (int(dense[np.lexsort((density[dense], coverage[dense]))[-1]]) if dense.size
                  else int(np.argmax(density)))
        dropped, source = [""] * len(t), list(range(-1, len(t) - 1))
        while (weakest := _weakest(box, chosen, max_qp)) is not None:
            box.drop_restriction(weakest, chosen)  # appends the box without that restriction to the trajectory
            dropped.append(weakest)
            source.append(chosen)
            chosen = len(box.peeling_trajectory) - 1
    t = box.peeling_trajectory
    init = box.box_lims[0]
    restricted = [_restricted(box.box_lims[i], init) for i in range(len(t))]
    trajectory = pd.DataFrame({
        "step": np.arange(len(t)),
        "coverage": t["coverage"].to_numpy(float),
        "density": t["density"].to_numpy(float),
        "mass": t["mass"].to_numpy(float),
        "points": t["n"].to_numpy(int),
        "cases": t["k"].to_numpy(int),
        "restricted": [len(r) for r in restricted],
        "restricted_dims": [";".join(r) for r in restricted],
        "dropped": dropped,
        "from_step": source,
        "chosen": np.arange(len(t)) == chosen,
    })
    rows = []
    lims, qp = box.box_lims[chosen], box.p_values[chosen]
    for name in restricted[chosen]:
        lo, hi = qp.get(name, [np.nan, np.nan])
        qp_min = np.nan if lo == -1 else float(lo)
        qp_max = np.nan if hi == -1 else float(hi)
        if pd.api.types.is_numeric_dtype(x[name].dtype):
            low, high = float(lims[name].iloc[0]), float(lims[name].iloc[1])
            if name in integers:  # the same points: the whole values within the limits
                low, high = float(np.ceil(low)), float(np.floor(high))
            rows.append({"parameter": name, "kind": "integer" if name in integers else "float", "min": low,
                         "max": high, "values": "", "qp_min": qp_min, "qp_max": qp_max,
                         "data_min": float(x[name].min()), "data_max": float(x[name].max())})
        else:
            values = sorted(map(str, lims[name].iloc[0]))
            rows.append({"parameter": name, "kind": "categorical", "min": np.nan, "max": np.nan,
                         "values": "|".join(values), "qp_min": qp_min, "qp_max": qp_max,
                         "data_min": np.nan, "data_max": np.nan})
    row = trajectory.iloc[chosen]
    return PrimResult(trajectory, pd.DataFrame(rows, columns=list(BOX_COLUMNS)), chosen, float(row["coverage"]),
                      float(row["density"]), float(row["mass"]), cases, len(y))


def _weakest(box, i: int, max_qp: float) -> str | None:
    """The restricted input of box i with the largest quasi-p-value (either side), if that exceeds max_qp."""
    qp = {name: max(v for v in sides if v != -1) for name, sides in box.p_values[i].items()
          if any(v != -1 for v in sides)}
    if not qp:
        return None
    name = max(qp, key=lambda k: qp[k])
    return name if qp[name] > max_qp else None


def _restricted(lims: pd.DataFrame, init: pd.DataFrame) -> list[str]:
    """Inputs whose limits in `lims` differ from those of the box holding every point (`init`)."""
    return [c for c in init.columns if not all(a == b for a, b in zip(lims[c], init[c]))]
