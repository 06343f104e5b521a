"""The dashboard's panels, drawn from the run so far (a `RunResult` cut to the steps taken) and its scenario.

Small figures with a fixed layout (no constrained layout, no label placement), each a live view whose axes and
labels are drawn once and whose data are drawn over them at each step (`LiveFigure`; the axes are drawn again
only when the data outgrow them), so that a step of the Korea model redraws in under a second. The colours and
labels are those of every bordersim figure (`sim.plots.style`, the loss colour map of `sim.plots.route_map`).
Each view's docstring states what it draws.
"""

from __future__ import annotations

import io
from collections import defaultdict

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from PIL import Image

from sim.engine.ledger import RunResult
from sim.observed import load_observed, single_years
from sim.outcomes import EDGE_CAUGHT, EDGE_ENTERED, EDGE_KILLED, EDGE_RETURNED
from sim.plots import style
from sim.plots.route_map import LOSS_CMAP, layout
from sim.scenario.schema import Scenario

__all__ = ["SHARES", "ArrivalsView", "FemaleShareView", "LiveFigure", "NetworkView", "OutcomesView", "WaitingView",
           "identity", "totals_table"]

SIZE = (5.6, 3.5)  # inches, each panel
DPI = 80
SHARES = ("arrived", "returned", "caught", "repatriated", "killed", "in_transit")  # outcome order of the bars


def _figure(size: tuple[float, float] = SIZE) -> Figure:
    fig = Figure(figsize=size, dpi=DPI)  # no layout engine: margins fixed below
    FigureCanvasAgg(fig)  # drawn with Agg, never through pyplot
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.15, top=0.88)
    return fig


def years_of(result: RunResult) -> tuple[np.ndarray, np.ndarray]:
    """(calendar years taken so far, arrivals in each), from `RunResult.arrivals_by_year`."""
    by_year = result.arrivals_by_year()
    return np.array([int(y) for y in by_year]), np.array(list(by_year.values()))


class LiveFigure:
    """A figure whose axes, labels and legends are drawn once and whose data artists (made with animated=True)
    are drawn again over that background at each update: the costly text is not laid out and rasterised at
    every step. `rebuild()` draws the background again when the axes must change."""

    def __init__(self, fig: Figure, dynamic: list):
        assert isinstance(fig.canvas, FigureCanvasAgg)  # `_figure` attaches one
        self.fig = fig
        self.canvas: FigureCanvasAgg = fig.canvas
        self.dynamic = dynamic
        self.background = None

    def rebuild(self) -> None:
        with mpl.rc_context(style.RC):  # ticks are made at draw time: in the plots' style
            self.canvas.draw()  # animated artists are left out
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def png(self) -> bytes:
        """The figure with the data artists as they are now, as PNG bytes."""
        if self.background is None:
            self.rebuild()
        canvas = self.canvas
        canvas.restore_region(self.background)
        for artist in self.dynamic:
            self.fig.draw_artist(artist)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="png", compress_level=1)
        return buf.getvalue()


