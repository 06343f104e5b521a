"""Figures of one sweep directory: response curves, a heatmap for two-parameter grids, route shares against a
parameter (or per policy package). Policy comparisons are in policy_figures.py.

Means and 95% intervals come from `sim.experiments.summarize` (mean ± t₀.₉₇₅,ₙ₋₁·sd/√n over replicates;
paired differences against the baseline for the policy bars), so the figures show the same numbers as
`bordersim summarize`. Route shares are computed per run (route count / all-route count of the same run) and then
summarised the same way. Only successful runs are used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.experiments.summarize import summarize
from sim.plots import style
from sim.plots.detect import SweepData

RESPONSE_OUTCOMES = ("set_out", "arrived", "killed")
HEATMAP_OUTCOMES = ("set_out", "arrived", "killed")
MAX_FACETS = 6
SAMPLED = ("lhs", "sobol", "points")  # designs whose points need not form a grid


class NotApplicable(Exception):
    """This figure does not apply to this sweep (the message says why)."""


# ------------------------------------------------------------------------------------------------ helpers


def numeric_parameters(sw: SweepData) -> list[str]:
    """Varying parameters with numeric values (the ones a curve can run along)."""
    return [p for p in sw.varying() if sw.numeric(p)]


def _other_dims(sw: SweepData, x: str) -> list[str]:
    dims = [p for p in sw.varying() if p != x]
    if "policy" in sw.ok.columns and sw.ok["policy"].nunique() > 1:
        dims = ["policy", *dims]
    return dims


def _facets(sw: SweepData, x: str) -> tuple[list[dict], str]:
    """Panels for a curve along x: one per combination of the other varying dimensions. Beyond MAX_FACETS
    combinations, the others are held at their middle value. Returns (combinations, note)."""
    dims = _other_dims(sw, x)
    if not dims:
        return [{}], ""
    ok = sw.ok
    combos = ok[dims].drop_duplicates()
    note = ""
    if len(combos) > MAX_FACETS:
        middle = {}
        for d in dims:
            values = sorted(ok[d].dropna().unique(), key=lambda v: (str(type(v)), v))
            middle[d] = values[len(values) // 2]
        combos = pd.DataFrame([middle])
        note = "other parameters held at their middle values"
    if "policy" in dims and sw.packages:
        order = {p: i for i, p in enumerate(sw.packages)}
        combos = combos.sort_values(by=dims, key=lambda c: c.map(order) if c.name == "policy" else c)
    else:
        combos = combos.sort_values(by=dims)
    return combos.to_dict("records"), note


def select(df: pd.DataFrame, combo: dict) -> pd.DataFrame:
    mask = pd.Series(True, index=df.index)
    for k, v in combo.items():
        mask &= np.isclose(df[k].astype(float), float(v)) if isinstance(v, (int, float)) and not isinstance(
            v, bool) else df[k].astype(str) == str(v)
    return df[mask]


def facet_title(combo: dict) -> str:
    if not combo:
        return ""
    return ", ".join(f"policy {v}" if k == "policy" else f"{style.param_short(k)} = {style.format_value(v)}"
                     for k, v in combo.items())


def _stem(prefix: str, x: str, many: bool) -> str:
    return f"{prefix}-{style.param_short(x)}" if many else prefix


def _series(sw: SweepData, outcome: str) -> list[tuple[str, str]]:
    """(label, column) pairs: one per route (`route.<r>.<outcome>`) when kept, otherwise the all-route total."""
    cols = [(r, f"route.{r}.{outcome}") for r in sw.routes if f"route.{r}.{outcome}" in sw.runs.columns]
    if cols:
        return cols
    return [("all routes", outcome)] if outcome in sw.runs.columns else []


def replicates_note(sw: SweepData, what: str = "") -> str:
    """Footnote: sweep name, successful runs (and failed ones), replicates per point, then `what`."""
    n = sw.ok.groupby("point").size()
    lo, hi = (int(n.min()), int(n.max())) if len(n) else (0, 0)
    reps = f"{lo}" if lo == hi else f"{lo}-{hi}"
    failed = len(sw.runs) - len(sw.ok)
    text = f"{sw.name}: {len(sw.ok)} successful runs" + (f" ({failed} failed, left out)" if failed else "")
    return text + f", {reps} replicates per point" + (f"; {what}" if what else "")


def require_ok(sw: SweepData) -> None:
    if sw.runs.empty or "status" not in sw.runs.columns or sw.ok.empty:
        raise NotApplicable("the sweep has no successful runs")


# ---------------------------------------------------------------------------------------------- response


@style.styled
def response(sw: SweepData) -> dict[str, Figure]:
    """Outcome against each numeric parameter: per route, the replicate mean with its 95% band; rows are
    outcomes (set out, arrived, killed), columns the values of the other varying dimensions. Sampled designs
    (lhs, sobol, explicit points) show each point's mean with an error bar, as the other parameters vary too."""
    require_ok(sw)
    xs = numeric_parameters(sw)
    if not xs:
        raise NotApplicable("no numeric parameter varies in this sweep")
    outcomes = [o for o in RESPONSE_OUTCOMES if _series(sw, o)]
    colours = style.route_colours(sw.routes)
    figures = {}
    for x in xs:
        sampled = sw.design in SAMPLED
        combos, note = ([{}], "") if sampled else _facets(sw, x)
        wanted = [c for o in outcomes for _, c in _series(sw, o)]
        fig = style.figure(min(max(3.6 * len(combos) + 1.9, 8.5), 16), 2.5 * len(outcomes) + 1.0)
        axes = fig.subplots(len(outcomes), len(combos), sharex=True, sharey="row", squeeze=False)
        for j, combo in enumerate(combos):
            sub = sw.runs if sampled else select(sw.runs, combo)
            table = summarize(sub, sw.parameters, wanted)
            for i, outcome in enumerate(outcomes):
                ax = axes[i, j]
                for label, col in _series(sw, outcome):
                    t = table[table["outcome"] == col].sort_values(x)
                    colour = colours.get(label, "black")
                    if sampled:
                        err = np.vstack([t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]])
                        ax.errorbar(t[x], t["mean"], yerr=np.nan_to_num(err), fmt="o", ms=3, color=colour,
                                    elinewidth=0.8, capsize=0, label=label, alpha=0.85)
                    else:
                        ax.plot(t[x], t["mean"], "o-", ms=3.5, lw=1.5, color=colour, label=label)
                        ax.fill_between(t[x], t["ci_low"], t["ci_high"], color=colour, alpha=0.18, lw=0)
                ax.yaxis.set_major_formatter(style.THOUSANDS)
                if j == 0:
                    ax.set_ylabel(f"{style.OUTCOME_LABELS[outcome]}\n(persons over the run)")
                if i == 0 and combo:
                    ax.set_title(facet_title(combo), fontsize=9.5)
                if i == len(outcomes) - 1:
                    ax.set_xlabel(style.param_label(x))
        for i in range(len(outcomes)):  # after every panel is drawn, so the shared autoscale sees all of them
            axes[i, 0].set_ylim(bottom=0)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right upper", title="route")
        shown = "mean over replicates with 95% " + ("error bar" if sampled else "band")
        fig.suptitle(f"Response to {style.param_label(x).split(' (')[0]}: {shown}")
        style.note(fig, replicates_note(sw, "95% t-interval of the mean" + (f"; {note}" if note else "")
                                        + ("; the other parameters vary too (sampled design)" if sampled else "")))
        figures[_stem("response", x, len(xs) > 1)] = fig
    return figures


