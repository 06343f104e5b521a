"""Make every relevant figure of a run, sweep, sensitivity, calibration or discovery directory, or the ones asked
for, and write them to files.

Figure names (`--only`): for a run `flows`, `yearly`, `route_map`, `outcome_shares`; for a sweep `response`,
`heatmap`, `route_shares`, `policy_bars`, `policy_years`; for a sensitivity analysis `indices` (the Morris or Sobol
chart) and `overview`; for a calibration `posterior_predictive` and `posterior_pairs`; for an effects analysis
`effects`; for a discovery `peeling`. A sweep figure drawn against each varying parameter gives one file per
parameter (`response-dmz.mines.png`); file names are made safe (`style.safe_stem`: an edge id 'd/z' gives
`response-d_z.mines.png`). A figure that does not apply (a heatmap of a one-parameter sweep, policy bars without a
policies design) is skipped with the reason; asking for it by name is an error.

Writing follows the output rule (docs/plots.md): figures go into a `figures` directory, by default PATH/figures;
`--out DIR` may name a new or empty directory or a figures directory bordersim made, nothing else; each file is
written to a temporary name and renamed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from sim.plots import (calibration, discovery, effects, policy_figures, route_map, run_figures, sensitivity, style,
                       sweep_figures)
from sim.directories import (CalibrationData, DirData, DiscoveryData, EffectsData, RunData, SensitivityData,
                              SweepData, kind_of, load)
from sim.plots.style import NotApplicable
from sim.errors import UsageError, with_article
from sim.outputs import refuse_foreign_figures
from sim.api_checks import optional_path_argument, optional_string_argument, path_argument, strings_argument


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
FIGURE_NAMES = {"run": list(RUN_FIGURES), "sweep": list(SWEEP_FIGURES), "sensitivity": ["indices", "overview"],
                "calibration": list(calibration.FIGURES), "effects": ["effects"],
                "discovery": ["peeling"]}
BASELINE_FIGURES = ("policy_bars", "policy_years")


@dataclass
class Figures:
    """Figures of one directory: file stem -> figure (in the order made), and name -> reason for those skipped."""

    kind: str
    data: DirData
    figures: dict[str, Figure] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # file stem -> figure name


def _check_only(kind: str, only: list[str] | None) -> list[str]:
    names = FIGURE_NAMES[kind]
    if not only:
        return names
    unknown = [n for n in only if n not in names]
    if unknown:
        extra = ""
        for other, known in FIGURE_NAMES.items():
            hint = [n for n in unknown if n in known and other != kind]
            if hint:
                extra = f" ({', '.join(hint)} {'is' if len(hint) == 1 else 'are'} for a {other} directory)"
                break
        raise UsageError(f"unknown figure(s) for {with_article(kind)} directory: {', '.join(unknown)}{extra}; "
                            f"choose from {', '.join(names)}")
    return [n for n in names if n in only]


def build_figures(path: str | Path, only: list[str] | None = None, *, baseline: str | None = None) -> Figures:
    """Read the directory and build its figures (in memory). Raises UsageError for a directory that is none
    of the five kinds, for unknown names in `only`, and for a figure named in `only` that does not apply to this
    directory; InputError for a missing or damaged file."""
    path = path_argument(path, "path")
    only = strings_argument(only, "only", "figure names", "['yearly', 'flows']") or None
    baseline = optional_string_argument(baseline, "baseline")
    kind = kind_of(path)
    wanted = _check_only(kind, only)
    data = load(path)
    if baseline is not None:
        _check_baseline(data, baseline)
    out = Figures(kind, data)
    if kind == "sensitivity":
        assert isinstance(data, SensitivityData)  # load() reads a directory of kind_of's kind
        for stem, (name, fig) in sensitivity.figures(data.indices, wanted).items():
            out.figures[stem] = fig
            out.names[stem] = name
        return out
    if kind == "effects":
        assert isinstance(data, EffectsData)
        out.figures["effects"] = effects.effects_figure(data.effects)
        out.names["effects"] = "effects"
        return out
    if kind == "discovery":
        assert isinstance(data, DiscoveryData)
        out.figures["peeling"] = discovery.peeling_figure(data.trajectory, f"Peeling trajectory: {data.name}")
        out.names["peeling"] = "peeling"
        return out
    if kind == "calibration":
        assert isinstance(data, CalibrationData)
        made = calibration.figures(data.summary, data.points, data.predictive, data.shares, data.name, wanted)
        if "posterior_predictive" in wanted and "posterior_predictive" not in made:
            reason = "the calibration has no arrivals target (no predictive.csv)"
            if only:
                raise UsageError(f"figure 'posterior_predictive' does not apply to {path}: {reason}")
            out.skipped["posterior_predictive"] = reason
        for stem, fig in made.items():
            out.figures[stem] = fig
            out.names[stem] = stem
        return out
    for name in wanted:
        try:
            if kind == "run":
                assert isinstance(data, RunData)
                out.figures[name] = RUN_FIGURES[name](data)
                out.names[name] = name
                continue
            made = (SWEEP_FIGURES[name](data, baseline) if name in BASELINE_FIGURES
                    else SWEEP_FIGURES[name](data))
        except NotApplicable as exc:
            if only:
                raise UsageError(f"figure '{name}' does not apply to {path}: {exc}") from None
            out.skipped[name] = str(exc)
            continue
        for stem, fig in made.items():
            out.figures[stem] = fig
            out.names[stem] = name
    return out


def _check_baseline(data: DirData, baseline: str) -> None:
    """A baseline package must be one of the packages of a policies-design sweep."""
    if not isinstance(data, SweepData) or data.design != "policies":
        raise UsageError(f"--baseline names a policy package, for sweeps with a policies design; "
                            f"{data.path} is not one")
    packages = data.packages or sorted(data.ok["policy"].dropna().unique())
    if baseline not in packages:
        raise UsageError(f"--baseline '{baseline}' is not a policy package of this sweep; packages: "
                            f"{', '.join(packages)}")


def file_stems(stems: list[str]) -> dict[str, str]:
    """Figure stem -> safe file stem (`style.safe_stem`), made unique with '-2', '-3', ... when two stems map
    to the same file name."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for stem in stems:
        base = style.safe_stem(stem)
        name, k = base, 2
        while name.lower() in used:  # case-insensitive file systems too
            name, k = f"{base}-{k}", k + 1
        used.add(name.lower())
        out[stem] = name
    return out


