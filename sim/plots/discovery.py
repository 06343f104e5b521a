"""The peeling-trajectory figure of a scenario discovery (`bordersim discover`, docs/discovery.md), read from its
trajectory.csv: each box PRIM visited as a point at (coverage, density), coloured by the number of inputs it
restricts; the chosen box is ringed and labelled with its step. Moving along the trajectory trades coverage (the
share of all cases of interest inside the box) for density (the share of the box's points that are cases)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.plots import style

TRAJECTORY_COLUMNS = ("step", "coverage", "density", "mass", "restricted", "restricted_dims", "chosen")


def load_trajectory(path: str | Path) -> pd.DataFrame:
    """trajectory.csv of a discovery directory; InputError naming the file when it is missing or malformed."""
    p = Path(path)
    try:
        t = pd.read_csv(p, keep_default_na=False, dtype={"restricted_dims": str})
    except FileNotFoundError:
        raise InputError(f"{p}: no such file (a discovery directory holds trajectory.csv; run `bordersim discover` "
                         "to make it)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read the table ({exc})") from None
    missing = [c for c in TRAJECTORY_COLUMNS if c not in t.columns]
    if missing or t.empty:
        raise InputError(f"{p}: not a peeling trajectory bordersim wrote ("
                         + (f"missing columns {', '.join(missing)})" if missing else "no rows)"))
    try:
        for c in ("coverage", "density", "mass"):
            t[c] = t[c].astype(float)
        t["restricted"] = t["restricted"].astype(int)
        t["chosen"] = t["chosen"].astype(str).str.lower() == "true"
    except ValueError as exc:
        raise InputError(f"{p}: not a peeling trajectory bordersim wrote ({exc})") from None
    return t


@style.styled
def peeling_figure(trajectory: pd.DataFrame, title: str = "Peeling trajectory"):
    """Density against coverage of every box on the trajectory, colour = restricted inputs, chosen box ringed."""
    fig = style.figure(6.4, 4.6)
    ax = fig.add_subplot()
    t = trajectory
    ax.plot(t["coverage"], t["density"], color="#BBBBBB", lw=0.8, zorder=1)
    dims = sorted(set(t["restricted"]))
    pal = style.OKABE_ITO
    for i, k in enumerate(dims):
        g = t[t["restricted"] == k]
        ax.scatter(g["coverage"], g["density"], s=22, color=pal[i % len(pal)], zorder=2,
                   label=f"{k} input{'s' if k != 1 else ''} restricted")
    chosen = t[t["chosen"]]
    if not chosen.empty:
        row = chosen.iloc[0]
        ax.scatter([row["coverage"]], [row["density"]], s=140, facecolors="none", edgecolors="black", lw=1.4,
                   zorder=3)
        dims_text = str(row["restricted_dims"]).replace(";", ", ") or "none"
        ax.annotate(f"chosen: step {int(row['step'])}\n{dims_text}", (row["coverage"], row["density"]),
                    xytext=(-10, -12), textcoords="offset points", ha="right", va="top", fontsize=8)
    ax.set_xlabel("coverage (share of all cases of interest inside the box)")
    ax.set_ylabel("density (share of the box's points\nthat are cases of interest)")
    lo = float(np.nanmin(t["density"]))
    ax.set_ylim(max(0.0, lo - 0.05), 1.02)
    ax.set_xlim(min(1.0, float(np.nanmin(t["coverage"]))) - 0.05, 1.02)
    ax.xaxis.set_major_formatter(style.PERCENT)
    ax.yaxis.set_major_formatter(style.PERCENT)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set_title(title, loc="left")
    style.note(fig, "PRIM (EMA Workbench): peeling from the box of all points; mass falls along the trajectory.")
    return fig


def write_figures(root: str | Path, out: str | Path | None = None, fmt: str = "png") -> list[Path]:
    """Write peeling.<fmt> from ROOT/trajectory.csv into `out` (default ROOT/figures, `style.claim_figures_dir`,
    written atomically); return the paths."""
    root = Path(root)
    t = load_trajectory(root / "trajectory.csv")
    target = style.claim_figures_dir(root / "figures" if out is None else out, default=out is None)
    path = target / f"peeling.{fmt}"
    style.save(peeling_figure(t, f"Peeling trajectory: {root.name}"), path, fmt)
    return [path]