class NetworkView:
    """The route network at its node coordinates (`sim.plots.route_map.layout`; the dense core when a few nodes
    lie far away, their edges running off the panel): an arrow per edge, as wide as the number of people who
    entered it so far relative to the busiest edge, coloured by its loss rate so far, (turned back + caught +
    killed) / entered; grey and dashed where nobody entered yet. Edges between the same two nodes bend apart."""

    @style.styled
    def __init__(self, scenario: Scenario):
        lay = layout([n.model_dump() for n in scenario.network.nodes])
        fig = _figure((5.6, 4.2))
        fig.subplots_adjust(left=0.04, right=0.86, bottom=0.04, top=0.9)
        ax = fig.add_subplot()
        cbar = fig.colorbar(PathCollection([], cmap=LOSS_CMAP, norm=Normalize(0, 1)), ax=ax, fraction=0.04,
                            pad=0.02, format=style.PERCENT)  # first: it takes its room from the axes
        cbar.set_label("loss rate on the edge", fontsize=8)
        pairs: dict[frozenset, int] = defaultdict(int)
        self.arrows = []
        for e in scenario.network.edges:
            k = pairs[frozenset((e.from_, e.to))]
            pairs[frozenset((e.from_, e.to))] += 1
            arrow = FancyArrowPatch(lay.pos[e.from_], lay.pos[e.to], arrowstyle="-|>", shrinkA=4, shrinkB=6,
                                    connectionstyle=f"arc3,rad={0.25 * ((k + 1) // 2) * (-1) ** k}", zorder=2,
                                    animated=True)
            ax.add_patch(arrow)
            self.arrows.append(arrow)
        xy = np.array([lay.pos[i] for i in lay.core])
        on_top: list = [ax.scatter(xy[:, 0], xy[:, 1], s=30, c="white", edgecolors="#222222", zorder=3, animated=True)]
        on_top += [ax.annotate(nid, lay.pos[nid], xytext=(4, 4), textcoords="offset points", fontsize=7.5,
                               zorder=4, animated=True) for nid in lay.core]  # drawn over the arrows
        ax.set_xlim(*_fill(xy[:, 0]))
        ax.set_ylim(*_fill(xy[:, 1]))
        if lay.geographic:  # the local aspect 1/cos(latitude): widen whichever range is short for the panel
            _fit_aspect(ax, lay.aspect, fig)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        outside = [i for i in lay.pos if i not in lay.core]
        if outside:
            ax.text(0.01, 0.01, "off the panel: " + ", ".join(outside), transform=ax.transAxes, fontsize=7,
                    color="#555555")
        ax.set_title("Routes so far: width = people entered, colour = loss rate", fontsize=9)
        self.busiest = ax.text(0.99, 0.99, "", transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
                               animated=True)
        self.live = LiveFigure(fig, [*self.arrows, *on_top, self.busiest])

    def png(self, result: RunResult) -> bytes:
        counts = result.edges
        top = max(int(counts[:, EDGE_ENTERED].max()) if len(counts) else 0, 1)
        for arrow, c in zip(self.arrows, counts):
            entered = int(c[EDGE_ENTERED])
            lost = int(c[EDGE_RETURNED] + c[EDGE_CAUGHT] + c[EDGE_KILLED])
            width = 0.8 + 8.0 * entered / top
            arrow.set_linewidth(width)
            arrow.set_mutation_scale(8 + width)
            arrow.set_color(LOSS_CMAP(lost / entered) if entered else "#BBBBBB")
            arrow.set_linestyle("-" if entered else "--")
        self.busiest.set_text(f"widest: {top:,} entered")
        return self.live.png()


def _fill(values: np.ndarray) -> tuple[float, float]:
    """Axis range around these values with a margin of 12% of their extent (at least 0.5)."""
    lo, hi = float(values.min()), float(values.max())
    pad = max(0.12 * (hi - lo), 0.5)
    return lo - pad, hi + pad


def _fit_aspect(ax, aspect: float, fig: Figure) -> None:
    """Widen the x or the y range about its centre so that one unit of y is `aspect` units of x on screen and
    the data fill the axes box (the axes keep their size)."""
    box = ax.get_position()
    width, height = box.width * fig.get_figwidth(), box.height * fig.get_figheight()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    want = (y1 - y0) * aspect * width / height  # the x range that matches the y range
    if want > x1 - x0:
        c = (x0 + x1) / 2
        ax.set_xlim(c - want / 2, c + want / 2)
    else:
        c, h = (y0 + y1) / 2, (x1 - x0) * height / (aspect * width)
        ax.set_ylim(c - h / 2, c + h / 2)


def _year_axis(ax, years: np.ndarray) -> None:
    """Whole years on the x axis, at most 8 labels, no offset."""
    step = style.year_step(int(years.max() - years.min()), 8)
    ax.set_xticks(np.arange(years.min(), years.max() + 1, step))
    ax.set_xlim(years.min() - 0.7, years.max() + 0.7)
    ax.ticklabel_format(axis="x", useOffset=False, style="plain")


