"""The peeling-trajectory figure of a scenario discovery (`bordersim discover`, docs/discovery.md), read from its
trajectory.csv: each box PRIM visited as a point at (coverage, density), coloured by the number of inputs it
restricts, the boxes made by dropping weak restrictions as diamonds on a dashed line; the chosen box is ringed and
labelled with its step and inputs. Moving along the trajectory trades coverage (the
share of all cases of interest inside the box) for density (the share of the box's points that are cases)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.plots import style
from sim.directories import load_discovery_dir

@style.styled
def peeling_figure(trajectory: pd.DataFrame, title: str = "Peeling trajectory"):
    """Density against coverage of every box on the trajectory, colour = number of restricted inputs; solid line:
    peeling and pasting; dashed: restrictions dropped after it (diamonds); the chosen box ringed and labelled."""
    from matplotlib.colors import BoundaryNorm

    fig = style.figure(6.6, 4.6)
    ax = fig.add_subplot()
    t = trajectory.reset_index(drop=True)
    drop = t["dropped"].astype(str) != ""
    for row in t.itertuples(index=False):
        if 0 <= row.from_step < len(t):
            src = t.iloc[int(row.from_step)]
            ax.plot([src["coverage"], row.coverage], [src["density"], row.density], color="#AAAAAA", lw=0.8,
                    ls="--" if row.dropped else "-", zorder=1)
    top = max(1, int(t["restricted"].max()))
    norm = BoundaryNorm(np.arange(-0.5, top + 1.5), 256)
    for mask, marker, size in ((~drop, "o", 22), (drop, "D", 30)):
        g = t[mask]
        sc = ax.scatter(g["coverage"], g["density"], c=g["restricted"], cmap=style.SEQUENTIAL_CMAP, norm=norm,
                        s=size, marker=marker, edgecolors="black" if marker == "D" else "none", linewidths=0.6,
                        zorder=2)
    bar = fig.colorbar(sc, ax=ax, ticks=range(top + 1), pad=0.02)
    bar.set_label("inputs restricted")
    chosen = t[t["chosen"]]
    if not chosen.empty:
        row = chosen.iloc[0]
        ax.scatter([row["coverage"]], [row["density"]], s=150, facecolors="none", edgecolors="black", lw=1.4,
                   zorder=3)
        dims_text = str(row["restricted_dims"]).replace(";", ", ") or "none"
        ax.annotate(f"chosen box (step {int(row['step'])}):\n{dims_text}", (row["coverage"], row["density"]),
                    xytext=(-12, -12), textcoords="offset points", ha="right", va="top", fontsize=8)
    ax.set_xlabel("coverage (share of all cases of interest inside the box)")
    ax.set_ylabel("density (share of the box's points\nthat are cases of interest)")
    ax.set_ylim(max(0.0, float(np.nanmin(t["density"])) - 0.05), 1.02)
    ax.set_xlim(min(1.0, float(np.nanmin(t["coverage"]))) - 0.05, 1.01)
    ax.xaxis.set_major_formatter(style.PERCENT)
    ax.yaxis.set_major_formatter(style.PERCENT)
    ax.set_title(title, loc="left")
    style.note(fig, "PRIM (EMA Workbench), peeling from the box of all points (bottom right)"
               + ("; diamonds: weak restrictions dropped." if drop.any() else "."))
    return fig


def write_figures(root: str | Path, out: str | Path | None = None, fmt: str = "png") -> list[Path]:
    """Write peeling.<fmt> from ROOT/trajectory.csv into `out` (default ROOT/figures, `style.claim_figures_dir`,
    written atomically), titled with the discovery's name (as `bordersim plot` draws it, wherever ROOT lies);
    return the paths."""
    data = load_discovery_dir(root)
    figures_dir = style.claim_figures_dir(data.path / "figures" if out is None else out, default=out is None)
    return figures_dir.save({f"peeling.{fmt}": peeling_figure(data.trajectory, f"Peeling trajectory: {data.name}")},
                            fmt)
