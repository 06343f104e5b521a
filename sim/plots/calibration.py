"""Figures of a calibration directory (`bordersim calibrate`), drawn from the files it wrote, never from runs.

- posterior predictive: observed arrivals per period against the 90% band (5%-95% quantiles) and the median of
  the accepted points' runs, on a log scale; a multi-year observed period (1999-2001) is drawn as its yearly
  mean over the period's years; the share targets as intervals next to their observed values;
- posterior pairs: every pair of free parameters, prior sample in grey and accepted points coloured by distance,
  axes spanning the prior (log axes for loguniform priors); the diagonal shows the accepted values' histogram.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from sim.plots import style
from sim.weighted import weighted_spearman

OBSERVED_COLOUR = "#000000"
BAND_COLOUR = style.OKABE_ITO[0]


@style.styled
def posterior_predictive(predictive: pd.DataFrame, shares: pd.DataFrame | None = None,
                         title: str = "Posterior predictive") -> Figure:
    """Observed against simulated arrivals per observed period (per-year mean for multi-year periods)."""
    n_shares = 0 if shares is None else len(shares)
    fig = style.figure(8.0 + 1.6 * min(n_shares, 1), 4.4)
    if n_shares:
        grid = fig.add_gridspec(n_shares, 2, width_ratios=[4.2, 1])
        ax = fig.add_subplot(grid[:, 0])
        share_axes = [fig.add_subplot(grid[i, 1]) for i in range(n_shares)]
    else:
        ax, share_axes = fig.subplots(1, 1), []
    years = predictive["years"].to_numpy(dtype=float)
    mid = (predictive["period_start"] + predictive["period_end"]).to_numpy(dtype=float) / 2
    single = years == 1
    lo, med, hi = (predictive[c].to_numpy(dtype=float) / years for c in ("q05", "median", "q95"))
    obs = predictive["observed"].to_numpy(dtype=float) / years
    ax.fill_between(mid[single], lo[single], hi[single], color=BAND_COLOUR, alpha=0.25, lw=0,
                    label="simulated, 90% band")
    ax.plot(mid[single], med[single], color=BAND_COLOUR, lw=1.5, label="simulated, median")
    ax.plot(mid[single], obs[single], "o", color=OBSERVED_COLOUR, ms=3.5, label="observed")
    for i in np.flatnonzero(~single):
        a, b = predictive["period_start"].iloc[i] - 0.4, predictive["period_end"].iloc[i] + 0.4
        ax.fill_between([a, b], lo[i], hi[i], color=BAND_COLOUR, alpha=0.25, lw=0)
        ax.plot([a, b], [med[i]] * 2, color=BAND_COLOUR, lw=1.5)
        ax.plot([a, b], [obs[i]] * 2, color=OBSERVED_COLOUR, lw=2)
        ax.annotate(f"{predictive['period'].iloc[i]}:\nyearly mean", (a, min(obs[i], lo[i])),
                    textcoords="offset points", xytext=(0, -20), ha="left", fontsize=7.5, color="#555555")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(style.THOUSANDS)
    ax.set_ylabel("arrivals per year (log scale)")
    ax.set_xlabel("year")
    ax.set_title(title)
    ax.legend(loc="lower left")
    inside = int(predictive["inside_90"].sum()) if "inside_90" in predictive else None
    for sax, row in zip(share_axes, shares.itertuples(index=False) if shares is not None and n_shares else []):
        _share_panel(sax, row)
    if inside is not None:
        style.note(fig, f"Band: 5%-95% of all runs of the accepted points. Observed inside the band: {inside} of "
                        f"{len(predictive)} periods.")
    return fig


SHARE_LABELS = {"female_share": "women", "route_share": "target routes"}
# What a panel's axis shows: shares in percent, the time abroad in years, forced returns as a count.
PANEL_TITLES = {"years_abroad": "mean years abroad of\narrivals {}", "repatriations": "forced returns\n{}"}
PANEL_FORMATS = {"years_abroad": lambda x, _p=None: f"{x:.3g} y", "repatriations": style.THOUSANDS}


def _share_panel(ax, row) -> None:
    """One target other than the arrivals (a share, the time abroad, the forced returns): the simulated 90% band
    and median against the observed value (a dot), range (a bar to the right) or lower bound (an arrow up from it),
    on a linear axis."""
    ax.plot([0, 0], [row.q05, row.q95], color=BAND_COLOUR, lw=10, alpha=0.3, solid_capstyle="butt",
            label="simulated, 90% band")
    ax.plot([0], [row.median], "_", color=BAND_COLOUR, ms=22, mew=2, label="simulated, median")
    bounded = np.isfinite(row.observed_high)
    if not bounded:
        ax.plot([0.35], [row.observed_low], "^", color=OBSERVED_COLOUR, ms=6, label="observed, at least")
    elif row.observed_high > row.observed_low:
        ax.plot([0.35, 0.35], [row.observed_low, row.observed_high], color=OBSERVED_COLOUR, lw=2.5,
                solid_capstyle="butt", label="observed range")
    else:
        ax.plot([0], [row.observed_low], "o", color=OBSERVED_COLOUR, ms=5, label="observed")
    top = max(row.q95, row.observed_high if bounded else row.observed_low)
    bottom = min(row.q05, row.observed_low)
    pad = 0.35 * (top - bottom) + 0.02 * top
    ax.set_ylim(max(0.0, bottom - pad), top + pad)
    ax.set_xlim(-1, 1)
    ax.set_xticks([])
    percent = FuncFormatter(lambda x, _p=None: f"{100 * x:.3g}%")
    fmt = PANEL_FORMATS.get(row.target)
    ax.yaxis.set_major_formatter(FuncFormatter(fmt) if callable(fmt) and not hasattr(fmt, "format_ticks")
                                 else fmt or percent)
    title = PANEL_TITLES.get(row.target, f"{SHARE_LABELS.get(row.target, row.target)} among\narrivals {{}}")
    ax.set_title(title.format(row.years), fontsize=8.5)


@style.styled
def posterior_pairs(points: pd.DataFrame, priors: dict[str, dict], title: str = "Posterior (accepted points)"
                    ) -> Figure:
    """Pairwise scatter of the free parameters: prior sample grey, accepted points coloured by distance."""
    names = list(priors)
    d = len(names)
    size = min(11.0, 1.9 * d + 1.0)
    fig = style.figure(size, size)
    axes = np.atleast_2d(fig.subplots(d, d, squeeze=False))
    acc = points[points["accepted"]] if "accepted" in points else points.iloc[0:0]
    rej = points[~points["accepted"]] if "accepted" in points else points
    # sequential ABC: the particles' importance weights (points.csv's `weight`), else equal weights
    weights = acc["weight"].to_numpy(dtype=float) if "weight" in acc and len(acc) else None
    dist = acc["distance"].to_numpy(dtype=float)
    norm = None
    scatter = None
    if len(acc):
        norm = Normalize(vmin=float(dist.min()), vmax=float(dist.max()) if dist.max() > dist.min()
                         else float(dist.min()) + 1e-9)
    for i, yname in enumerate(names):
        for j, xname in enumerate(names):
            ax = axes[i, j]
            if j > i:
                _correlation(ax, acc, xname, yname, weights)
                continue
            _axis(ax, priors[xname], "x")
            if i == j:
                _hist(ax, acc[xname].to_numpy(dtype=float), priors[xname], weights)
                ax.set_yticks([])
            else:
                _axis(ax, priors[yname], "y")
                ax.scatter(rej[xname], rej[yname], s=4, color="#C8C8C8", lw=0, rasterized=True)
                if len(acc):
                    scatter = ax.scatter(acc[xname], acc[yname], s=12, c=dist, cmap=style.SEQUENTIAL_CMAP + "_r",
                                         norm=norm, lw=0.3, edgecolor="white")
            if i == d - 1:
                ax.set_xlabel(_label(xname), fontsize=8 if len(short_name(xname)) <= 18 else 7)
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i != j:
                ax.set_ylabel(_label(yname), fontsize=8 if len(short_name(yname)) <= 18 else 7)
            elif j != 0:
                ax.tick_params(labelleft=False)
            ax.tick_params(labelsize=7)
    if scatter is not None:
        fig.colorbar(scatter, ax=list(axes[:, -1]), label="distance of the accepted points", shrink=0.5,
                     location="right")
    style.title(fig, title)
    style.note(fig, f"Grey: the other points sampled ({len(rej)}); coloured: the {len(acc)} accepted points. Axes "
                    "span the prior. Upper triangle: Spearman correlation of the accepted points"
                    + (", weighted (sim.weighted)." if weights is not None else "."))
    return fig


def short_name(name: str) -> str:
    """A parameter's dotted path shortened for an axis: 'ordinary.departure_rate', 'china.arrest_hazard',
    'china_lockdown_stuck.dwell' (policy name and target), 'repression 2012-01' (push series and date)."""
    parts = name.split(",")[0].split(".")
    if parts[0] == "policies" and len(parts) >= 4:
        return f"{parts[1]}.{parts[-1]}"
    if parts[0] == "push" and len(parts) == 4:
        return f"{parts[1]} {parts[3]}"
    if parts[0] in ("network", "population") and len(parts) >= 4:
        return f"{parts[2]}.{parts[-1]}"
    return ".".join(parts[-2:])


def _label(name: str) -> str:
    """short_name on two lines when long (split at its first '.')."""
    short = short_name(name)
    return short.replace(".", "\n", 1) if len(short) > 18 else short


def _correlation(ax, acc: pd.DataFrame, xname: str, yname: str, weights: np.ndarray | None = None) -> None:
    ax.axis("off")
    if len(acc) < 3:
        return
    rho = weighted_spearman(acc[xname].to_numpy(), acc[yname].to_numpy(), weights)
    ax.text(0.5, 0.5, f"ρ = {rho:+.2f}", ha="center", va="center", transform=ax.transAxes,
            fontsize=9 + 5 * abs(rho), color="#000000" if abs(rho) >= 0.5 else "#777777")


def _axis(ax, prior: dict, which: str) -> None:
    lo, hi = float(prior["low"]), float(prior["high"])
    axis = ax.xaxis if which == "x" else ax.yaxis
    if prior["dist"] == "loguniform":
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        decades = np.log10(hi / lo)
        subs = (1.0, 2.0, 5.0) if decades <= 1.0 else (1.0, 3.0) if decades <= 2.0 else (1.0,)
        axis.set_major_locator(LogLocator(subs=subs, numticks=6))
        axis.set_major_formatter(FuncFormatter(lambda v, _p=None: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_major_locator(MaxNLocator(4))
    (ax.set_xlim if which == "x" else ax.set_ylim)(lo, hi)


def _hist(ax, x: np.ndarray, prior: dict, weights: np.ndarray | None = None) -> None:
    lo, hi = float(prior["low"]), float(prior["high"])
    if prior["dist"] == "loguniform":
        bins = np.geomspace(lo, hi, 13)
    else:
        bins = np.linspace(lo, hi, 13)
    if len(x):
        ax.hist(x, bins=bins, weights=weights, color=BAND_COLOUR, alpha=0.7)
    ax.grid(False)


FIGURES = ("posterior_predictive", "posterior_pairs")  # what `figures` draws, by file stem


def figures(summary: dict, points: pd.DataFrame, predictive: pd.DataFrame | None, shares: pd.DataFrame | None,
            name: str, only: list[str] | None = None) -> dict[str, Figure]:
    """The figures of a calibration's files, name (= file stem) -> figure: `posterior_predictive` (when the
    calibration has an arrivals target, i.e. a predictive table) and `posterior_pairs`; `only` keeps the names
    given."""
    out: dict[str, Figure] = {}
    if predictive is not None and (not only or "posterior_predictive" in only):
        out["posterior_predictive"] = posterior_predictive(
            predictive, shares, title=f"{name}: observed against posterior predictive")
    if not only or "posterior_pairs" in only:
        what = ("the last generation's particles (sequential ABC)" if summary.get("method") == "smc" else
                "accepted points of the prior sample")
        out["posterior_pairs"] = posterior_pairs(points, summary["priors"], title=f"{name}: {what}")
    return out


def write_figures(out: str | Path, fmt: str = "png") -> list[Path]:
    """Draw the figures of a calibration directory into OUT/figures/ (`style.claim_figures_dir`, each file
    written atomically); return the files written. A figure this calibration does not draw (posterior_predictive
    without an arrivals target), and its figures in other formats than `fmt` (`bordersim plot --format svg`), are
    removed if bordersim wrote them: an earlier calibration in OUT may have drawn them, and they would describe
    that one. A damaged or missing file is an InputError naming it."""
    from sim.directories import load_calibration_dir

    data = load_calibration_dir(out)
    figdir = style.claim_figures_dir(Path(out) / "figures", default=True)
    figs = figures(data.summary, data.points, data.predictive, data.shares, data.name)
    return figdir.save({f"{stem}.{fmt}": fig for stem, fig in figs.items()}, fmt,
                       remove=[f"{stem}.{ext}" for stem in FIGURES for ext in style.FORMATS
                               if f"{stem}.{ext}" != f"{stem}.{fmt}" or stem not in figs])
