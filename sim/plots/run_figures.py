"""Figures of one run directory: flows over time with policy windows, yearly arrivals against the observed series
with the female share, outcome shares by route and by group. (The route-flow map is in route_map.py.)

Inputs are the files `bordersim run` wrote (see detect.RunData); counts are persons.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.scenario.dates import partial_years
from sim.observed import compare_yearly, load_observed, single_years, whole_years
from sim.plots import style
from sim.directories import RunData

LOSSES = ("caught", "repatriated", "returned", "killed")


def _step_word(run: RunData) -> str:
    return (run.scenario.get("time") or {}).get("step", "month")


def _month(text: str | None, fallback: pd.Timestamp) -> pd.Timestamp:
    return fallback if text is None else pd.Timestamp(f"{text}-01")


def _policy_windows(run: RunData, horizon_end: pd.Timestamp) -> list[tuple[str, pd.Timestamp, pd.Timestamp, bool]]:
    """Enabled policies as (name, start, end, open_ended), clipped to the horizon, ordered by start."""
    start0 = run.timeseries["date"].min()
    out = []
    for p in run.enabled_policies():
        start = max(_month(p["start"], start0), start0)
        end = _month(p.get("end"), horizon_end)
        end = min(end, horizon_end)
        if end > start:
            out.append((p["name"], start, end, p.get("end") is None))
    return sorted(out, key=lambda w: (w[1], w[0]))


def _with_end(wide: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Repeat the last row at the horizon's end so that step drawing ('post') shows the last step's width."""
    last = wide.iloc[[-1]].copy()
    last.index = pd.DatetimeIndex([end])
    return pd.concat([wide, last])


def _stack(ax, wide: pd.DataFrame, colours: dict[str, str]) -> None:
    """Stacked areas of counts per step, drawn as steps (a count belongs to its whole step)."""
    cols = [c for c in wide.columns if wide[c].sum() > 0]
    if cols:
        ax.stackplot(wide.index, *(wide[c].to_numpy() for c in cols), labels=cols,
                     colors=[colours[c] for c in cols], edgecolor=[colours[c] for c in cols], linewidth=0.4,
                     step="post")


def _overlap(windows) -> bool:
    """Whether any two windows overlap (windows sorted by start: then some neighbouring pair does)."""
    return any(b[1] < a[2] for a, b in pairwise(windows))


@style.styled
def flows(run: RunData) -> Figure:
    """Per step: people setting out by route (stacked), arrivals by route (stacked), losses by kind (lines);
    underneath, a lane per enabled policy showing its window. Policy starts are dotted lines in the panels; the
    windows are shaded there too unless they overlap (overlapping shades would hide the data)."""
    ts = run.timeseries
    step = _step_word(run)
    dates = pd.DatetimeIndex(sorted(ts["date"].unique()))
    step_len = dates[1] - dates[0] if len(dates) > 1 else pd.Timedelta(days=30)
    horizon_end = dates[-1] + step_len
    windows = _policy_windows(run, horizon_end)
    colours = style.route_colours(run.routes)

    by_route = ts.groupby(["date", "route"], observed=False)[["set_out", "arrived"]].sum()
    set_out = by_route["set_out"].unstack("route").reindex(index=dates, columns=run.routes, fill_value=0)
    arrived = by_route["arrived"].unstack("route").reindex(index=dates, columns=run.routes, fill_value=0)
    losses = ts.groupby("date")[list(LOSSES)].sum().reindex(dates, fill_value=0)

    lane_h = 0.3 + 0.2 * len(windows) if windows else 0
    fig = style.figure(10, 7.6 + lane_h)
    ratios = [1, 1, 1] + ([max(lane_h / 2.2, 0.35)] if windows else [])
    axes = fig.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    ax_out, ax_arr, ax_loss = axes[:3]

    _stack(ax_out, _with_end(set_out, horizon_end), colours)
    ax_out.set_title(f"People setting out per {step}, by route")
    _stack(ax_arr, _with_end(arrived, horizon_end), colours)
    ax_arr.set_title(f"Arrivals per {step}, by route")
    losses = _with_end(losses, horizon_end)
    for k in LOSSES:
        ax_loss.plot(losses.index, losses[k].to_numpy(), color=style.OUTCOME_COLOURS[k], lw=1.2,
                     label=style.OUTCOME_LABELS[k], ls="--" if k == "returned" else "-", drawstyle="steps-post")
    ax_loss.set_title(f"Losses per {step}, all routes")
    shade = not _overlap(windows)  # overlapping windows would stack into a dark wash over the data
    for ax in (ax_out, ax_arr, ax_loss):
        ax.set_ylabel(f"persons per {step}")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))  # counts of people: whole ticks
        ax.yaxis.set_major_formatter(style.THOUSANDS)
        ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))  # at least one person: no fractional ticks when all is 0
        ax.margins(x=0)
        for _, s, e, _open in windows:
            if shade:
                ax.axvspan(s, e, color="#777777", alpha=0.12, lw=0)
            ax.axvline(s, color="#555555", lw=0.7, ls=":")
    if not run.summary["totals"].get("set_out"):
        ax_out.text(0.5, 0.5, "nobody set out in this run", transform=ax_out.transAxes, ha="center", va="center",
                    fontsize=9, color="#555555")
    route_handles = [Patch(color=colours[r], label=r) for r in run.routes]
    ax_out.legend(handles=route_handles, loc="upper left", bbox_to_anchor=(1.01, 1), title="route")
    ax_arr.legend(handles=route_handles, loc="upper left", bbox_to_anchor=(1.01, 1), title="route")
    ax_loss.legend(loc="upper left", bbox_to_anchor=(1.01, 1), title="outcome")

    if windows:
        _policy_lane(axes[3], windows, dates[0], horizon_end)
        bottom = axes[3]
    else:
        bottom = ax_loss
        ax_loss.text(0.99, 0.95, "no enabled policies", transform=ax_loss.transAxes, ha="right", va="top",
                     fontsize=8, color="#555555")
    bottom.set_xlabel("date")
    bottom.set_xlim(dates[0], horizon_end)
    style.date_axis(bottom, (horizon_end - dates[0]).days / 365.25)
    style.title(fig, f"Flows over time: {run.name} (seed {run.summary['provenance']['seed']})")
    return fig