def make_figures(path: str | Path, out: str | Path | None = None, *, fmt: str = "png",
                 only: list[str] | None = None, baseline: str | None = None) -> tuple[list[Path], dict[str, str]]:
    """Write the figures of a directory to OUT (default PATH/figures) as `<stem>.<fmt>`, each through a
    temporary file renamed into place. OUT must be new, empty or a figures directory bordersim made (the default
    PATH/figures is bordersim's in any case); it is checked before anything is drawn, and a refusal
    (UsageError) touches nothing. Returns (paths written, {figure name: reason skipped})."""
    if fmt not in style.FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose from {', '.join(style.FORMATS)}")
    path = path_argument(path, "path")
    out = optional_path_argument(out, "out")
    only = strings_argument(only, "only", "figure names", "['yearly', 'flows']") or None
    kind_of(path)  # a bad PATH is reported before --out
    target = Path(out) if out is not None else Path(path) / "figures"
    style.check_figures_dir(target, default=out is None)  # refuse before drawing anything
    figs = build_figures(path, only, baseline=baseline)
    names = {stem: f"{name}.{fmt}" for stem, name in file_stems(list(figs.figures)).items()}
    refuse_foreign_figures(style.real_target(target), names.values())  # before the marker is written
    figures_dir = style.claim_figures_dir(target, default=out is None)
    written = figures_dir.save({names[stem]: fig for stem, fig in figs.figures.items()}, fmt)
    return written, figs.skipped
