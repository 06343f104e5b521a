"""Figures of one sweep directory: response curves, a heatmap for two-parameter grids, route shares against a
parameter (or per policy package). Policy comparisons are in policy_figures.py.

Means and 95% intervals come from `sim.experiments.summarize` (mean ± t₀.₉₇₅,ₙ₋₁·sd/√n over replicates;
paired differences against the baseline for the policy bars), so the figures show the same numbers as
`bordersim summarize`. Route shares are computed per run (route count / all-route count of the same run) and then
summarised the same way. Only successful runs are used.

Noise is not drawn as an effect:
- intervals need replicates (`MIN_REPLICATES`): with fewer than 3 at a point, a t-interval says little
  (t₀.₉₇₅,₁ = 12.7 and the sd of 2 values is itself noise), so the figures draw the individual replicates there
  instead of a band or an error bar, and the legend says which is which;
- the heatmap colours a cell only where the replicates resolve its difference from the mean over all cells
  (`resolved_cells`: paired by replicate, family-wise 95% over the cells, MIN_REPLICATES or more replicates);
  other cells are grey, and a panel where nothing is resolved says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.experiments.summarize import summarize
from sim.plots import style
from sim.plots.style import NotApplicable
from sim.directories import SweepData
from sim.numbers import readable

RESPONSE_OUTCOMES = ("set_out", "arrived", "killed")
HEATMAP_OUTCOMES = ("set_out", "arrived", "killed")
MAX_FACETS = 6
SAMPLED = ("lhs", "sobol", "points")  # designs whose points need not form a grid
MIN_REPLICATES = 3  # fewer replicates at a point: draw them, not a t-interval
FAMILY_LEVEL = 0.05  # heatmap: family-wise error level over the cells of a panel (Bonferroni)
DIVERGING_CMAP = "PuOr_r"  # purple below the mean of the cells, orange above; colour-blind safe
UNRESOLVED = "#C4C4C4"  # grey: a difference the replicates do not resolve
REPLICATE_MARKER: dict[str, Any] = {"ls": "", "marker": "o", "ms": 2.6, "alpha": 0.75, "mew": 0}


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
    n = sw.ok.groupby("point").size().reindex(sorted(sw.runs["point"].unique()), fill_value=0)  # 0: all failed
    lo, hi = (int(n.min()), int(n.max())) if len(n) else (0, 0)
    reps = f"{lo}" if lo == hi else f"{lo}-{hi}"
    failed = len(sw.runs) - len(sw.ok)
    text = f"{sw.name}: {len(sw.ok)} successful runs" + (f" ({failed} failed, left out)" if failed else "")
    return text + f", {reps} replicates per point" + (f"; {what}" if what else "")


def interval_handles(band: bool, dots: bool, what: str = "band") -> list[Artist]:
    """Legend entries that say what the uncertainty drawn is: the 95% t-interval (at points with at least
    MIN_REPLICATES replicates) and/or the individual replicates (where there are fewer)."""
    out: list[Artist] = []
    if band:
        out.append(Patch(color="#777777", alpha=0.3 if what == "band" else 0.9,
                         label=f"{what}: 95% t-interval of the mean\n({MIN_REPLICATES} or more replicates)"))
    if dots:
        out.append(Line2D([], [], color="#555555", **{**REPLICATE_MARKER, "ms": 4},
                          label=f"dots: individual replicates\n(fewer than {MIN_REPLICATES}: no interval)"))
    return out


def uncertainty_text(band: bool, dots: bool, what: str = "band") -> str:
    """What a figure shows, for its title: the mean with its 95% band (or error bar) and/or each replicate."""
    if band and dots:
        return f"mean, 95% {what} or each replicate"
    if dots:
        return "mean and each replicate"
    return f"mean over replicates with 95% {what}"


def require_ok(sw: SweepData) -> None:
    if sw.runs.empty or "status" not in sw.runs.columns or sw.ok.empty:
        raise NotApplicable("the sweep has no successful runs")


# ---------------------------------------------------------------------------------------------- response


@style.styled
def response(sw: SweepData) -> dict[str, Figure]:
    """Outcome against each numeric parameter: per route, the replicate mean with its 95% band where a point has
    at least MIN_REPLICATES replicates, and the individual replicates where it has fewer; rows are outcomes (set
    out, arrived, killed), columns the values of the other varying dimensions. Sampled designs (lhs, sobol,
    explicit points) show each point's mean with an error bar (or its replicates), as the other parameters vary
    too."""
    require_ok(sw)
    xs = numeric_parameters(sw)
    if not xs:
        raise NotApplicable("no numeric parameter varies in this sweep")
    outcomes = [o for o in RESPONSE_OUTCOMES if _series(sw, o)]
    if not outcomes:  # a sweep that kept only by_year
        raise NotApplicable(f"the sweep kept none of {', '.join(RESPONSE_OUTCOMES)} (outputs.keep)")
    colours = style.route_colours(sw.routes)
    figures = {}
    for x in xs:
        sampled = sw.design in SAMPLED
        combos, note = ([{}], "") if sampled else _facets(sw, x)
        wanted = [c for o in outcomes for _, c in _series(sw, o)]
        fig = style.figure(min(max(3.6 * len(combos) + 1.9, 8.5), 16), 2.5 * len(outcomes) + 1.0)
        axes = fig.subplots(len(outcomes), len(combos), sharex=True, sharey="row", squeeze=False)
        band = dots = False
        for j, combo in enumerate(combos):
            sub = sw.runs if sampled else select(sw.runs, combo)
            ok = sub[sub["status"] == "ok"]
            table = summarize(sub, sw.parameters, wanted)
            for i, outcome in enumerate(outcomes):
                ax = axes[i, j]
                for label, col in _series(sw, outcome):
                    t = table[table["outcome"] == col].sort_values(x)
                    colour = colours.get(label, "black")
                    wide = (t["n"] >= MIN_REPLICATES).to_numpy()
                    few = t.loc[~wide, "point"].to_numpy()
                    if len(few):
                        reps = ok[ok["point"].isin(few)]
                        ax.plot(reps[x], reps[col], color=colour, **REPLICATE_MARKER, label="_replicates")
                        dots = True
                    if sampled:
                        w = t[wide]
                        err = np.vstack([w["mean"] - w["ci_low"], w["ci_high"] - w["mean"]])
                        ax.errorbar(w[x], w["mean"], yerr=np.nan_to_num(err), fmt="o", ms=3, color=colour,
                                    elinewidth=0.8, capsize=0, label=label, alpha=0.85)
                        band = band or bool(wide.any())
                    else:
                        ax.plot(t[x], t["mean"], "o-", ms=3.5, lw=1.5, color=colour, label=label)
                        if wide.any():
                            lo = np.where(wide, t["ci_low"], np.nan)
                            hi = np.where(wide, t["ci_high"], np.nan)
                            ax.fill_between(t[x], lo, hi, where=wide, color=colour, alpha=0.18, lw=0)
                            # a point with an interval whose neighbours have none is a band of no width: a bar
                            flags = np.asarray(wide, dtype=bool)
                            alone = flags & ~np.r_[False, flags[:-1]] & ~np.r_[flags[1:], False]
                            if alone.any():
                                ax.vlines(t[x][alone], lo[alone], hi[alone], color=colour, alpha=0.45, lw=3)
                            band = True
                ax.yaxis.set_major_formatter(style.THOUSANDS)
                if j == 0:
                    ax.set_ylabel(f"{style.OUTCOME_LABELS[outcome]}\n({style.outcome_unit(outcome)})")
                if i == 0 and combo:
                    ax.set_title(facet_title(combo), fontsize=9.5)
                if i == len(outcomes) - 1:
                    ax.set_xlabel(style.param_label(x))
        for i in range(len(outcomes)):  # after every panel is drawn, so the shared autoscale sees all of them
            axes[i, 0].set_ylim(bottom=0)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right upper", title="route")
        what = "error bar" if sampled else "band"
        fig.legend(handles=interval_handles(band, dots, what), loc="outside right lower", title="uncertainty")
        style.title(fig, f"Response to {style.param_label(x).split(' (')[0]}: {uncertainty_text(band, dots, what)}")
        how = []
        if band:
            how.append("95% t-interval of the mean")
        if dots:
            how.append(f"dots: each replicate where a point has fewer than {MIN_REPLICATES}")
        style.note(fig, replicates_note(sw, "; ".join(how) + (f"; {note}" if note else "")
                                        + ("; the other parameters vary too (sampled design)" if sampled else "")))
        figures[_stem("response", x, len(xs) > 1)] = fig
    return figures


# ----------------------------------------------------------------------------------------------- heatmap


def resolved_cells(sw: SweepData, outcome: str, points: list[int], *, level: float = FAMILY_LEVEL
                   ) -> tuple[dict[int, bool], int]:
    """Which cells (points) differ from the mean over the cells, as far as the replicates resolve it
    (`resolved`, on the replicates present at every tested point). The points with at least MIN_REPLICATES
    successful runs are tested; the others (runs failed) are left out, not resolved, so that a cell whose runs
    mostly failed does not take the replicates of every other cell out of the test. Returns ({point:
    resolved}, replicates used)."""
    ok = sw.ok
    ok = ok[ok["point"].isin(points)]
    table = ok.pivot_table(index="replicate", columns="point", values=outcome, aggfunc="first")
    tested = [p for p in points if p in table.columns and table[p].notna().sum() >= MIN_REPLICATES]
    table = table.reindex(columns=tested).dropna()
    flags = dict(zip(tested, (bool(f) for f in resolved(table.to_numpy(dtype=float), level=level))))
    return {p: flags.get(p, False) for p in points}, len(table)


def resolved(values: np.ndarray, *, level: float = FAMILY_LEVEL) -> np.ndarray:
    """values[k, c]: replicate k at cell c (replicate k used the same random stream at every cell). Paired by
    replicate: d_k(c) = x_k(c) − mean over cells c' of x_k(c'); cell c is resolved when the t-interval of the
    mean of d_k(c) at level 1 − level/C (Bonferroni over the C cells, so that the chance of colouring any cell
    by noise alone is at most `level`) excludes 0. With fewer than MIN_REPLICATES replicates (where the figures
    draw no interval) or 2 cells nothing is resolved."""
    from scipy import stats  # here: about 1 s to import, and `bordersim plot` of a run never needs it

    r, c = values.shape
    if r < MIN_REPLICATES or c < 2:
        return np.zeros(c, dtype=bool)
    d = values - values.mean(axis=1, keepdims=True)
    half = stats.t.ppf(1 - level / (2 * c), r - 1) * d.std(axis=0, ddof=1) / np.sqrt(r)
    return np.abs(d.mean(axis=0)) > half


def _cell_text(mean: float, half: float, n: int, values: list[float]) -> str:
    """Mean, then the 95% half-width (MIN_REPLICATES or more replicates) or the replicates themselves; the mean and
    the replicates as the report's table writes them (`readable`: 486.5, not 486 beside a table saying 486.5)."""
    fmt = readable
    text = fmt(mean)
    if n >= MIN_REPLICATES and not np.isnan(half):
        text += f"\n±{half:,.0f}" if half >= 10 else f"\n±{half:.2g}"
    elif 1 < n < MIN_REPLICATES:
        text += "\n(" + ", ".join(fmt(v) for v in values) + ")"
    return text