def _policy_lane(ax, windows, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """One row per policy: a shaded bar over its window and its name with its first and last month in force
    beside the bar, on the side with room."""
    mid = start + (end - start) / 2
    for i, (name, s, e, open_ended) in enumerate(windows):
        y = len(windows) - 1 - i
        ax.barh(y, e - s, left=s, height=0.7, color="#7F7F7F", alpha=0.55, lw=0)
        last = e - pd.Timedelta(days=1)  # the end month is exclusive: name the last month in force
        label = f"{name} (from {s:%Y-%m})" if open_ended else f"{name} ({s:%Y-%m} to {last:%Y-%m})"
        if s < mid:
            ax.text(s + pd.Timedelta(days=40), y, label, va="center", ha="left", fontsize=7.5, color="#111111")
        else:
            ax.text(s - pd.Timedelta(days=40), y, label, va="center", ha="right", fontsize=7.5, color="#111111")
    ax.set_yticks([])
    ax.set_ylim(-0.6, len(windows) - 0.4)
    ax.set_ylabel("policies\nin force", rotation=0, ha="right", va="center")
    ax.grid(axis="y", visible=False)
    ax.spines["left"].set_visible(False)


def _observed_name(run: RunData) -> str | None:
    return run.scenario.get("observed")


@style.styled
def yearly(run: RunData) -> Figure:
    """Arrivals per calendar year (bars) with the observed series (black) when the scenario names one, and the
    female share of arrivals per year beside it. A multi-year observed period is drawn as a segment at its
    per-year average; the cumulative row is never drawn. Years the run covers only in part are hatched."""
    by_year = {int(y): v for y, v in run.summary["arrivals_by_year"].items()}
    female = {int(y): v for y, v in run.summary["female_share_by_year"].items()}
    years = np.array(sorted(by_year))
    partial = set(partial_years(run.timeseries.drop_duplicates("date")["date"].dt.date, _step_word(run)))

    fig = style.figure(11, 4.4)
    ax, ax_f = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.1, 1]})
    bars = ax.bar(years, [by_year[y] for y in years], color=style.OUTCOME_COLOURS["arrived"], alpha=0.8,
                  width=0.8)
    for b, y in zip(bars, years):
        if y in partial:
            b.set_hatch("///")
            b.set_alpha(0.45)
    ax_f.plot(years, [np.nan if female[y] is None else female[y] for y in years], marker="o", ms=3.5,
              color=style.OUTCOME_COLOURS["arrived"], lw=1.3, label="simulated")

    name = _observed_name(run)
    footnote = ""
    if name:
        obs = load_observed(name)
        comp = compare_yearly(run.summary["arrivals_by_year"], obs,
                              whole_years(run.scenario["time"]["start"], run.scenario["time"]["end"]))
        single = single_years(obs, years)
        ax.plot(single["period_start"], single["arrivals"], "o-", color="black", ms=3.5, lw=1,
                label=f"observed ({name})")
        ax_f.plot(single["period_start"], single["female_share"], "o", color="black", ms=3.5,
                  label=f"observed ({name})")
        multi = obs[(~obs["cumulative"]) & (obs["period_start"] < obs["period_end"])]
        for rec in multi.itertuples(index=False):
            if rec.period_end < years.min() or rec.period_start > years.max():
                continue
            n = rec.period_end - rec.period_start + 1
            xs = [rec.period_start - 0.4, rec.period_end + 0.4]
            ax.plot(xs, [rec.arrivals / n] * 2, color="black", lw=2.4, solid_capstyle="butt",
                    label="observed, multi-year period\n(mean per year)")
            ax.annotate(f"{rec.period_start}-{rec.period_end}", (sum(xs) / 2, rec.arrivals / n),
                        xytext=(0, 3), textcoords="offset points", fontsize=7, ha="center", va="bottom",
                        color="#222222", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                               "alpha": 0.85})
            ax_f.plot(xs, [rec.female_share] * 2, color="black", lw=2.4, solid_capstyle="butt")
        if len(comp):
            rms = float(np.sqrt(np.mean(comp["log_error"] ** 2)))
            footnote = (f"Observed: {name} (sim/data/{name}.csv). Like-with-like comparison over {len(comp)} "
                        f"period{'s' if len(comp) != 1 else ''}: RMS of ln(1+simulated) - ln(1+observed) = {rms:.2f}.")
        ax.set_title("Arrivals per year: simulated vs observed")
    else:
        ax.set_title("Arrivals per year (simulated; the scenario names no observed series)")
    ax.set_xlabel("year")
    ax.set_ylabel("arrivals (persons per year)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(style.THOUSANDS)
    ax_f.set_title("Female share of arrivals")
    ax_f.set_xlabel("year")
    ax_f.set_ylabel("female share of arrivals (%)")
    ax_f.set_ylim(0, 1)
    ax_f.yaxis.set_major_formatter(style.PERCENT)
    _year_ticks(ax, years, max_ticks=16)
    _year_ticks(ax_f, years, max_ticks=7)
    # legends in room kept free for them: headroom above the tallest bar, the empty band under low shares
    green = style.OUTCOME_COLOURS["arrived"]
    handles = [Patch(facecolor=green, alpha=0.8, label="simulated")]
    if partial:
        handles.append(Patch(facecolor=green, alpha=0.45, hatch="///", label="simulated, partial year"))
    handles += ax.get_legend_handles_labels()[0]
    rows = 1 if len(handles) <= 3 else 2  # four entries in one row ran past the axes over the tick labels
    top = max([1.0, *by_year.values(), *(ax.get_ylim()[1:])])  # at least one person: no fractional ticks
    ax.set_ylim(0, top * (1.2 if rows == 1 else 1.35))
    ax.legend(handles=handles, loc="upper center", ncol=-(-len(handles) // rows))
    ax_f.legend(loc="lower left")
    style.title(fig, f"Yearly arrivals: {run.name}")
    if footnote:
        style.note(fig, footnote)
    return fig


def _year_ticks(ax, years: np.ndarray, max_ticks: int) -> None:
    """Integer year ticks on round years, at most max_ticks of them, horizontal."""
    span = int(years.max() - years.min()) if len(years) else 0
    step = style.year_step(span, max_ticks)
    first = years.min() + (-years.min()) % step
    ax.set_xticks(np.arange(first, years.max() + 1, step))
    ax.set_xlim(years.min() - 0.7, years.max() + 0.7)


@style.styled
def outcome_shares(run: RunData) -> Figure:
    """For each route and each group, the share of the people who started ending in each outcome (arrived,
    turned back, caught, repatriated, killed, still in transit at the end); n = people who started: who set out,
    plus the initial stock (on the way at the first step) where the run has one, so the shares add up to 1."""
    order = ["arrived", "returned", "caught", "repatriated", "killed", "in_transit"]
    tables = [("route", run.summary["by_route"]), ("group", run.summary["by_group"])]
    stock = "initial_stock" in run.summary["totals"]
    started = "people who set out or were on the way at the start" if stock else "people who set out"
    heights = [0.45 * max(len(t), 1) + 0.9 for _, t in tables]
    fig = style.figure(10, sum(heights) + 1.2)
    axes = fig.subplots(2, 1, gridspec_kw={"height_ratios": heights})
    for ax, (what, table) in zip(axes, tables):
        names = list(table)
        n = np.array([table[k]["set_out"] + table[k].get("initial_stock", 0) for k in names], dtype=float)
        left = np.zeros(len(names))
        ys = np.arange(len(names))[::-1]
        for k in order:
            share = np.divide([table[x][k] for x in names], n, out=np.zeros(len(names)), where=n > 0)
            ax.barh(ys, share, left=left, color=style.OUTCOME_COLOURS[k], height=0.7,
                    label=style.OUTCOME_LABELS[k], edgecolor="white", linewidth=0.5)
            for y, s, lft in zip(ys, share, left):
                if s >= 0.07:
                    ax.text(lft + s / 2, y, f"{100 * s:.0f}%", ha="center", va="center", fontsize=7.5,
                            color=style.ink_on(style.OUTCOME_COLOURS[k]))
            left += share
        for y, count in zip(ys, n):
            ax.text(1.01, y, f"n = {count:,.0f}", va="center", ha="left", fontsize=8)
        ax.set_yticks(ys, names)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(style.PERCENT)
        ax.set_xlabel(f"share of the {started} (%)")
        ax.set_ylabel(what)
        ax.set_title(f"Outcomes by {what} (n = {started})")
        ax.grid(axis="y", visible=False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(order))
    style.title(fig, f"Where people are lost, and who: {run.name}")
    return fig
