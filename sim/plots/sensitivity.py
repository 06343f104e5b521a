"""Figures of a sensitivity analysis, read from its indices.csv (`bordersim sensitivity`, docs/sensitivity.md).

- Morris: per outcome, mu* (mean absolute elementary effect, in outcome units per full range of the parameter)
  against sigma (their standard deviation); points to the right matter, points above the dashed line sigma = mu*
  act through non-linearity or interactions. Horizontal bars: 95% interval of mu*.
- Sobol: per outcome, first-order S1 and total ST indices as bars, largest ST on top, with 95% intervals.
Intervals combine SALib's design bootstrap and the replicate (seed) bootstrap: sqrt(conf^2 + seed_conf^2).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.plots import style

MARKERS = "osD^vP"
NOTE = ("Outcome at each design point: mean of {r}. Intervals: 95%, design (SALib bootstrap) and seed "
        "(replicate bootstrap) combined as sqrt(a² + b²).")


def _combined(g: pd.DataFrame, key: str) -> np.ndarray:
    seed = g[f"{key}_seed_conf"].fillna(0.0) if f"{key}_seed_conf" in g else 0.0
    return np.sqrt(g[f"{key}_conf"].fillna(0.0) ** 2 + seed ** 2).to_numpy()


MIN_WIDTH = 6.6  # inches: a figure's title fits
CHAR = 0.07  # inches a character of a label takes (tick and legend labels, 8-9 pt)


def _text_width(labels) -> float:
    """Inches the longest of `labels` takes as a tick or legend label."""
    return CHAR * max((len(str(x)) for x in labels), default=0)


def _grid(n: int, width: float, height: float, legend: list[str] | None = None):
    """A figure of n panels of width x height inches, 3 to a row; with `legend` (its labels) room on the right
    for a legend beside the panels (about 0.07 inch a character: long labels, such as dotted paths, squeezed one
    panel to nothing and matplotlib warned it could not lay the figure out), the panels at least as wide as a
    title."""
    cols = min(3, n)
    rows = math.ceil(n / cols)
    room = 0.6 + _text_width(legend) if legend else 0.0
    fig = style.figure(max(width * cols, MIN_WIDTH) + room, height * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _look(labels: list[str]) -> dict[str, tuple[str, str]]:
    """Parameter label -> (colour, marker): Okabe-Ito colours, a new marker after every 8 parameters."""
    pal = style.OKABE_ITO
    return {lab: (pal[i % len(pal)], MARKERS[(i // len(pal)) % len(MARKERS)]) for i, lab in enumerate(labels)}


def _title(ax, g: pd.DataFrame) -> None:
    """Outcome name in bold, its expression below in small type when it differs."""
    name, expr = g["outcome"].iloc[0], g["expression"].iloc[0]
    ax.set_title(name, loc="left", pad=14 if name != expr else 6)
    if name != expr:
        ax.text(0, 1.01, expr, transform=ax.transAxes, fontsize=7.5, color="#555555", va="bottom")


def _no_indices(ax, g: pd.DataFrame) -> None:
    """Why an outcome's panel has no indices: runs without a value (`runs_without_value`), or no variance."""
    missing = int(g["runs_without_value"].iloc[0]) if "runs_without_value" in g else 0
    why = (f"no value in {missing} runs:\nno indices" if missing else "constant outcome:\nno variance to apportion")
    ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center", color="#555555")


