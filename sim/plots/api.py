"""Make every relevant figure of a run or sweep directory, or the ones asked for, and write them to files.

Figure names (`--only`): for a run `flows`, `yearly`, `route_map`, `outcome_shares`; for a sweep `response`,
`heatmap`, `route_shares`, `policy_bars`, `policy_years`. A sweep figure drawn against each varying parameter gives
one file per parameter (`response-dmz.mines.png`). A figure that does not apply (a heatmap of a one-parameter
sweep, policy bars without a policies design) is skipped with the reason; asking for it by name is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from sim.plots import policy_figures, route_map, run_figures, style, sweep_figures
from sim.plots.detect import RunData, SweepData, kind_of, load
from sim.plots.sweep_figures import NotApplicable
from sim.scenario import ScenarioError

FORMATS = ("png", "svg", "pdf")

RUN_FIGURES: dict[str, Callable[[RunData], Figure]] = {
    "flows": run_figures.flows,
    "yearly": run_figures.yearly,
    "route_map": route_map.route_map,
    "outcome_shares": run_figures.outcome_shares,
}
SWEEP_FIGURES: dict[str, Callable[..., dict[str, Figure]]] = {
    "response": sweep_figures.response,
    "heatmap": sweep_figures.heatmap,
    "route_shares": sweep_figures.route_shares,
    "policy_bars": policy_figures.policy_bars,
    "policy_years": policy_figures.policy_years,
}
FIGURE_NAMES = {"run": list(RUN_FIGURES), "sweep": list(SWEEP_FIGURES)}
BASELINE_FIGURES = ("policy_bars", "policy_years")


@dataclass
class Figures:
    """Figures of one directory: file stem -> figure (in the order made), and name -> reason for those skipped."""

    kind: str
    data: RunData | SweepData
    figures: dict[str, Figure] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # file stem -> figure name


def _check_only(kind: str, only: list[str] | None) -> list[str]:
    names = FIGURE_NAMES[kind]
    if not only:
        return names
    unknown = [n for n in only if n not in names]
    if unknown:
        other = "sweep" if kind == "run" else "run"
        hint = [n for n in unknown if n in FIGURE_NAMES[other]]
        extra = f" ({', '.join(hint)} {'is' if len(hint) == 1 else 'are'} for a {other} directory)" if hint else ""
        raise ScenarioError(f"unknown figure(s) for a {kind} directory: {', '.join(unknown)}{extra}; "
                            f"choose from {', '.join(names)}")
    return [n for n in names if n in only]


def build_figures(path: str | Path, only: list[str] | None = None, *, baseline: str | None = None) -> Figures:
    """Read the directory and build its figures (in memory). Raises ScenarioError for a directory that is
    neither a run nor a sweep, for unknown names in `only`, and for a figure named in `only` that does not
    apply to this directory."""
    kind = kind_of(path)
    wanted = _check_only(kind, only)
    data = load(path)
    if baseline is not None:
        _check_baseline(data, baseline)
    out = Figures(kind, data)
    for name in wanted:
        if kind == "run":
            out.figures[name] = RUN_FIGURES[name](data)
            out.names[name] = name
            continue
        try:
            made = (SWEEP_FIGURES[name](data, baseline) if name in BASELINE_FIGURES
                    else SWEEP_FIGURES[name](data))
        except NotApplicable as exc:
            if only:
                raise ScenarioError(f"figure '{name}' does not apply to {path}: {exc}") from None
            out.skipped[name] = str(exc)
            continue
        for stem, fig in made.items():
            out.figures[stem] = fig
            out.names[stem] = name
    return out


def _check_baseline(data: RunData | SweepData, baseline: str) -> None:
    """A baseline package must be one of the packages of a policies-design sweep."""
    if not isinstance(data, SweepData) or data.design != "policies":
        raise ScenarioError(f"--baseline names a policy package, for sweeps with a policies design; "
                            f"{data.path} is not one")
    packages = data.packages or sorted(data.ok["policy"].dropna().unique())
    if baseline not in packages:
        raise ScenarioError(f"--baseline '{baseline}' is not a policy package of this sweep; packages: "
                            f"{', '.join(packages)}")


def make_figures(path: str | Path, out: str | Path | None = None, *, fmt: str = "png",
                 only: list[str] | None = None, baseline: str | None = None) -> tuple[list[Path], dict[str, str]]:
    """Write the figures of a run or sweep directory to OUT (default PATH/figures) as `<stem>.<fmt>`.
    Returns (paths written, {figure name: reason skipped})."""
    if fmt not in FORMATS:
        raise ScenarioError(f"unknown format '{fmt}'; choose from {', '.join(FORMATS)}")
    figs = build_figures(path, only, baseline=baseline)
    target = Path(out) if out is not None else Path(path) / "figures"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, fig in figs.figures.items():
        file = target / f"{stem}.{fmt}"
        style.save(fig, file, fmt)
        written.append(file)
    return written, figs.skipped