@style.styled
def heatmap(sw: SweepData) -> dict[str, Figure]:
    """For a grid of exactly two varying numeric parameters: the replicate mean of each total outcome in every
    cell, written in the cell with its 95% half-width (or its replicates, when fewer than MIN_REPLICATES).
    A cell is coloured, on a diverging scale centred on the mean over all cells, only where the replicates
    resolve its difference from that mean (`resolved_cells`); the others are grey, and a panel in which no cell
    is resolved says so in its title."""
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
    ok = sw.ok
    fig = style.figure(min(4.2 * len(outcomes) + 0.6, 16), max(3.6, 0.5 * len(vy) + 2.6))
    axes = fig.subplots(1, len(outcomes), squeeze=False)[0]
    used = []
    for ax, outcome in zip(axes, outcomes):
        t = table[table["outcome"] == outcome]
        grid = np.full((len(vy), len(vx)), np.nan)
        half = np.full_like(grid, np.nan)
        n = np.zeros(grid.shape, dtype=int)
        where: dict[int, tuple[int, int]] = {}
        for rec in t.to_dict("records"):  # parameter names hold dots: no attribute access
            r, c = vy.index(rec[py]), vx.index(rec[px])
            grid[r, c] = rec["mean"]
            half[r, c] = (rec["ci_high"] - rec["ci_low"]) / 2
            n[r, c] = rec["n"]
            where[int(rec["point"])] = (r, c)
        resolved, reps = resolved_cells(sw, outcome, list(where))
        used.append(reps)
        mask = np.ones(grid.shape, dtype=bool)
        for p, (r, c) in where.items():
            mask[r, c] = not resolved[p] or np.isnan(grid[r, c])
        centre = float(np.nanmean(grid))
        spread = float(np.nanmax(np.abs(grid - centre)[~mask])) if (~mask).any() else 0.0
        spread = spread or max(abs(centre) * 1e-6, 1e-9)
        cmap = style.mpl.colormaps[DIVERGING_CMAP].with_extremes(bad=UNRESOLVED)
        im = ax.imshow(np.ma.masked_array(grid, mask), origin="lower", aspect="auto", cmap=cmap,
                       norm=Normalize(centre - spread, centre + spread))
        for p, (r, c) in where.items():
            if np.isnan(grid[r, c]):
                ax.text(c, r, "no successful\nruns", ha="center", va="center", fontsize=7.5,
                        color=style.ink_on(UNRESOLVED))
                continue
            values = ok.loc[ok["point"] == p, outcome].astype(float).tolist()
            fill = UNRESOLVED if mask[r, c] else im.cmap(im.norm(grid[r, c]))
            ax.text(c, r, _cell_text(grid[r, c], half[r, c], int(n[r, c]), values), ha="center", va="center",
                    fontsize=7.5, color=style.ink_on(fill))
        ax.set_xticks(range(len(vx)), [style.format_value(v) for v in vx])
        ax.set_yticks(range(len(vy)), [style.format_value(v) for v in vy])
        ax.set_xlabel(style.param_label(px))
        ax.set_ylabel(style.param_label(py))
        title = f"{style.OUTCOME_LABELS[outcome].capitalize()}, all routes"
        if reps < MIN_REPLICATES:
            title += f"\n{reps} replicate{'s' if reps != 1 else ''} at every cell: too few to test a difference"
        elif mask.all():
            title += f"\nno difference resolved by {reps} replicates"
        ax.set_title(title)
        ax.grid(False)
        if not mask.all():
            cbar = fig.colorbar(im, ax=ax, shrink=0.9, format=style.THOUSANDS)
            cbar.set_label(f"mean, {style.outcome_unit(outcome)}")
    span = f"{min(used)}" if min(used) == max(used) else f"{min(used)}-{max(used)}"
    style.title(fig, "Mean outcome over the two-parameter grid: coloured where it differs from the mean of the cells")
    style.note(fig, replicates_note(
        sw, f"colour: only where a paired test over {span} replicates resolves the cell's difference from the mean "
            f"of the cells (the centre of the scale)\n(family-wise {1 - FAMILY_LEVEL:.0%}, Bonferroni over the "
            f"cells; with fewer than {MIN_REPLICATES} replicates none); grey: not resolved; ±: half-width of the 95% "
            f"t-interval; (a, b): the replicates, when fewer than {MIN_REPLICATES}"))
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
        gaps = False
        fig = style.figure(min(max(3.6 * len(combos) + 1.9, 8.5), 16), 2.6 * len(rows) + 1.0)
        axes = fig.subplots(len(rows), len(combos), sharex=True, sharey=True, squeeze=False)
        for j, combo in enumerate(combos):
            sub = select(df, combo)
            table = summarize(sub, sw.parameters, [c for r in rows for _, c in cols[r]])
            for i, outcome in enumerate(rows):
                ax = axes[i, j]
                means = []
                for _route, col in cols[outcome]:  # NaN (no successful run, or nobody to share): a gap, not 0%
                    t = table[table["outcome"] == col].sort_values(x)
                    means.append(t["mean"].to_numpy(dtype=float))
                gaps = gaps or bool(np.isnan(np.asarray(means)).any())
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
        style.title(fig, f"Route shares against {style.param_label(x).split(' (')[0]} (mean over replicates)")
        gap_note = "gaps: points with no successful run, or where nobody set out or arrived"
        style.note(fig, replicates_note(sw, "; ".join(t for t in (note, gap_note if gaps else "") if t)))
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
            share = np.array([float(t.loc[p, "mean"]) if p in t.index else np.nan for p in packages])
            none = np.isnan(share)  # no successful run, or nobody to share: said, not drawn as 0%
            share = np.nan_to_num(share)
            ax.barh(ys, share, left=left, color=colours[route], height=0.7, edgecolor="white", lw=0.5)
            for y, s_, lft in zip(ys, share, left):
                if s_ >= 0.06:
                    ax.text(lft + s_ / 2, y, f"{100 * s_:.0f}%", ha="center", va="center", fontsize=7.5,
                            color=style.ink_on(colours[route]))
            left += share
        for y in ys[none]:
            ax.text(0.01, y, "no successful run, or nobody to share", va="center", fontsize=7.5, color="#555555",
                    style="italic")
        ax.set_yticks(ys, packages)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(style.PERCENT)
        ax.set_ylabel("policy package")
        ax.set_title(f"Share of {_WHO[outcome]} by route")
        ax.grid(axis="y", visible=False)
    axes[-1].set_xlabel("share (%), mean over replicates")
    fig.legend(handles=[Patch(color=colours[r], label=r) for r in sw.routes], loc="outside right upper",
               title="route")
    style.title(fig, "Route shares by policy package (substitution between routes)")
    style.note(fig, replicates_note(sw))
    return fig