class ArrivalsView:
    """Arrivals per calendar year so far (bars over the whole horizon's years; the current year in part) with
    the observed series' single-year rows (black) when the scenario names one. The y axis grows (by half) only
    when a bar would pass it."""

    @style.styled
    def __init__(self, years: np.ndarray, observed: str | None):
        self.years = np.unique(years)
        fig = _figure()
        ax = fig.add_subplot()
        self.bars = list(ax.bar(self.years, np.zeros(len(self.years)), color=style.OUTCOME_COLOURS["arrived"],
                                alpha=0.8, width=0.8, label="simulated", animated=True))
        top = 10.0
        on_top: list = []
        if observed:
            obs = load_observed(observed)
            single = single_years(obs, self.years.tolist())
            on_top += ax.plot(single["period_start"], single["arrivals"], "o-", color="black", ms=3, lw=1,
                              label=f"observed ({observed})", animated=True)  # drawn over the bars
            top = max(top, float(single["arrivals"].max()) if len(single) else top)
        _year_axis(ax, self.years)
        ax.yaxis.set_major_formatter(style.THOUSANDS)
        ax.set_ylim(0, 1.15 * top)
        ax.set_ylabel("arrivals per year")
        ax.legend(loc="upper right")
        ax.set_title("Arrivals per year" + (": simulated vs observed" if observed else ""))
        self.ax = ax
        self.live = LiveFigure(fig, [*self.bars, *on_top])

    def png(self, result: RunResult) -> bytes:
        years, arrived = years_of(result)
        height = dict(zip(years.tolist(), arrived.tolist()))
        for bar, y in zip(self.bars, self.years.tolist()):
            bar.set_height(height.get(y, 0))
        _grow(self.ax, self.live, float(arrived.max(initial=0)))
        return self.live.png()


def _grow(ax, live: LiveFigure, top: float) -> None:
    """Raise the y axis by half when the data would pass it (and draw the background again)."""
    if top > ax.get_ylim()[1]:
        ax.set_ylim(0, 1.5 * top)
        live.rebuild()


def _shares(result: RunResult) -> tuple[np.ndarray, np.ndarray]:
    """(calendar years so far, female share of each year's arrivals; NaN in a year without arrivals), from
    `RunResult.female_share_by_year`."""
    by_year = result.female_share_by_year()
    return (np.array([int(y) for y in by_year]),
            np.array([np.nan if v is None else v for v in by_year.values()], dtype=float))


class FemaleShareView:
    """The female share of each year's arrivals so far (years without arrivals left out), with the observed
    series' single-year shares (black) when the scenario names one; the whole horizon's years on the x axis."""

    @style.styled
    def __init__(self, years: np.ndarray, observed: str | None):
        fig = _figure()
        ax = fig.add_subplot()
        years = np.unique(years)
        (self.line,) = ax.plot([], [], "o-", color=style.OUTCOME_COLOURS["arrived"], ms=3.5, lw=1.3,
                               label="simulated", animated=True)
        if observed:
            obs = load_observed(observed)
            single = single_years(obs, years.tolist())
            ax.plot(single["period_start"], single["female_share"], "o", color="black", ms=3.5,
                    label=f"observed ({observed})")
        _year_axis(ax, years)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(style.PERCENT)
        ax.set_ylabel("female share of arrivals")
        ax.legend(loc="lower left")
        ax.set_title("Female share of arrivals per year")
        self.live = LiveFigure(fig, [self.line])

    def png(self, result: RunResult) -> bytes:
        self.line.set_data(*_shares(result))
        return self.live.png()