# ----------------------------------------------------------------------------------------------- heatmap


@style.styled
def heatmap(sw: SweepData) -> dict[str, Figure]:
    """For a grid of exactly two varying numeric parameters: the replicate mean of each total outcome in every
    cell, coloured on a colour-blind-safe sequential scale and written in the cell with its 95% half-width."""
    require_ok(sw)
    xs = numeric_parameters(sw)
    if sw.design in SAMPLED:
        raise NotApplicable(f"a heatmap needs a grid; this sweep has a {sw.design} design")
    if len(xs) != 2 or len(_other_dims(sw, xs[0])) != 1:
        varies = f"{len(xs)} numeric parameters" if len(xs) != 1 else "1 numeric parameter"
        if "policy" in _other_dims(sw, ""):
            varies += " and the policy package"
        raise NotApplicable(f"a heatmap needs exactly two varying numeric parameters and nothing else; this "
                            f"sweep varies {varies}")
    px, py = xs
    outcomes = [o for o in HEATMAP_OUTCOMES if o in sw.runs.columns]
    table = summarize(sw.runs, sw.parameters, outcomes)
    vx = sorted(table[px].unique())
    vy = sorted(table[py].unique())
    fig = style.figure(min(4.2 * len(outcomes) + 0.6, 16), max(3.4, 0.5 * len(vy) + 2.4))
    axes = fig.subplots(1, len(outcomes), squeeze=False)[0]
    for ax, outcome in zip(axes, outcomes):
        t = table[table["outcome"] == outcome]
        grid = np.full((len(vy), len(vx)), np.nan)
        half = np.full_like(grid, np.nan)
        for rec in t.to_dict("records"):  # parameter names hold dots: no attribute access
            r, c = vy.index(rec[py]), vx.index(rec[px])
            grid[r, c] = rec["mean"]
            half[r, c] = (rec["ci_high"] - rec["ci_low"]) / 2
        im = ax.imshow(grid, origin="lower", aspect="auto", cmap=style.SEQUENTIAL_CMAP)
        for r in range(len(vy)):
            for c in range(len(vx)):
                if np.isnan(grid[r, c]):
                    continue
                text = f"{grid[r, c]:,.0f}" if abs(grid[r, c]) >= 10 else f"{grid[r, c]:.2g}"
                if not np.isnan(half[r, c]):
                    text += f"\n±{half[r, c]:,.0f}" if half[r, c] >= 10 else f"\n±{half[r, c]:.2g}"
                ax.text(c, r, text, ha="center", va="center", fontsize=7.5,
                        color=style.ink_on(im.cmap(im.norm(grid[r, c]))))
        ax.set_xticks(range(len(vx)), [style.format_value(v) for v in vx])
        ax.set_yticks(range(len(vy)), [style.format_value(v) for v in vy])
        ax.set_xlabel(style.param_label(px))
        ax.set_ylabel(style.param_label(py))
        ax.set_title(f"{style.OUTCOME_LABELS[outcome].capitalize()}, all routes")
        ax.grid(False)
        cbar = fig.colorbar(im, ax=ax, shrink=0.9, format=style.THOUSANDS)
        cbar.set_label("persons over the run (mean)")
    fig.suptitle("Mean outcome over the two-parameter grid (cell: mean and 95% half-width)")
    style.note(fig, replicates_note(sw, "±: half-width of the 95% t-interval; colours span each panel's range"))
    return {"heatmap": fig}


