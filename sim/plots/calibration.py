"""Figures of a calibration directory (`bordersim calibrate`), drawn from the files it wrote, never from runs.

- posterior predictive: observed arrivals per period against the 90% band (5%-95% quantiles) and the median of
  the accepted points' runs, on a log scale; a multi-year observed period (1999-2001) is drawn as its yearly
  mean over the period's years; the share targets as intervals next to their observed values;
- posterior pairs: every pair of free parameters, prior sample in grey and accepted points coloured by distance,
  axes spanning the prior (log axes for loguniform priors); the diagonal shows the accepted values' histogram.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.plots import style

OBSERVED_COLOUR = "#000000"
BAND_COLOUR = style.OKABE_ITO[0]


@style.styled
def posterior_predictive(predictive: pd.DataFrame, shares: pd.DataFrame | None = None,
                         title: str = "Posterior predictive") -> Figure:
    """Observed against simulated arrivals per observed period (per-year mean for multi-year periods)."""
    with_shares = shares is not None and not shares.empty
    fig = style.figure(9.5 if with_shares else 8.0, 4.2)
    if with_shares:
        ax, sax = fig.subplots(1, 2, width_ratios=[3.2, 1])
    else:
        ax, sax = fig.subplots(1, 1), None
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
        ax.annotate(f"{predictive['period'].iloc[i]}\n(yearly mean)", (mid[i], obs[i]), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=7.5, color="#555555")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(style.THOUSANDS)
    ax.set_ylabel("arrivals per year (log scale)")
    ax.set_xlabel("year")
    ax.set_title(title)
    ax.legend(loc="lower left")
    inside = int(predictive["inside_90"].sum()) if "inside_90" in predictive else None
    if sax is not None:
        _shares_panel(sax, shares)
    if inside is not None:
        style.note(fig, f"Band: 5%-95% of all runs of the accepted points. Observed inside the band: {inside} of "
                        f"{len(predictive)} periods.")
    return fig


def _shares_panel(ax, shares: pd.DataFrame) -> None:
    labels = {"female_share": "female share", "route_share": "direct-route share"}
    for i, row in enumerate(shares.itertuples(index=False)):
        ax.plot([i, i], [row.q05, row.q95], color=BAND_COLOUR, lw=6, alpha=0.35, solid_capstyle="butt")
        ax.plot([i], [row.median], "_", color=BAND_COLOUR, ms=16, mew=2)
        ax.plot([i], [row.observed], "o", color=OBSERVED_COLOUR, ms=5)
    ax.set_xticks(range(len(shares)), [f"{labels.get(t, t)}\n{y}" for t, y in zip(shares["target"],
                                                                                     shares["years"])])
    ax.set_xlim(-0.6, len(shares) - 0.4)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(style.PERCENT if shares["q95"].max() > 0.05 else
                                 FuncFormatter(lambda x, _p=None: f"{100 * x:.2g}%"))
    ax.set_title("Share targets")
    ax.set_ylabel("share of arrivals (log scale)")


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
                ax.set_visible(False)
                continue
            _axis(ax, priors[xname], "x")
            if i == j:
                _hist(ax, acc[xname].to_numpy(dtype=float), priors[xname])
                ax.set_yticks([])
            else:
                _axis(ax, priors[yname], "y")
                ax.scatter(rej[xname], rej[yname], s=4, color="#C8C8C8", lw=0, rasterized=True)
                if len(acc):
                    scatter = ax.scatter(acc[xname], acc[yname], s=12, c=dist, cmap=style.SEQUENTIAL_CMAP + "_r",
                                         norm=norm, lw=0.3, edgecolor="white")
            if i == d - 1:
                ax.set_xlabel(style.param_short(xname), fontsize=8)
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i != j:
                ax.set_ylabel(style.param_short(yname), fontsize=8)
            elif j != 0:
                ax.tick_params(labelleft=False)
            ax.tick_params(labelsize=7)
    if scatter is not None:
        fig.colorbar(scatter, ax=axes[0, -1] if d > 1 else axes[0, 0], label="distance", shrink=0.8,
                     location="left" if d > 1 else "right")
    fig.suptitle(title)
    style.note(fig, f"Grey: the other prior points ({len(rej)}); coloured: the {len(acc)} accepted points. "
                    "Axes span the prior.")
    return fig


def _axis(ax, prior: dict, which: str) -> None:
    lo, hi = float(prior["low"]), float(prior["high"])
    log = prior["dist"] == "loguniform"
    if which == "x":
        ax.set_xscale("log" if log else "linear")
        ax.set_xlim(lo, hi)
    else:
        ax.set_yscale("log" if log else "linear")
        ax.set_ylim(lo, hi)


def _hist(ax, x: np.ndarray, prior: dict) -> None:
    lo, hi = float(prior["low"]), float(prior["high"])
    if prior["dist"] == "loguniform":
        bins = np.geomspace(lo, hi, 13)
    else:
        bins = np.linspace(lo, hi, 13)
    if len(x):
        ax.hist(x, bins=bins, color=BAND_COLOUR, alpha=0.7)
    ax.grid(False)


def write_figures(out: str | Path, fmt: str = "png") -> list[Path]:
    """Draw both figures of a calibration directory into OUT/figures/; return the files written."""
    out = Path(out)
    summary = json.loads((out / "calibration.json").read_text())
    figdir = out / "figures"
    figdir.mkdir(exist_ok=True)
    written = []
    name = summary.get("name", out.name)
    pred_path = out / "predictive.csv"
    if pred_path.exists():
        shares_path = out / "shares_predictive.csv"
        shares = pd.read_csv(shares_path) if shares_path.exists() else None
        fig = posterior_predictive(pd.read_csv(pred_path), shares, title=f"{name}: observed against posterior "
                                                                         "predictive")
        written.append(_save(fig, figdir / f"posterior_predictive.{fmt}", fmt))
    points = pd.read_csv(out / "points.csv")
    fig = posterior_pairs(points, summary["priors"], title=f"{name}: accepted points of the prior sample")
    written.append(_save(fig, figdir / f"posterior_pairs.{fmt}", fmt))
    return written


def _save(fig: Figure, path: Path, fmt: str) -> Path:
    style.save(fig, path, fmt)
    return path