class OutcomesView:
    """For each route and each group, the share of attempts so far ending in each outcome, and those still in
    transit (n = attempts: set out, plus the initial stock where there is one)."""

    @style.styled
    def __init__(self, routes: list[str], groups: list[str]):
        tables = [("route", routes), ("group", groups)]
        fig = _figure((5.6, 0.28 * (len(routes) + len(groups)) + 1.6))
        fig.subplots_adjust(left=0.22, right=0.84, bottom=0.1, top=0.9, hspace=0.35)
        axes = fig.subplots(2, 1, gridspec_kw={"height_ratios": [max(len(names), 1) for _, names in tables]})
        self.rows: list[tuple[str, list[str], dict[str, list], list]] = []  # (what, names, outcome -> bars, n texts)
        dynamic: list = []
        for ax, (what, names) in zip(axes, tables):
            ys = np.arange(len(names))[::-1]
            bars = {k: list(ax.barh(ys, np.zeros(len(names)), color=style.OUTCOME_COLOURS[k], height=0.7,
                                    label=style.OUTCOME_LABELS[k], animated=True)) for k in SHARES}
            texts = [ax.text(1.01, y, "", va="center", ha="left", fontsize=7, animated=True) for y in ys]
            ax.set_yticks(ys, names)
            ax.set_xlim(0, 1)
            ax.xaxis.set_major_formatter(style.PERCENT)
            ax.grid(axis="y", visible=False)
            ax.set_ylabel(what)
            self.rows.append((what, names, bars, texts))
            dynamic += [b for k in SHARES for b in bars[k]] + texts
        axes[0].legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=7)
        self.live = LiveFigure(fig, dynamic)

    def png(self, result: RunResult) -> bytes:
        tables = {"route": result.by_route(), "group": result.by_group()}
        for what, names, bars, texts in self.rows:
            table = tables[what]
            n = np.array([table[x]["set_out"] + table[x].get("initial_stock", 0) for x in names], dtype=float)
            left = np.zeros(len(names))
            for k in SHARES:
                share = np.divide([table[x][k] for x in names], n, out=np.zeros(len(names)), where=n > 0)
                for bar, lft, w in zip(bars[k], left, share):
                    bar.set_x(lft)
                    bar.set_width(w)
                left += share
            for text, count in zip(texts, n):
                text.set_text(f"n={count:,.0f}")
        return self.live.png()


class WaitingView:
    """People in transit at the end of each step (on an edge or waiting at a transit node), and, at each
    broker node, those queued for a passage; the whole horizon on the x axis."""

    @style.styled
    def __init__(self, dates: list, broker_nodes: list[int], node_ids: list[str]):
        fig = _figure()
        ax = fig.add_subplot()
        (transit,) = ax.plot([], [], color=style.OUTCOME_COLOURS["in_transit"], lw=1.6, label="in transit",
                             animated=True)
        self.lines: list[tuple[int | None, Line2D]] = [(None, transit)]
        for n in broker_nodes:
            (line,) = ax.plot([], [], lw=1.2, label=f"queued for brokers at {node_ids[n]}", animated=True)
            self.lines.append((n, line))
        days = np.array(dates, dtype="datetime64[D]")
        ax.set_xlim(days[0], days[-1])
        style.date_axis(ax, (days[-1] - days[0]).astype(int) / 365.25)  # matplotlib's own labels ran together
        ax.yaxis.set_major_formatter(style.THOUSANDS)
        ax.set_ylim(0, 10)
        ax.set_ylabel("persons")
        ax.legend(loc="upper left")
        ax.set_title("People on the way, and waiting for brokers")
        self.ax = ax
        self.live = LiveFigure(fig, [line for _, line in self.lines])

    def png(self, result: RunResult) -> bytes:
        days = np.array(result.dates, dtype="datetime64[D]")
        top = 0.0
        for n, line in self.lines:
            y = result.in_transit.sum(axis=(1, 2)) if n is None or result.queued is None else result.queued[:, n]
            line.set_data(days, y)
            top = max(top, float(y.max(initial=0)))
        _grow(self.ax, self.live, top)
        return self.live.png()


def totals_table(result: RunResult) -> list[tuple[str, dict[str, int]]]:
    """Rows (name, counts) of the totals table: all routes, then each route; counts in TOTAL_KEYS order (plus
    initial_stock with an initial stock), in_transit at the last step."""
    return [("all routes", result.totals()), *result.by_route().items()]


def identity(totals: dict[str, int]) -> tuple[int, int]:
    """Both sides of the conservation identity: set out (+ initial stock) and arrived + caught + killed +
    repatriated + returned + in transit."""
    left = totals["set_out"] + totals.get("initial_stock", 0)
    right = sum(totals[k] for k in ("arrived", "caught", "killed", "repatriated", "returned", "in_transit"))
    return left, right
