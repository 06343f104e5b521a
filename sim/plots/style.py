"""Shared look of every bordersim figure: Agg backend, Okabe-Ito palette, fixed colours per outcome and route,
readable labels for parameters and outcomes (with units), date axes, number formats, saving (atomic and
reproducible) and the figures-directory rule.

Figures are `matplotlib.figure.Figure` objects drawn by the Agg canvas, never through pyplot: no display is
needed and the caller's backend and pyplot state are left alone.

Okabe & Ito (2008) colours stay distinguishable under the common forms of colour blindness; sequential maps use
cividis / viridis for the same reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import matplotlib.dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FuncFormatter

from sim.errors import UsageError, WriteFailed
from sim.outputs import (FIGURE_CREATOR, FIGURE_FORMATS, atomic_path, claim_dir, clean_stale_temporaries,
                         enclosing_dirs, is_bordersim_figure, marker_kind, real_target, refuse_foreign_figures,
                         writing_alone, write_marker)

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

# One colour per outcome wherever it appears (flows, shares, sweeps).
OUTCOME_COLOURS = {
    "set_out": "#0072B2",     # blue
    "arrived": "#009E73",     # bluish green
    "returned": "#E69F00",    # orange
    "caught": "#D55E00",      # vermillion
    "repatriated": "#CC79A7",  # reddish purple
    "killed": "#000000",      # black
    "in_transit": "#BBBBBB",  # grey
}
OUTCOME_LABELS = {
    "set_out": "set out",
    "arrived": "arrived",
    "returned": "turned back",
    "caught": "caught",
    "repatriated": "repatriated",
    "killed": "killed",
    "in_transit": "still in transit",
}
# Routes take the palette in order, skipping black (reserved for totals and observed data) and yellow (too pale
# for thin lines on white), then the rest.
ROUTE_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
SEQUENTIAL_CMAP = "cividis"

# Units of a parameter by the last part of its dotted path.
_UNITS = {
    "guards": "control level, 0-1", "fence": "control level, 0-1", "mines": "control level, 0-1",
    "surveillance": "control level, 0-1", "patrol": "control level, 0-1",
    "cost": "USD", "duration": "steps", "dwell": "steps", "arrest_hazard": "per step",
    "departure_rate": "per step", "size": "persons", "share": "fraction", "female_share": "fraction",
    "risk_weight": "utility weight", "cost_weight": "utility weight", "time_weight": "utility weight",
    "shot_kill_probability": "probability", "start": "month", "end": "month", "seed": "",
}

RC: dict[RcKeyType, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
}


class NotApplicable(Exception):
    """This figure does not apply to this directory (the message says why): it is skipped, or, named with
    --only, refused."""


def figure(width: float, height: float) -> Figure:
    """A new figure (inches) with constrained layout, which keeps labels and legends apart. Not registered with
    pyplot, so it is freed like any object; call inside `styled` functions so the style applies."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # render with Agg whatever the session's backend; no display, pyplot untouched
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)  # layout="constrained" above
    engine.set(h_pad=0.05, w_pad=0.05, wspace=0.06)
    return fig


def styled(fn):
    """Decorator: build the figure inside the style's rc context (fonts, grids, spines)."""
    def wrapper(*args, **kwargs):
        with mpl.rc_context(RC):
            return fn(*args, **kwargs)
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def route_colours(routes: list[str]) -> dict[str, str]:
    """Route -> colour, in the given (scenario) order, so a route keeps its colour across figures of one run."""
    return {r: ROUTE_PALETTE[i % len(ROUTE_PALETTE)] for i, r in enumerate(routes)}


def ink_on(colour) -> str:
    """Black or white, whichever contrasts more with this fill (WCAG: white when relative luminance < 0.179)."""
    r, g, b = (c if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in mpl.colors.to_rgb(colour))
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.179 else "black"


def thousands(x: float, _pos=None) -> str:
    """Tick or value label: thousands separators for large or whole numbers (12,500), up to three significant
    digits otherwise (0.5, 2.25, -12.5)."""
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.3g}"


def signed(x: float) -> str:
    """A difference with its sign: +1,250, -3, +0.45."""
    return ("+" if x >= 0 else "-") + thousands(abs(x)) if abs(x) >= 10 or float(x).is_integer() else f"{x:+.2g}"


THOUSANDS = FuncFormatter(thousands)
PERCENT = FuncFormatter(lambda x, _pos=None: f"{100 * x:.0f}%")


