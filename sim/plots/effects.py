"""The figure of a policy-effects analysis, read from its effects.csv (`bordersim effects`, docs/effects.md).

One panel per outcome, one row per package: the median effect against the baseline (dot), the total 50% and 90%
intervals (thick and thin grey bars: quantiles of the effect over every draw and replicate) and, just below, the
parameter part (coloured bars: the same quantiles of the per-draw mean effects; none with a single draw,
`posterior: none` or `draws: 1`, where the title and footnote say the parameter uncertainty is not sampled). A zero
line marks "no effect".
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.plots import style

@style.styled
def effects_figure(effects: pd.DataFrame) -> Figure:
    """Median effect with total (grey) and parameter (colour) 50% and 90% intervals, a panel per outcome."""
    outcomes = list(dict.fromkeys(effects["outcome"]))
    packages = list(dict.fromkeys(effects["package"]))
    cols = min(3, len(outcomes))
    rows = math.ceil(len(outcomes) / cols)
    fig = style.figure(4.4 * cols, (0.45 * len(packages) + 1.3) * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(outcomes):]:
        ax.set_visible(False)
    colour = style.OKABE_ITO[0]
    first = effects.iloc[0]
    one_draw = int(first["draws"]) == 1  # posterior: none, or draws: 1: no parameter part to show
    for ax, name in zip(axes, outcomes):
        g = effects[effects["outcome"] == name].set_index("package").reindex(packages)
        y = list(range(len(packages)))[::-1]
        for yi, (_, r) in zip(y, g.iterrows()):
            ax.plot([r["total_q05"], r["total_q95"]], [yi, yi], color="#999999", lw=1.2, solid_capstyle="butt")
            ax.plot([r["total_q25"], r["total_q75"]], [yi, yi], color="#999999", lw=4.5, solid_capstyle="butt")
            if not one_draw:
                ax.plot([r["param_q05"], r["param_q95"]], [yi - 0.22, yi - 0.22], color=colour, lw=1.2,
                        solid_capstyle="butt")
                ax.plot([r["param_q25"], r["param_q75"]], [yi - 0.22, yi - 0.22], color=colour, lw=4.5,
                        solid_capstyle="butt")
            ax.plot([r["effect_median"]], [yi], "o", color="black", ms=4, zorder=3)
        ax.axvline(0, color="black", lw=0.7, ls="--")
        ax.set_yticks(y, packages)
        ax.set_ylim(-0.8, len(packages) - 0.4)
        expr = g["expression"].dropna().iloc[0] if g["expression"].notna().any() else name
        ax.set_title(name, loc="left", fontsize=9, pad=14 if expr != name else 6)
        if expr != name:
            ax.text(0, 1.01, expr, transform=ax.transAxes, fontsize=7.5, color="#555555", va="bottom")
        ax.set_xlabel(f"effect ({_unit(expr)})")
    if one_draw:
        style.title(fig, f"Policy effects against '{first['baseline']}' (median and 50%/90% intervals over the "
                     "replicates of one draw: parameter uncertainty not sampled)")
        style.note(fig, f"Effect against '{first['baseline']}'. Dot: median over {int(first['replicates'])} "
                        "replicate(s) of one draw (posterior: none, draws: 1, or a posterior of one row): grey, "
                        "the 50% (thick) and 90% (thin) interval of the seed noise alone (none with one replicate); "
                        "the parameter uncertainty is not sampled.")
        return fig
    style.title(fig, f"Policy effects against '{first['baseline']}' (median, total and parameter intervals)")
    style.note(fig, f"Effect against '{first['baseline']}'. Dot: median over {int(first['draws'])} draw(s) x "
                    f"{int(first['replicates'])} "
                    "replicate(s). Grey: total 50% (thick) and 90% (thin) interval; colour: parameter part "
                    "(quantiles of the per-draw mean effect).")
    return fig


def _unit(expression: str) -> str:
    """The unit of an outcome of the outcome language (docs/sensitivity.md): a share(...) or female_share(...) is a
    fraction of persons, any other outcome a count of persons; its effect is a difference in that unit."""
    return "fraction" if expression.replace(" ", "").startswith(("share(", "female_share(")) else "persons"


def read_effects(path: str | Path) -> pd.DataFrame:
    """effects.csv, checked for the columns bordersim writes (InputError naming the file otherwise)."""
    from sim.directories import EFFECTS_COLUMNS, read_table

    table = read_table(Path(path), EFFECTS_COLUMNS)
    if table.empty:
        from sim.errors import InputError

        raise InputError("the table has no rows", path=str(path))
    return table


def write_figures(effects_csv: str | Path, out: str | Path, fmt: str = "png", *, own: bool = False) -> list[Path]:
    """Draw effects.<fmt> from an effects.csv into `out`, a figures directory (`style.claim_figures_dir`: new,
    empty or one bordersim made). `own` (implied by `style.own_figures`): out is an effects directory's own
    figures/, bordersim's even without a marker."""
    effects = read_effects(effects_csv)
    own = own or style.own_figures(out, "effects")
    return style.claim_figures_dir(out, default=own).save({f"effects.{fmt}": effects_figure(effects)}, fmt)