@style.styled
def morris_figure(indices: pd.DataFrame, replicates: str = "the replicates"):
    """mu* against sigma, one panel per outcome, one colour per parameter (legend below)."""
    outcomes = list(dict.fromkeys(indices["outcome"]))
    labels = list(dict.fromkeys(indices["label"]))
    look = _look(labels)
    fig, axes = _grid(len(outcomes), 3.6, 3.0, legend=[*labels, "σ = μ*"])
    for ax, name in zip(axes, outcomes):
        g = indices[indices["outcome"] == name]
        if g["mu_star"].isna().all():
            _title(ax, g)
            _no_indices(ax, g)
            ax.set_xticks([])  # no axis to read: nothing is plotted
            ax.set_yticks([])
            continue
        xerr = _combined(g, "mu_star")
        for (_, row), err in zip(g.iterrows(), xerr):
            colour, marker = look[row["label"]]
            ax.errorbar(row["mu_star"], row["sigma"], xerr=err, fmt=marker, color=colour, ms=5.5, lw=1,
                        capsize=2, zorder=3)
        top = float(np.nanmax(np.r_[g["mu_star"].to_numpy() + xerr, g["sigma"].to_numpy(), 1e-12]))
        ax.plot([0, top], [0, top], ls="--", lw=0.8, color="#777777", zorder=1)
        for _, row in g[g["rank"] <= 3].iterrows():  # out of the layout: a long label squeezed the panels to nothing
            ax.annotate(row["label"], (row["mu_star"], row["sigma"]), xytext=(4, 4), textcoords="offset points",
                        fontsize=7.5).set_in_layout(False)
        ax.set_xlim(left=0, right=top * 1.08)
        ax.set_ylim(bottom=0, top=top * 1.08)
        _title(ax, g)
        ax.set_xlabel("μ* (outcome per full parameter range)")
        ax.set_ylabel("σ of elementary effects")
        ax.xaxis.set_major_formatter(style.THOUSANDS)
        ax.yaxis.set_major_formatter(style.THOUSANDS)
    handles = [Line2D([], [], ls="", marker=look[lab][1], color=look[lab][0], label=lab) for lab in labels]
    handles.append(Line2D([], [], ls="--", color="#777777", label="σ = μ*"))
    fig.legend(handles=handles, loc="outside right center")  # clear of the title, which spans the figure
    style.title(fig, "Morris screening: mean absolute effect μ* against its spread σ")
    style.note(fig, NOTE.format(r=replicates))
    return fig


@style.styled
def sobol_figure(indices: pd.DataFrame, replicates: str = "the replicates"):
    """S1 and ST bars per parameter (largest ST on top), one panel per outcome."""
    outcomes = list(dict.fromkeys(indices["outcome"]))
    # each panel names the parameters on its y axis: as wide as the bars plus the longest label
    fig, axes = _grid(len(outcomes), 3.0 + _text_width(indices["label"]), 0.9 + 0.32 * indices["parameter"].nunique())
    for ax, name in zip(axes, outcomes):
        g = indices[indices["outcome"] == name].sort_values("ST", ascending=True, na_position="first")
        y = np.arange(len(g))
        ax.set_yticks(y, g["label"])
        _title(ax, g)
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_xlabel("share of variance")
        if g["ST"].isna().all():
            _no_indices(ax, g)
            continue
        ax.barh(y + 0.2, g["ST"], height=0.38, xerr=_combined(g, "ST"), color=style.OKABE_ITO[0],
                error_kw={"lw": 0.9, "capsize": 2}, label="total ST")
        ax.barh(y - 0.2, g["S1"], height=0.38, xerr=_combined(g, "S1"), color=style.OKABE_ITO[4],
                error_kw={"lw": 0.9, "capsize": 2}, label="first order S1")
        ax.set_xlim(min(-0.05, float(np.nanmin(g["S1"] - _combined(g, "S1")))), None)
        ax.grid(axis="y", visible=False)
    drawn = [ax for ax in axes if ax.containers]  # the first panel with bars carries the legend
    if drawn:
        drawn[0].legend(loc="lower right")
    style.title(fig, "Sobol indices: share of the outcome's variance due to each parameter")
    style.note(fig, NOTE.format(r=replicates))
    return fig