def year_step(span: int, max_ticks: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, 100, ... years such that ticks that far apart over `span` years number
    at most `max_ticks` >= 1 (span // step + 1); any span has one (a horizon of centuries too)."""
    if max_ticks < 1:
        raise ValueError(f"max_ticks must be at least 1, found {max_ticks}")
    step, mantissa = 1, 0
    while span // step + 1 > max_ticks:
        mantissa = (mantissa + 1) % 3
        step = step * 5 // 2 if mantissa == 2 else step * 2
    return step


def date_axis(ax, span_years: float) -> None:
    """Year ticks on a time axis: every year up to 12 years, then every 2 or 5 years up to 75, then as
    `year_step` gives for at most 16 ticks; minor ticks per year while the step is 2 or 5."""
    if span_years <= 75:
        step = 1 if span_years <= 12 else 2 if span_years <= 30 else 5
    else:
        step = year_step(int(span_years), 16)
    ax.xaxis.set_major_locator(mdates.YearLocator(step))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    if 1 < step <= 5:
        ax.xaxis.set_minor_locator(mdates.YearLocator(1))


def outcome_unit(outcome: str) -> str:
    """What a total counts: persons over the run, except `in_transit`, the stock at the last step."""
    return "persons at the last step" if outcome == "in_transit" else "persons over the run"


def param_label(name: str) -> str:
    """Readable axis label for a sweep parameter's dotted path, with its unit.

    'network.edges.dmz.controls.mines' -> 'mines on edge dmz (control level, 0-1)'; 'population.size' ->
    'population size (persons)'; 'hazards.kill.mines' -> 'kill coefficient of mines (per unit of control)';
    several comma-separated paths setting the same value are named by their common leaf and the list of items.
    """
    paths = [p.strip() for p in name.split(",") if p.strip()]
    first = paths[0].split(".")
    leaf = first[-1]
    if first[0] == "hazards" and len(first) == 3:
        return f"{first[1]} coefficient of {leaf} (per unit of control)"
    if first[0] == "push" and len(first) == 4:
        return f"push {first[1]} in {leaf} (multiplier)"
    leaves = {p.split(".")[-1] for p in paths}
    what = leaf.replace("_", " ") if len(leaves) == 1 else " / ".join(sorted(leaves))
    if len(paths) == 1 and len(first) == 2:  # a top-level setting: 'population size'
        what = first[0].replace("_", " ") + " " + what
    items = []
    for p in paths:
        parts = p.split(".")
        if len(parts) >= 3 and parts[0] == "network" and parts[1] in ("edges", "nodes"):
            items.append(("on edge " if parts[1] == "edges" else "at node ") + parts[2])
        elif len(parts) >= 3 and parts[0] == "population" and parts[1] == "groups":
            items.append("of group " + parts[2])
        elif len(parts) >= 3 and parts[0] == "policies":
            items.append("of policy " + parts[1])
        elif len(parts) > 2:
            items.append("in " + ".".join(parts[:-1]))
    where = ""
    if items:
        prep = items[0].split(" ")[0]
        names = [i.split(" ", 1)[1] for i in items]
        where = f" {prep} " + (", ".join(names) if len(names) <= 2 else f"{names[0]} and {len(names) - 1} more")
    unit = _UNITS.get(leaf, "")
    return f"{what}{where}" + (f" ({unit})" if unit else "")


def param_short(name: str) -> str:
    """Short form of a parameter for facet titles and file names: 'dmz.mines'."""
    parts = name.split(",")[0].split(".")
    if len(parts) >= 3 and parts[0] == "network":
        return f"{parts[2]}.{parts[-1]}"
    return ".".join(parts[-2:]) if len(parts) >= 2 else parts[0]


def format_value(v) -> str:
    """A parameter value in a facet title or table: 0.25, 2,000, 2023-01."""
    if isinstance(v, float) and v.is_integer() and abs(v) >= 1000:
        return f"{v:,.0f}"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


# Reproducible files: no creation date in SVG or PDF, fixed ids in SVG (svg.hashsalt), and in every format
# bordersim as the creator (no version, no web address; `sim.outputs.is_bordersim_figure` reads it: only such a
# figure may go when --force replaces a directory); the same figure gives the same bytes on every call.
SAVE_METADATA = {"png": {"Software": FIGURE_CREATOR}, "svg": {"Date": None, "Creator": FIGURE_CREATOR},
                 "pdf": {"CreationDate": None, "Creator": FIGURE_CREATOR}}
SVG_HASHSALT = "bordersim"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def save(fig: Figure, path, fmt: str) -> None:
    """Write the figure in the given format (png, svg, pdf) through a temporary file beside `path`, renamed onto
    it only when complete (`sim.outputs.atomic_path`): a full disk or a crash leaves the old file or none, never
    a fragment. The bytes depend only on the figure, and name bordersim as their creator (`SAVE_METADATA`). A
    failure to write (full disk, no permission) is a WriteFailed naming the file."""
    try:
        with mpl.rc_context({**RC, "svg.hashsalt": SVG_HASHSALT}), atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, metadata=SAVE_METADATA.get(fmt))
    except WriteFailed as exc:  # `atomic_path` names the file and the system's reason; here, what to do
        raise WriteFailed(f"{exc}: {exc.remedy()}, or choose another --out", exc.errno) from None


def safe_stem(text: str) -> str:
    """A file-name stem from a figure name that may hold parameter or edge ids: every run of characters other
    than ASCII letters, digits, '.', '_' and '-' becomes '_' ('response-d/z.mines' -> 'response-d_z.mines'), and a
    leading '.' or '-' is dropped, so the stem is one path component and never a hidden file."""
    stem = _UNSAFE.sub("_", text).lstrip(".-")
    return stem or "figure"


def check_figures_dir(path, *, default: bool = False) -> None:
    """Raise a UsageError (touching nothing) unless figures may be written into directory `path`. The rule
    (`sim.outputs.claim_dir`): a new or empty directory, or one bordersim marked `figures`, is used (files of the
    same names are replaced, others left alone); anything else - a file, a directory bordersim did not make or of
    another kind, the current or home directory - is refused. `default=True` is for PATH/figures inside a
    directory bordersim wrote (run, sweep, sensitivity, calibration): that place is bordersim's even without a
    marker (earlier versions wrote none)."""
    target = real_target(path)
    if default and target.is_dir() and not target.is_symlink() and marker_kind(target) is None:
        return
    real = Path(os.path.realpath(target))  # `sub` given in R/notes/ is in R, too
    for kind, inside in enclosing_dirs(real):  # not within another directory bordersim made, but in its figures/
        if kind != "figures" and real != inside / "figures":
            raise UsageError(f"{target} lies inside the {kind} directory {inside}: bordersim would take figures "
                             f"there for files of yours (and refuse to replace that directory with --force); choose "
                             f"a place outside it, or {inside / 'figures'}")
    claim_dir(target, "figures", resume=True)


FORMATS = FIGURE_FORMATS  # the file formats figures are drawn in (`bordersim plot --format`)


@dataclass(frozen=True)
class FiguresDir:
    """A figures directory claimed by `claim_figures_dir`."""

    path: Path

    def save(self, figures: dict[str, Figure], fmt: str, *, remove: Iterable[str] = ()) -> list[Path]:
        """Write each figure to PATH/<file name> (`save`) after checking every file name first: one that is a
        symbolic link, a directory or a file that is not a figure bordersim wrote (`is_bordersim_figure`) is a
        UsageError before anything is written, so a figure of the user's that bears a figure's name is never
        replaced (in an unmarked PATH/figures too: bordersim cannot tell an earlier version's untagged figure from
        the user's). Then remove each file PATH/<name> of `remove` that is a figure bordersim wrote (not a link): a
        figure an analysis no longer draws in its own directory (an earlier analysis there drew it, and it would
        describe that one). All of it with the directory held (`writing_alone`), so that two commands writing
        figures here at once never leave some of each's. Returns the paths written, in order."""
        paths = {self.path / name: fig for name, fig in figures.items()}
        with writing_alone(self.path, "figures"):
            refuse_foreign_figures(self.path, figures)
            for path, fig in paths.items():
                save(fig, path, fmt)
            for name in remove:
                stale = self.path / name
                if is_bordersim_figure(stale) and not stale.is_symlink():
                    stale.unlink()
        return list(paths)


def own_figures(path, kind: str) -> bool:
    """`path` is PATH/figures of a `kind` directory bordersim made (its marker): that analysis's own figures
    directory, bordersim's even without a marker of its own (an earlier version drew there without one)."""
    path = Path(path)
    return path.name == "figures" and marker_kind(path.parent) == kind


def claim_figures_dir(path, *, default: bool = False) -> FiguresDir:
    """`check_figures_dir`, then create the directory if needed and mark it as a bordersim `figures` directory;
    return it."""
    target = real_target(path)
    check_figures_dir(target, default=default)
    try:
        target.mkdir(parents=True, exist_ok=True)
        if marker_kind(target) != "figures":
            write_marker(target, "figures")
        clean_stale_temporaries(target)  # those of a plot killed while it wrote (docs/outputs.md)
    except OSError as exc:
        raise UsageError(f"{target}: cannot create the figures directory ({exc.strerror or exc}); choose "
                         "another --out") from None
    except WriteFailed as exc:  # its marker (an atomic write): refused before any figure, as a place bad to use
        raise UsageError(f"{exc}: {exc.remedy()}, or choose another --out") from None
    return FiguresDir(target)


def title(fig: Figure, text: str) -> None:
    """The figure's title (suptitle), wrapped at the figure's edges when it is longer than the figure is wide (it
    was cut off at both ends)."""
    fig.suptitle(text, wrap=True)


def note(fig: Figure, text: str) -> None:
    """A small grey footnote at the bottom left of the figure (data source, how intervals were computed), wrapped
    at the figure's right edge (a long one was cut off there); the constrained layout keeps room for it (it is the
    figure's supxlabel)."""
    fig.supxlabel(text, x=0.01, ha="left", fontsize=7.5, color="#555555", fontweight="normal", wrap=True)