# ------------------------------------------------------------------------------------------- route shares


def _with_shares(sw: SweepData) -> tuple[pd.DataFrame, dict[str, list[tuple[str, str]]]]:
    """runs with per-run route shares added: share.<outcome>.<route> = route.<route>.<outcome> / <outcome>."""
    df = sw.runs.copy()
    cols: dict[str, list[tuple[str, str]]] = {}
    for outcome in ("set_out", "arrived"):
        pairs = []
        for r in sw.routes:
            src = f"route.{r}.{outcome}"
            if src in df.columns and outcome in df.columns:
                name = f"share.{outcome}.{r}"
                total = df[outcome].astype(float)
                df[name] = np.where(total > 0, df[src].astype(float) / total.where(total > 0, 1), np.nan)
                pairs.append((r, name))
        if pairs:
            cols[outcome] = pairs
    return df, cols


@style.styled
def route_shares(sw: SweepData) -> dict[str, Figure]:
    """Substitution between routes: the mean share of each route among the people who set out (route choice)
    and among those who arrived, stacked, against each numeric parameter of a grid (columns: the values of the
    other varying dimensions); for a policies design without numeric parameters, one stacked bar per package."""
    require_ok(sw)
    xs = numeric_parameters(sw)
    by_package = not xs and "policy" in sw.runs.columns and sw.ok["policy"].nunique() > 1
    if not xs and not by_package:
        raise NotApplicable("no numeric parameter varies in this sweep")
    if sw.design in SAMPLED:
        raise NotApplicable(f"route shares against a parameter need a grid; this sweep has a {sw.design} design")
    df, cols = _with_shares(sw)
    if not cols:
        raise NotApplicable("the sweep kept no per-route outcomes (outputs.keep lacks by_route)")
    if by_package:
        return {"route_shares": _shares_by_package(sw, df, cols)}
    colours = style.route_colours(sw.routes)
    rows = list(cols)
    figures = {}
    for x in xs:
        combos, note = _facets(sw, x)
        fig = style.figure(min(max(3.6 * len(combos) + 1.9, 8.5), 16), 2.6 * len(rows) + 1.0)
        axes = fig.subplots(len(rows), len(combos), sharex=True, sharey=True, squeeze=False)
        for j, combo in enumerate(combos):
            sub = select(df, combo)
            table = summarize(sub, sw.parameters, [c for r in rows for _, c in cols[r]])
            for i, outcome in enumerate(rows):
                ax = axes[i, j]
                means = []
                for _route, col in cols[outcome]:
                    t = table[table["outcome"] == col].sort_values(x)
                    means.append(t["mean"].fillna(0).to_numpy())
                xv = table[table["outcome"] == cols[outcome][0][1]].sort_values(x)[x].to_numpy()
                ax.stackplot(xv, *means, colors=[colours[r] for r, _ in cols[outcome]],
                             labels=[r for r, _ in cols[outcome]], alpha=0.9, lw=0)
                ax.set_ylim(0, 1)
                if len(xv) > 1:  # a little room at the ends, so neighbouring panels' edge ticks stay apart
                    pad = 0.04 * (xv.max() - xv.min())
                    ax.set_xlim(xv.min() - pad, xv.max() + pad)
                ax.yaxis.set_major_formatter(style.PERCENT)
                ax.grid(axis="x", visible=False)
                if j == 0:
                    ax.set_ylabel(f"share of {_WHO[outcome]} (%)")
                if i == 0 and combo:
                    ax.set_title(facet_title(combo), fontsize=9.5)
                if i == len(rows) - 1:
                    ax.set_xlabel(style.param_label(x))
        handles = [Patch(color=colours[r], label=r) for r in sw.routes]
        fig.legend(handles=handles, loc="outside right upper", title="route")
        fig.suptitle(f"Route shares against {style.param_label(x).split(' (')[0]} (mean over replicates)")
        style.note(fig, replicates_note(sw, note))
        figures[_stem("route_shares", x, len(xs) > 1)] = fig
    return figures


