"""Policy comparisons of a policies-design sweep against a baseline package (the first in the spec unless named):
bars of the paired difference of each total outcome (policy_bars), and arrivals year by year with their paired
differences (policy_years).

Differences come from `sim.experiments.summarize.paired_differences`: d_k = x_k(package) − x_k(baseline) over the
replicates k present in both (replicate k of every package used the same random stream), mean ± t₀.₉₇₅,ₙ₋₁·sd/√n.
With other varying parameters, each combination is compared with the baseline package at the same combination.
With fewer than MIN_REPLICATES replicates the figures draw each replicate's value (or paired difference) instead
of a t-interval (see sweep_figures).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.experiments.summarize import paired_differences, summarize
from sim.plots import style
from sim.directories import SweepData, read_yaml
from sim.errors import InputError
from sim.scenario.dates import Span, partial_years, step_dates
from sim.plots.sweep_figures import (MIN_REPLICATES, REPLICATE_MARKER, NotApplicable, facet_title, interval_handles,
                                     replicates_note, require_ok, select)

NOT_BLACK = [c for c in style.OKABE_ITO if c != "#000000"]  # the palette's seven colours
LINE_STYLES = ("-", ":", "-.")  # a line's style for the 1st-7th, 8th-14th, 15th-21st package of a colour cycle
HATCHES = ("", "////", "....")  # a bar's hatching likewise
POLICY_OUTCOMES = ("set_out", "arrived", "caught", "killed", "repatriated", "returned")


def sweep_partial_years(sw: SweepData) -> list[int] | None:
    """The years a sweep's horizon covers in part (`sim.scenario.dates.partial_years` of the time of its base
    scenario, scenario.resolved.yaml), or None when they are not known: a parameter or a policy package sets the
    time, so points differ, or the file cannot be read as a horizon."""
    packages = (sw.manifest.get("spec") or {}).get("design", {}).get("policies") or {}
    paths = [*sw.parameters, *(p for sets in packages.values() if isinstance(sets, dict) for p in sets)]
    if any(p == "time" or p.startswith("time.") for p in paths):
        return None
    try:
        time = read_yaml(sw.path / "scenario.resolved.yaml")["time"]
        span = Span(str(time["start"]), str(time["end"]), str(time.get("step", "month")))
        return partial_years(step_dates(span), span.step)
    except (InputError, TypeError, KeyError, AttributeError, ValueError):
        return None


def cycled(i: int, kinds: tuple[str, ...]) -> tuple[str, str]:
    """The i-th (from 0) of several things told apart by colour: the Okabe-Ito colours but black in turn, and
    after each seven the next of `kinds` (line styles, hatches), so that none of the first 21 share both."""
    return NOT_BLACK[i % len(NOT_BLACK)], kinds[(i // len(NOT_BLACK)) % len(kinds)]


def package_styles(packages: list[str], base: str) -> dict[str, tuple[str, str]]:
    """Package -> (colour, line style): black and dashed for the baseline package; the others `cycled` (solid for
    the first seven, then dotted, then dash-dotted: with one style the eighth package took the first's colour)."""
    rest = [p for p in packages if p != base]
    return {p: ("black", "--") if p == base else cycled(rest.index(p), LINE_STYLES) for p in packages}


def baseline_package(sw: SweepData, baseline: str | None = None) -> str:
    """The baseline policy package: the one named, else the first in the spec."""
    packages = sw.packages or sorted(sw.ok["policy"].dropna().unique())
    if baseline is None:
        return packages[0]
    if baseline not in packages:
        raise NotApplicable(f"baseline '{baseline}' is not a policy package of this sweep; packages: "
                            f"{', '.join(packages)}")
    return baseline


def paired_against_baseline(sw: SweepData, outcomes: list[str], base: str, *,
                            only: dict | None = None) -> pd.DataFrame:
    """Paired differences (`sim.experiments.summarize.paired_differences`) of every other package against the
    baseline package, separately for each combination of the other varying parameters (the baseline point of
    that combination), or only for the combination `only`. Columns: combo (text), policy, outcome, n, diff,
    ci_low, ci_high, baseline_mean, values (the per-replicate differences d_k, in replicate order)."""
    others = sw.varying()
    combos = sw.ok[others].drop_duplicates().sort_values(others).to_dict("records") if others else [{}]
    if only is not None:
        combos = [only]
    rows = []
    for combo in combos:
        sub = select(sw.runs, combo)
        base_pts = sub[(sub["policy"] == base) & (sub["status"] == "ok")]["point"].unique()
        if len(base_pts) != 1:
            continue
        diffs = paired_differences(sub, sw.parameters, int(base_pts[0]), outcomes)
        means = summarize(sub[sub["point"] == base_pts[0]], sw.parameters, outcomes).set_index("outcome")["mean"]
        ok = sub[sub["status"] == "ok"]
        base_runs = ok[ok["point"] == base_pts[0]].set_index("replicate")
        for rec in diffs.to_dict("records"):
            if rec["policy"] != base:
                runs = ok[ok["point"] == rec["point"]].set_index("replicate")
                common = sorted(runs.index.intersection(base_runs.index))
                d = (runs.loc[common, rec["outcome"]].astype(float)
                     - base_runs.loc[common, rec["outcome"]].astype(float))
                rows.append({"combo": facet_title(combo), "policy": rec["policy"], "outcome": rec["outcome"],
                             "n": rec["n"], "diff": rec["diff"], "ci_low": rec["ci_low"],
                             "ci_high": rec["ci_high"], "baseline_mean": float(means[rec["outcome"]]),
                             "values": [float(v) for v in d.dropna()]})
    return pd.DataFrame(rows, columns=["combo", "policy", "outcome", "n", "diff", "ci_low", "ci_high",
                                       "baseline_mean", "values"])


@style.styled
def policy_bars(sw: SweepData, baseline: str | None = None) -> dict[str, Figure]:
    """Policies design: for each total outcome, every package's paired difference from the baseline package
    (replicate k against replicate k, common random numbers) with its 95% interval, or with each replicate's
    difference as a dot when there are fewer than MIN_REPLICATES; the label gives the difference and the
    baseline mean it is relative to. With other parameters, one bar per combination."""
    require_ok(sw)
    if sw.design != "policies" or "policy" not in sw.runs.columns:
        raise NotApplicable("policy comparison bars need a policies design")
    base = baseline_package(sw, baseline)
    packages = [p for p in (sw.packages or sorted(sw.ok["policy"].unique())) if p != base]
    if not packages:
        raise NotApplicable("the sweep has only one policy package")
    outcomes = [o for o in POLICY_OUTCOMES if o in sw.runs.columns]
    data = paired_against_baseline(sw, outcomes, base)
    if data.empty:
        raise NotApplicable(f"no successful runs of the baseline package '{base}'")
    data = data.rename(columns={"ci_low": "lo", "ci_high": "hi", "baseline_mean": "base"})
    combo_names = list(dict.fromkeys(data["combo"]))
    hue = {c: cycled(i, HATCHES) for i, c in enumerate(combo_names)}  # (colour, hatch); black: the zero line
    ncols = 3 if len(outcomes) > 4 else len(outcomes)
    nrows = int(np.ceil(len(outcomes) / ncols))
    bar_h = 0.8 / len(combo_names)
    shown = {"band": False, "dots": False}
    fig = style.figure(4.3 * ncols + 0.8, nrows * (0.45 * len(packages) * max(1, len(combo_names) * 0.6) + 1.5) + 1)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()  # the same packages in every panel
    for ax, outcome in zip(axes, outcomes):
        d = data[data["outcome"] == outcome]
        for k, cname in enumerate(combo_names):
            for i, pkg in enumerate(packages):
                rec = d[(d["policy"] == pkg) & (d["combo"] == cname)]
                if rec.empty:
                    continue
                rec = rec.iloc[0]
                y = len(packages) - 1 - i + (len(combo_names) - 1) / 2 * bar_h - k * bar_h
                if rec["n"] == 0 or np.isnan(rec["diff"]):  # no pair of successful runs: nothing to draw
                    ax.annotate("no successful runs", (0, y), xytext=(4, 0), textcoords="offset points",
                                va="center", fontsize=7.5, color="#555555", style="italic")
                    continue
                colour, hatch = hue[cname] if len(combo_names) > 1 else (
                    style.OUTCOME_COLOURS[outcome] if outcome != "killed" else "#555555", "")
                err = None
                few = rec["n"] < MIN_REPLICATES
                if not few and not np.isnan(rec["lo"]):
                    err = [[rec["diff"] - rec["lo"]], [rec["hi"] - rec["diff"]]]
                    shown["band"] = True
                ax.barh(y, rec["diff"], height=bar_h * 0.85, color=colour, alpha=0.85, xerr=err, hatch=hatch,
                        error_kw={"elinewidth": 1.1, "capsize": 3, "ecolor": "#222222"})
                right = max(0.0, rec["diff"], rec["hi"] if err is not None else rec["diff"])
                if few and rec["values"]:
                    ax.plot(rec["values"], [y] * len(rec["values"]), color="#222222", gid="replicate",
                            **{**REPLICATE_MARKER, "ms": 4, "alpha": 0.9})
                    right = max(right, *rec["values"])
                    shown["dots"] = True
                rel = f" ({style.signed(round(100 * rec['diff'] / rec['base'], 1))}%)" if rec["base"] else ""
                ax.annotate(f"{style.signed(rec['diff'])}{rel}", (right, y), xytext=(4, 0),
                            textcoords="offset points", va="center", fontsize=7.5)
        ax.axvline(0, color="black", lw=0.9)
        ax.set_yticks(range(len(packages))[::-1], packages)
        ax.set_ylim(-0.6, len(packages) - 0.4)
        lo, hi = _extent(d)
        span = (hi - lo) or 1
        ax.set_xlim(lo - 0.08 * span, hi + 0.45 * span)  # room on the right for the value labels
        ax.xaxis.set_major_formatter(style.THOUSANDS)
        ax.set_xlabel(f"difference in {style.OUTCOME_LABELS[outcome]} (persons)")
        ax.set_title(style.OUTCOME_LABELS[outcome].capitalize())
        ax.grid(axis="y", visible=False)
    for ax in axes[len(outcomes):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("policy package")
    if len(combo_names) > 1:
        fig.legend(handles=[Patch(facecolor=hue[c][0], hatch=hue[c][1], label=c) for c in combo_names],
                   loc="outside right upper",
                   title="other parameters")
    fig.legend(handles=interval_handles(shown["band"], shown["dots"], "error bar"), loc="outside right lower",
               title="uncertainty")
    what = {(True, False): "95% CI", (False, True): "each replicate's difference",
            (True, True): "95% CI or each replicate's difference"}.get((shown["band"], shown["dots"]), "95% CI")
    style.title(fig, f"Policy packages against the baseline '{base}': paired difference over the run, {what}")
    how = ("with its 95% t-interval" if not shown["dots"] else
           f"with each replicate's difference (dots) where fewer than {MIN_REPLICATES}" if not shown["band"] else
           f"with its 95% t-interval, or each replicate's difference (dots) where fewer than {MIN_REPLICATES}")
    style.note(fig, replicates_note(sw, f"bars: mean of x(package, k) - x(baseline, k) over replicates k {how}; "
                                         "(%): relative to the baseline mean"))
    return {"policy_bars": fig}


def _extent(d: pd.DataFrame) -> tuple[float, float]:
    """The x range a panel of bars must show: 0, every difference, every interval drawn, every replicate dot."""
    if not len(d):
        return 0.0, 1.0
    drawn = [0.0, *d["diff"].dropna()]
    for rec in d.to_dict("records"):
        if rec["n"] < MIN_REPLICATES:
            drawn += list(rec["values"])
        else:
            drawn += [v for v in (rec["lo"], rec["hi"]) if not np.isnan(v)]
    return float(min(drawn)), float(max(drawn))


MAX_ROWS = 4
PARTIAL_SHADE = "#e6e6e6"  # light grey behind the years the horizon covers only in part


@style.styled
def policy_years(sw: SweepData, baseline: str | None = None) -> dict[str, Figure]:
    """Policies design with yearly outcomes kept: per year, the mean arrivals of every package with its 95% band
    (left), and each package's paired difference from the baseline with its 95% band (right); where a package
    has fewer than MIN_REPLICATES replicates, its replicates (and their differences) as dots instead of a band.
    One row per combination of the other varying parameters (at most MAX_ROWS)."""
    require_ok(sw)
    if sw.design != "policies" or "policy" not in sw.runs.columns:
        raise NotApplicable("yearly policy comparisons need a policies design")
    years = sw.years
    if len(years) < 2:
        raise NotApplicable("the sweep kept no yearly outcomes (outputs.keep lacks by_year)")
    base = baseline_package(sw, baseline)
    packages = sw.packages or sorted(sw.ok["policy"].unique())
    cols = [f"year.{y}.arrived" for y in years]
    x = np.array([int(y) for y in years])
    others = sw.varying()
    combos = sw.ok[others].drop_duplicates().sort_values(others).to_dict("records") if others else [{}]
    note = ""
    if len(combos) > MAX_ROWS:
        combos, note = combos[:MAX_ROWS], f"first {MAX_ROWS} of {len(combos)} parameter combinations shown"
    styles = package_styles(packages, base)
    colours = {p: colour for p, (colour, _) in styles.items()}
    partial = [y for y in sweep_partial_years(sw) or () if str(y) in years]
    fig = style.figure(12, 3.6 * len(combos) + 1.2)
    axes = fig.subplots(len(combos), 2, squeeze=False, sharex=True)
    band = dots = False
    for row, combo in enumerate(combos):
        sub = select(sw.runs, combo)
        ok = sub[sub["status"] == "ok"]
        means = summarize(sub, sw.parameters, cols)
        diffs = paired_against_baseline(sw, cols, base, only=combo)
        ax_m, ax_d = axes[row]
        for pkg in packages:
            t = means[means["policy"] == pkg].set_index("outcome").reindex(cols)
            # the baseline dashed on top: where packages agree (common random numbers), both stay visible
            ax_m.plot(x, t["mean"], marker="o", ms=3, lw=1.2 if pkg == base else 1.6, color=colours[pkg],
                      label=pkg, ls=styles[pkg][1], zorder=3 if pkg == base else 2)
            if t["n"].min() >= MIN_REPLICATES:
                ax_m.fill_between(x, t["ci_low"], t["ci_high"], color=colours[pkg], alpha=0.15, lw=0)
                band = True
            else:
                reps = ok.loc[ok["policy"] == pkg, cols].to_numpy(dtype=float)
                ax_m.plot(np.tile(x, len(reps)), reps.ravel(), color=colours[pkg], gid="replicate",
                          **REPLICATE_MARKER)
                dots = True
            if pkg == base:
                continue
            d = diffs[diffs["policy"] == pkg].set_index("outcome").reindex(cols)
            ax_d.plot(x, d["diff"], marker="o", ms=3, lw=1.4, color=colours[pkg], ls=styles[pkg][1], label=pkg)
            if d["n"].min() >= MIN_REPLICATES:
                ax_d.fill_between(x, d["ci_low"], d["ci_high"], color=colours[pkg], alpha=0.2, lw=0)
                band = True
            else:
                xs = [xi for xi, v in zip(x, d["values"]) for _ in (v if isinstance(v, list) else [])]
                ys = [u for v in d["values"] for u in (v if isinstance(v, list) else [])]
                ax_d.plot(xs, ys, color=colours[pkg], gid="replicate", **REPLICATE_MARKER)
                dots = True
        ax_d.axhline(0, color="black", lw=0.9, ls="--")
        title = facet_title(combo)
        ax_m.set_title("Arrivals per year" + (f" ({title})" if title else ""))
        ax_d.set_title(f"Paired difference from '{base}'" + (f" ({title})" if title else ""))
        ax_m.set_ylabel("arrivals (persons per year)")
        ax_d.set_ylabel("difference (persons per year)")
        ax_m.set_ylim(bottom=0)
        for ax in (ax_m, ax_d):
            ax.yaxis.set_major_formatter(style.THOUSANDS)
            for y in partial:  # fewer months (weeks) than a whole year: not comparable with the others
                ax.axvspan(y - 0.5, y + 0.5, color=PARTIAL_SHADE, lw=0, zorder=0)
    for ax in axes[-1]:
        ax.set_xlabel("year")
    span = int(x.max() - x.min())
    step = next(s for s in (1, 2, 5, 10, 20) if span // s + 1 <= 10)
    for ax in axes[-1]:
        ax.set_xticks(np.arange(x.min() + (-x.min()) % step, x.max() + 1, step))
    handles = [Line2D([], [], color=colours[p], ls=styles[p][1], lw=2,
                      label=p + (" (baseline)" if p == base and "baseline" not in p else "")) for p in packages]
    fig.legend(handles=handles, loc="outside right upper", title="policy package")
    fig.legend(handles=interval_handles(band, dots), loc="outside right lower", title="uncertainty")
    what = {(True, False): "95% bands", (False, True): "each replicate",
            (True, True): "95% bands or each replicate"}.get((band, dots), "95% bands")
    style.title(fig, f"Arrivals per year by policy package (mean and paired difference, {what})")
    how = "bands: 95% t-interval" if band else ""
    if dots:
        how += ("; " if how else "") + f"dots: each replicate where a package has fewer than {MIN_REPLICATES}"
    if partial:
        how += ("; " if how else "") + ("shaded: " + ", ".join(map(str, partial)) +
                                        ", covered only in part by the horizon")
    style.note(fig, replicates_note(sw, how + (f"; {note}" if note else "")))
    return {"policy_years": fig}