@style.styled
def overview_figure(indices: pd.DataFrame):
    """Parameters x outcomes: each cell the parameter's index relative to the largest for that outcome (mu* for
    Morris, ST for Sobol), with its rank written in; rows ordered by the mean of these relative values."""
    method = indices["method"].iloc[0]
    key = "mu_star" if method == "morris" else "ST"
    table = indices.pivot_table(index="label", columns="outcome", values=key, sort=False, dropna=False)
    ranks = indices.pivot_table(index="label", columns="outcome", values="rank", sort=False, dropna=False)
    rel = table.clip(lower=0) / table.clip(lower=0).max(axis=0).replace(0, np.nan)
    order = rel.mean(axis=1).sort_values(ascending=False).index
    rel, ranks = rel.loc[order], ranks.loc[order]
    fig = style.figure(max(MIN_WIDTH, 1.6 + 1.05 * rel.shape[1] + _text_width(rel.index)),
                       max(3.0, 1.2 + 0.34 * rel.shape[0] + 0.5 * _text_width(rel.columns)))  # rotated 30 degrees
    ax = fig.subplots()
    im = ax.imshow(rel.to_numpy(float), cmap=style.SEQUENTIAL_CMAP, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(rel.shape[1]), rel.columns, rotation=30, ha="right")
    ax.set_yticks(range(rel.shape[0]), rel.index)
    ax.grid(False)
    cmap = im.get_cmap()
    for i in range(rel.shape[0]):
        for j in range(rel.shape[1]):
            v, r = rel.iat[i, j], ranks.iat[i, j]
            if pd.notna(r):
                ax.text(j, i, f"{int(r)}", ha="center", va="center", fontsize=8, color=style.ink_on(cmap(v)))
    what = "μ*" if method == "morris" else "total index ST"
    fig.colorbar(im, ax=ax, label=f"{what} / largest {what} of the outcome", shrink=0.8)
    ax.set_title(f"Which parameter moves which outcome ({method}); numbers are ranks", loc="left")
    return fig


def _replicates(indices: pd.DataFrame) -> str:
    r = int(indices["replicates"].iloc[0]) if "replicates" in indices and pd.notna(indices["replicates"].iloc[0]) \
        else None
    return f"{r} replicate{'s' if r != 1 else ''}" if r else "the replicates"


def figures(indices: pd.DataFrame, only: list[str] | None = None) -> dict[str, tuple[str, Figure]]:
    """The figures of these indices, file stem -> (figure name, figure): per method, `<method>` (name `indices`:
    the Morris or Sobol chart) and `<method>_overview` (name `overview`); `only` keeps the names given."""
    replicates = _replicates(indices)
    out: dict[str, tuple[str, Figure]] = {}
    for method, g in indices.groupby("method", sort=False):
        if not only or "indices" in only:
            fig = morris_figure(g, replicates) if method == "morris" else sobol_figure(g, replicates)
            out[str(method)] = ("indices", fig)
        if not only or "overview" in only:
            out[f"{method}_overview"] = ("overview", overview_figure(g))
    return out


METHODS = ("morris", "sobol")


def write_figures(indices: pd.DataFrame, out: str | Path, fmt: str = "png", *, own: bool = False) -> list[Path]:
    """Write <method>.<fmt> and <method>_overview.<fmt> (method morris or sobol, from indices) into out, a
    figures directory (`style.claim_figures_dir`: new, empty or one bordersim made; each file written atomically);
    return the paths. `own` (implied by `style.own_figures`): out is a sensitivity directory's own figures/
    (bordersim's even without a marker), where the figures of the other method (an earlier analysis that --force
    replaced), and this method's in other formats than `fmt` (which `bordersim plot --format svg` may have drawn
    for that earlier analysis), are removed if bordersim wrote them."""
    own = own or style.own_figures(out, "sensitivity")
    figures_dir = style.claim_figures_dir(out, default=own)
    drawn = {f"{style.safe_stem(stem)}.{fmt}": fig for stem, (_name, fig) in figures(indices).items()}
    others = [f"{m}{suffix}.{ext}" for m in METHODS for suffix in ("", "_overview") for ext in style.FORMATS]
    return figures_dir.save(drawn, fmt, remove=[name for name in others if name not in drawn] if own else [])


def figures_from_dir(root: str | Path, out: str | Path | None = None, fmt: str = "png") -> list[Path]:
    """Figures of a sensitivity output directory from its indices.csv (default out: ROOT/figures)."""
    from sim.directories import load_sensitivity_dir

    root = Path(root)
    data = load_sensitivity_dir(root)
    if out is None:
        return write_figures(data.indices, root / "figures", fmt, own=True)
    return write_figures(data.indices, style.claim_figures_dir(out).path, fmt)