_WHO = {"set_out": "people who set out", "arrived": "arrivals"}


def _shares_by_package(sw: SweepData, df: pd.DataFrame, cols: dict[str, list[tuple[str, str]]]) -> Figure:
    """One horizontal 100% bar per policy package: mean route shares of departures and of arrivals."""
    colours = style.route_colours(sw.routes)
    packages = sw.packages or sorted(sw.ok["policy"].unique())
    table = summarize(df, sw.parameters, [c for r in cols for _, c in cols[r]])
    fig = style.figure(10, 0.5 * len(packages) * len(cols) + 2.2)
    axes = fig.subplots(len(cols), 1, sharex=True, squeeze=False)[:, 0]
    for ax, outcome in zip(axes, cols):
        ys = np.arange(len(packages))[::-1]
        left = np.zeros(len(packages))
        for route, col in cols[outcome]:
            t = table[table["outcome"] == col].set_index("policy")
            share = np.array([float(t.loc[p, "mean"]) if p in t.index else 0.0 for p in packages])
            share = np.nan_to_num(share)
            ax.barh(ys, share, left=left, color=colours[route], height=0.7, edgecolor="white", lw=0.5)
            for y, s_, lft in zip(ys, share, left):
                if s_ >= 0.06:
                    ax.text(lft + s_ / 2, y, f"{100 * s_:.0f}%", ha="center", va="center", fontsize=7.5,
                            color=style.ink_on(colours[route]))
            left += share
        ax.set_yticks(ys, packages)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(style.PERCENT)
        ax.set_ylabel("policy package")
        ax.set_title(f"Share of {_WHO[outcome]} by route")
        ax.grid(axis="y", visible=False)
    axes[-1].set_xlabel("share (%), mean over replicates")
    fig.legend(handles=[Patch(color=colours[r], label=r) for r in sw.routes], loc="outside right upper",
               title="route")
    fig.suptitle("Route shares by policy package (substitution between routes)")
    style.note(fig, replicates_note(sw))
    return fig
