"""`bordersim plot` and `bordersim report`: every figure is made for run and sweep directories, its axes carry
labels, the numbers drawn are the ones the run and sweep wrote (and `summarize` computes), the CLI writes the files
it prints, and the report is one HTML file with embedded images and no external link. No pixel comparisons."""

from __future__ import annotations

import argparse
import base64
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, TOY, build, edge, group, node, scenario_dict

from sim.experiments.summarize import paired_differences, summarize
from sim.experiments.sweep import plan, run_sweep
from sim.engine.ledger import write_run
from sim.engine.mesa.model import run
from sim.plots import route_map as rmap
from sim.plots.api import FIGURE_NAMES, build_figures, make_figures
from sim.cli import plot as plot_cli
from sim.directories import kind_of, load_run, load_sweep_dir
from sim.plots.report import report_html, write_report
from sim.errors import UsageError
from sim.loading import load_scenario
from sim.scenario.overrides import scenario_to_dict

# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """Toy run, small population, observed series named, one of its two policies switched off."""
    sc = load_scenario(TOY, overrides=["population.size=4000", "observed=mou_arrivals",
                                       "policies.river_closed.enabled=false"])
    return write_run(run(sc), tmp_path_factory.mktemp("plots") / "run")


@pytest.fixture(scope="module")
def plain_run_dir(tmp_path_factory) -> Path:
    """A scenario without coordinates, without observed series and without policies."""
    data = scenario_dict(
        nodes=[node("home", "origin"), node("bank", "border"), node("hide", "transit", arrest_hazard=0.02),
               node("safe", "destination")],
        edges=[edge("a", "home", "bank", route="river"), edge("b", "bank", "hide", "river"),
               edge("c", "hide", "safe"), edge("d", "home", "safe", "sea", route="sea")],
        groups=[group(departure_rate=0.05)], size=300, end="2001-06")
    return write_run(run(build(data)), tmp_path_factory.mktemp("plots") / "plain")


def _sweep(tmp_path_factory, name: str, body: str) -> Path:
    root = tmp_path_factory.mktemp("plots")
    spec = root / f"{name}.yaml"
    spec.write_text(body.replace("SCENARIO", str(TOY)))
    out = root / name
    run_sweep(plan(spec), out, workers=1)
    return out


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory) -> Path:
    return _sweep(tmp_path_factory, "grid", """
name: grid
scenario: SCENARIO
parameters:
  network.edges.dmz.controls.mines: [0.0, 1.0]
  network.edges.boat.controls.patrol: [0.2, 0.6, 0.9]
  population.size: [2500]
replicates: 2
seed: 3
""")


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory) -> Path:
    return _sweep(tmp_path_factory, "pol", """
name: pol
scenario: SCENARIO
parameters:
  population.size: [2500]
design:
  type: policies
  policies:
    kept: {}
    sea_open: {network.edges.boat.controls.patrol: 0.1}
    no_crackdown: {policies.transit_crackdown.enabled: false}
replicates: 3
seed: 4
""")


# ----------------------------------------------------------------------------------------------- helpers


def main_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def assert_labelled(fig, where: str) -> None:
    """A suptitle; every panel has a y label (its own or a row neighbour's when y is shared) and an x label (its
    own or a column neighbour's when x is shared) and a title or the figure's suptitle above it."""
    assert fig.get_suptitle().strip(), f"{where}: no figure title"
    for ax in main_axes(fig):
        ys = [a for a in ax.get_shared_y_axes().get_siblings(ax) if a.get_visible()]
        xs = [a for a in ax.get_shared_x_axes().get_siblings(ax) if a.get_visible()]
        assert any(a.get_ylabel().strip() for a in ys), f"{where}: panel without a y label ({ax.get_title()!r})"
        assert any(a.get_xlabel().strip() for a in xs), f"{where}: panel without an x label ({ax.get_title()!r})"


def texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts] + [ax.get_title()]
    return out


# --------------------------------------------------------------------------------------------- detection


def test_detects_run_and_sweep_dirs_and_refuses_others(run_dir, grid_dir, tmp_path):
    assert kind_of(run_dir) == "run"
    assert kind_of(grid_dir) == "sweep"
    with pytest.raises(UsageError, match="neither a run directory"):
        kind_of(tmp_path)
    with pytest.raises(UsageError, match="no such directory"):
        kind_of(tmp_path / "missing")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(UsageError, match="a_file: is a file, not a directory"):
        kind_of(tmp_path / "a_file")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "summary.json").write_text("{}")
    with pytest.raises(UsageError, match="missing timeseries.parquet"):
        kind_of(tmp_path / "half")


def test_a_directory_that_cannot_be_read_is_bad_input(run_dir, monkeypatch):
    """Path.exists() of a file in an unreadable directory raises PermissionError (exit 1 in plot, report, compare and
    summarize). The suite runs as root, which reads any directory: the refusal is simulated at os.listdir."""
    import sim.outputs

    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(sim.outputs.os, "listdir", refuse)
    with pytest.raises(UsageError, match="cannot read this directory \\(Permission denied\\)"):
        kind_of(run_dir)


# ---------------------------------------------------------------------------------------------- run figures


def test_every_run_figure_is_made_and_labelled(run_dir):
    figs = build_figures(run_dir)
    assert figs.kind == "run" and list(figs.figures) == FIGURE_NAMES["run"] and not figs.skipped
    for name, fig in figs.figures.items():
        assert_labelled(fig, name)
    flows = figs.figures["flows"]
    assert all("persons per month" in ax.get_ylabel() for ax in main_axes(flows)[:3])
    assert main_axes(flows)[-1].get_xlabel() == "date"
    yearly = figs.figures["yearly"]
    assert {ax.get_ylabel() for ax in main_axes(yearly)} == {"arrivals (persons per year)",
                                                             "female share of arrivals (%)"}
    assert {ax.get_xlabel() for ax in main_axes(figs.figures["route_map"])} == {"longitude (°E)"}


def test_flows_show_enabled_policies_only(run_dir):
    lane = texts(build_figures(run_dir, ["flows"]).figures["flows"])
    assert any(t.startswith("transit_crackdown (from 2003-06)") for t in lane), lane
    assert not any("river_closed" in t for t in lane), "a disabled policy is drawn"


def test_flows_sum_to_the_time_series(run_dir):
    """The stacked arrivals panel tops out at the monthly total the run wrote."""
    ts = load_run(run_dir).timeseries
    fig = build_figures(run_dir, ["flows"]).figures["flows"]
    arrivals_ax = main_axes(fig)[1]
    tops = np.max([np.max(c.get_paths()[0].vertices[:, 1]) for c in arrivals_ax.collections])
    assert tops == ts.groupby("date")["arrived"].sum().max()


def test_yearly_draws_observed_series_only_when_named(run_dir, plain_run_dir):
    ax = main_axes(build_figures(run_dir, ["yearly"]).figures["yearly"])[0]
    labels = ax.get_legend_handles_labels()[1]
    assert "observed (mou_arrivals)" in labels
    observed = next(line for line in ax.get_lines() if line.get_label() == "observed (mou_arrivals)")
    mou = pd.read_csv(ROOT / "sim" / "data" / "mou_arrivals.csv", comment="#")
    expected = mou[(mou.period_start == mou.period_end) & mou.period_start.between(2000, 2004)]
    assert list(observed.get_xdata()) == list(expected.period_start)
    assert list(observed.get_ydata()) == list(expected.arrivals)
    bars = sorted((p.get_x() + p.get_width() / 2, p.get_height()) for p in ax.patches if p.get_height() > 0)
    summary = load_run(run_dir).summary["arrivals_by_year"]
    assert [(round(x), h) for x, h in bars] == [(int(y), v) for y, v in summary.items() if v > 0]

    plain = main_axes(build_figures(plain_run_dir, ["yearly"]).figures["yearly"])[0]
    assert not any("observed" in lab for lab in plain.get_legend_handles_labels()[1])
    assert "names no observed series" in plain.get_title()


def test_yearly_hatches_years_covered_in_part(tmp_path):
    sc = load_scenario(TOY, overrides=["population.size=2000", "time.start=2000-07", "time.end=2003-09"])
    ax = main_axes(build_figures(write_run(run(sc), tmp_path / "r"), ["yearly"]).figures["yearly"])[0]
    hatched = {round(p.get_x() + p.get_width() / 2): bool(p.get_hatch()) for p in ax.patches
               if p.get_width() == pytest.approx(0.8)}
    assert hatched == {2000: True, 2001: False, 2002: False, 2003: True}
    assert "simulated, partial year" in [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.mark.parametrize("stock", [False, True], ids=["toy", "korea with its initial stock"])
def test_outcome_shares_add_up_to_one_per_route_and_group(run_dir, tmp_path, stock):
    """With an initial stock the shares were per person who set out, leaving the stock out of n: Korea's Tumen
    bar showed 164% arrived, clipped at the axis (a probe)."""
    if stock:
        korea = load_scenario(ROOT / "scenarios" / "korea.yaml",
                              overrides=["population.size=5000"])
        run_dir = write_run(run(korea), tmp_path / "korea")
    fig = build_figures(run_dir, ["outcome_shares"]).figures["outcome_shares"]
    summary = load_run(run_dir).summary
    assert ("initial_stock" in summary["totals"]) == stock
    for ax, table in zip(main_axes(fig), (summary["by_route"], summary["by_group"])):
        totals = {}
        for p in ax.patches:
            y = round(p.get_y() + p.get_height() / 2, 6)
            totals[y] = totals.get(y, 0.0) + p.get_width()
        names = [t.get_text() for t in ax.get_yticklabels()]
        for tick, name in zip(ax.get_yticks(), names):
            expected = 1.0 if table[name]["set_out"] + table[name].get("initial_stock", 0) else 0.0
            assert totals[round(tick, 6)] == pytest.approx(expected), name


def test_route_map_positions_widths_and_colours(run_dir, plain_run_dir):
    run_data = load_run(run_dir)
    lay = rmap.layout(run_data.scenario["network"]["nodes"])
    assert lay.geographic and lay.pos["north"] == (127.0, 40.0) and lay.pos["abroad"] == (100.0, 45.0)
    assert "abroad" not in lay.core, "the far-away post abroad gets the overview panel, not the detail"
    stats = rmap._edge_stats(run_data)
    for eid, c in run_data.summary["by_edge"].items():
        entered, loss = stats[eid]
        assert entered == c["entered"]
        if entered:
            assert loss == pytest.approx((c["returned"] + c["caught"] + c["killed"]) / entered)
    top = max(s[0] for s in stats.values())
    assert rmap._width(top, top) == rmap.MAX_WIDTH and rmap._width(0, top) == rmap.MIN_WIDTH

    plain = load_run(plain_run_dir)
    nodes = plain.scenario["network"]["nodes"]
    first, again = rmap.layout(nodes), rmap.layout(nodes)
    assert not first.geographic and first.pos == again.pos, "layout without coordinates must be stable"
    assert [first.pos[n][0] for n in ("home", "bank", "hide", "safe")] == [0, 1, 2, 3]
    fig = build_figures(plain_run_dir, ["route_map"]).figures["route_map"]
    assert_labelled(fig, "route_map without coordinates")
    ax = main_axes(fig)[0]
    assert len([p for p in ax.patches if p.get_gid() == "edge"]) == 4
    node_labels = [t.get_text() for t in ax.texts]
    assert {"home", "bank", "hide", "safe"} <= set(node_labels)


def test_flows_without_policies(plain_run_dir):
    figs = build_figures(plain_run_dir)
    assert list(figs.figures) == FIGURE_NAMES["run"]
    assert "no enabled policies" in texts(figs.figures["flows"])


# -------------------------------------------------------------------------------------------- sweep figures


def test_every_grid_sweep_figure_is_made_and_labelled(grid_dir):
    figs = build_figures(grid_dir)
    assert figs.kind == "sweep"
    assert set(figs.figures) == {"response-dmz.mines", "response-boat.patrol", "heatmap",
                                 "route_shares-dmz.mines", "route_shares-boat.patrol"}
    assert set(figs.skipped) == {"policy_bars", "policy_years"}
    for name, fig in figs.figures.items():
        assert_labelled(fig, name)
    response = figs.figures["response-boat.patrol"]
    assert main_axes(response)[-1].get_xlabel() == "patrol on edge boat (control level, 0-1)"
    assert len(main_axes(response)) == 3 * 2, "rows: set out, arrived, killed; columns: the two mine levels"


def test_response_curves_are_summarize_means(grid_dir):
    sw = load_sweep_dir(grid_dir)
    fig = build_figures(grid_dir, ["response"]).figures["response-boat.patrol"]
    ax = main_axes(fig)[1 * 2 + 0]  # row 'arrived', column mines = 0
    line = next(line for line in ax.get_lines() if line.get_label() == "sea")
    table = summarize(sw.runs, sw.parameters, ["route.sea.arrived"])
    expected = table[table["network.edges.dmz.controls.mines"] == 0.0].sort_values(
        "network.edges.boat.controls.patrol")
    np.testing.assert_allclose(line.get_ydata(), expected["mean"])
    np.testing.assert_allclose(line.get_xdata(), [0.2, 0.6, 0.9])


def test_heatmap_cells_are_summarize_means(grid_dir):
    sw = load_sweep_dir(grid_dir)
    fig = build_figures(grid_dir, ["heatmap"]).figures["heatmap"]
    arrived_ax = next(ax for ax in main_axes(fig) if ax.get_title().startswith("Arrived"))
    cells = np.asarray(arrived_ax.get_images()[0].get_array())
    table = summarize(sw.runs, sw.parameters, ["arrived"])
    for rec in table.to_dict("records"):
        r = [0.2, 0.6, 0.9].index(rec["network.edges.boat.controls.patrol"])
        c = [0.0, 1.0].index(rec["network.edges.dmz.controls.mines"])
        assert cells[r, c] == pytest.approx(rec["mean"])


def test_route_shares_stack_to_one(grid_dir):
    fig = build_figures(grid_dir, ["route_shares"]).figures["route_shares-dmz.mines"]
    for ax in main_axes(fig):
        top = max(np.max(c.get_paths()[0].vertices[:, 1]) for c in ax.collections)
        assert top == pytest.approx(1.0)


def test_policy_bars_are_paired_differences(policy_dir):
    figs = build_figures(policy_dir)
    assert set(figs.figures) == {"policy_bars", "policy_years", "route_shares"}
    assert set(figs.skipped) == {"response", "heatmap"}
    for name, fig in figs.figures.items():
        assert_labelled(fig, name)
    sw = load_sweep_dir(policy_dir)
    base = int(sw.runs.loc[sw.runs["policy"] == "kept", "point"].iloc[0])
    diffs = paired_differences(sw.runs, sw.parameters, base, ["arrived"]).set_index("policy")
    ax = next(ax for ax in main_axes(figs.figures["policy_bars"]) if ax.get_title() == "Arrived")
    bars = {round(p.get_y() + p.get_height() / 2): p.get_width() for p in ax.patches}
    first = main_axes(figs.figures["policy_bars"])[0]  # y is shared; inner panels hide their tick labels
    ticks = dict(zip([round(t) for t in first.get_yticks()], [t.get_text() for t in first.get_yticklabels()]))
    assert sorted(ticks.values()) == ["no_crackdown", "sea_open"]
    for y, width in bars.items():
        assert width == pytest.approx(diffs.loc[ticks[y], "diff"])
    assert "kept" in figs.figures["policy_bars"].get_suptitle()

    other = build_figures(policy_dir, ["policy_bars"], baseline="sea_open").figures["policy_bars"]
    assert "sea_open" in other.get_suptitle()
    with pytest.raises(UsageError, match="'nonesuch' is not a policy package of this sweep; packages: kept, "):
        build_figures(policy_dir, baseline="nonesuch")


def test_policy_bars_of_more_than_seven_combinations_tell_each_apart(tmp_path_factory):
    """One bar colour per combination of the other parameters, from seven colours: the eighth combination's bars
    were the first's, colour for colour. After seven they are hatched, and the legend shows it."""
    from matplotlib.colors import to_rgb

    values = ", ".join(f"0.{k}" for k in range(1, 9))
    out = _sweep(tmp_path_factory, "combos", f"""
name: combos
scenario: SCENARIO
parameters:
  population.size: [500]
  network.edges.dmz.controls.mines: [{values}]
design:
  type: policies
  policies:
    kept: {{}}
    sea_open: {{network.edges.boat.controls.patrol: 0.1}}
replicates: 1
seed: 2
""")
    fig = build_figures(out, ["policy_bars"]).figures["policy_bars"]
    legend = [(h.get_label(), to_rgb(h.get_facecolor()), h.get_hatch() or "") for h in fig.legends[0].legend_handles]
    assert len(legend) == 8 and len({(c, h) for _, c, h in legend}) == 8
    assert len({c for _, c, _ in legend[:7]}) == 7 and legend[7][1:] == (legend[0][1], "////")
    drawn = {(to_rgb(p.get_facecolor()), p.get_hatch() or "") for ax in main_axes(fig) for p in ax.patches}
    assert drawn == {(c, h) for _, c, h in legend}  # every combination's bars, as the legend shows them


def test_policy_years_are_paired_differences_per_year(policy_dir):
    sw = load_sweep_dir(policy_dir)
    fig = build_figures(policy_dir, ["policy_years"], baseline="sea_open").figures["policy_years"]
    assert_labelled(fig, "policy_years")
    means_ax, diff_ax = main_axes(fig)
    years = [2000, 2001, 2002, 2003, 2004]
    base = int(sw.runs.loc[sw.runs["policy"] == "sea_open", "point"].iloc[0])
    cols = [f"year.{y}.arrived" for y in years]
    diffs = paired_differences(sw.runs, sw.parameters, base, cols)
    lines = {line.get_label(): line for line in diff_ax.get_lines() if not line.get_label().startswith("_")}
    assert set(lines) == {"kept", "no_crackdown"}, "the baseline has no difference line"
    for pkg, line in lines.items():
        expected = diffs[diffs["policy"] == pkg].set_index("outcome").loc[cols, "diff"]
        np.testing.assert_allclose(line.get_xdata(), years)
        np.testing.assert_allclose(line.get_ydata(), expected)
    means = summarize(sw.runs, sw.parameters, cols)
    kept = next(line for line in means_ax.get_lines() if line.get_label() == "kept")
    np.testing.assert_allclose(kept.get_ydata(), means[means["policy"] == "kept"].set_index("outcome").loc[cols,
                                                                                                          "mean"])


def test_only_rejects_unknown_and_inapplicable_figures(run_dir, policy_dir):
    with pytest.raises(UsageError, match="unknown figure.*heatmap is for a sweep directory"):
        build_figures(run_dir, ["heatmap"])
    with pytest.raises(UsageError, match="'heatmap' does not apply"):
        build_figures(policy_dir, ["heatmap"])
    with pytest.raises(UsageError, match="--baseline names a policy package"):
        build_figures(run_dir, baseline="kept")


# ------------------------------------------------------------------------------------------------------ CLI


def test_a_path_taken_by_only_is_named_with_the_order_that_works(grid_dir, capsys):
    """`plot --only heatmap response DIR` takes DIR for a figure name; argparse said only that PATH was missing."""
    from sim.cli.main import main

    assert main(["plot", "--only", "heatmap", "response", str(grid_dir)]) == 2
    err = capsys.readouterr().err
    assert f"--only took '{grid_dir}' for a figure name, which it is not: give PATH first (bordersim plot {grid_dir} " \
           "--only" in err
    assert main(["plot"]) == 2 and "required: PATH (see `bordersim plot --help`)" in capsys.readouterr().err
    assert main(["plot", "--only", "flows"]) == 2  # a figure's name, whatever lies in the working directory
    assert "which it is not" not in capsys.readouterr().err


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="bordersim")
    plot_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.usefixtures("blank_drawing")  # files and markup; what the figures show: the tests of each figure
def test_plot_command_writes_and_prints_each_file(run_dir, tmp_path, capsys):
    assert _cli("plot", str(run_dir), "--out", str(tmp_path / "png")) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == [f"{n}.png" for n in FIGURE_NAMES["run"]]
    assert all(Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in printed)

    assert _cli("plot", str(run_dir), "--out", str(tmp_path / "v"), "--format", "svg", "--only", "yearly",
                "flows") == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == ["flows.svg", "yearly.svg"]
    assert "<svg" in Path(printed[0]).read_text()[:2000]
    written, _ = make_figures(run_dir, tmp_path / "pdf", fmt="pdf", only=["outcome_shares"])
    assert written[0].read_bytes()[:5] == b"%PDF-"


@pytest.mark.usefixtures("blank_drawing")  # where the figure goes, not what it shows
def test_plot_command_defaults_to_figures_inside_the_directory(grid_dir, capsys):
    assert _cli("plot", str(grid_dir), "--only", "heatmap") == 0
    assert capsys.readouterr().out.split() == [str(grid_dir / "figures" / "heatmap.png")]


def test_light_commands_do_not_import_matplotlib_and_figures_do_not_import_scipy():
    """Neither is needed before it is used: matplotlib by commands that draw nothing, scipy.stats (about 1 s to
    import; a t quantile of sweep figures) by the figures of a run."""
    code = ("import sys, sim.plots, sim.cli.plot; print('matplotlib' in sys.modules); import sim.plots.api; "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------------------------------- report


def _check_report(text: str, n_figures: int) -> None:
    images = re.findall(r"<img [^>]*src='([^']*)'", text)
    assert len(images) == n_figures
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"https?://", text), "the report must not refer to anything online"
    assert not re.search(r"<(link|script)\b", text), "no external stylesheet or script"


@pytest.mark.usefixtures("blank_drawing")  # files and markup; what the figures show: the tests of each figure
def test_run_report_is_self_contained(run_dir, tmp_path, capsys):
    assert _cli("report", str(run_dir), "--out", str(tmp_path / "r.html")) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == tmp_path / "r.html"
    text = path.read_text()
    _check_report(text, len(FIGURE_NAMES["run"]))
    summary = load_run(run_dir).summary
    assert summary["provenance"]["scenario_sha256"] in text and summary["provenance"]["code_sha256"] in text
    assert f"{summary['totals']['arrived']:,}" in text
    assert "Against the observed series" in text and "transit_crackdown" in text


@pytest.mark.usefixtures("blank_drawing")  # files and markup; what the figures show: the tests of each figure
def test_sweep_report_is_self_contained(policy_dir):
    # drawn once: write_report writes report_html's text (report_html itself is checked on a run directory below)
    path = write_report(policy_dir)
    assert path == policy_dir / "report.html"
    text = path.read_text()
    _check_report(text, 3)
    assert "Paired differences against the baseline package 'kept'" in text
    assert "Totals per point" in text
    assert text.count("<img") == 3


@pytest.mark.usefixtures("blank_drawing")  # files and markup; what the figures show: the tests of each figure
def test_report_escapes_scenario_text(run_dir, tmp_path):
    """Scenario text is data, not markup."""
    copy = tmp_path / "run"
    copy.mkdir()
    for f in ("summary.json", "timeseries.parquet"):
        (copy / f).write_bytes((run_dir / f).read_bytes())
    sc = scenario_to_dict(load_scenario(TOY))
    sc["description"] = "<script>alert(1)</script> & co"
    (copy / "scenario.resolved.yaml").write_text(yaml.safe_dump(sc))
    text = report_html(copy)
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text


def test_calibration_panels_draw_a_lower_bound_years_and_counts_on_their_own_scales():
    """The targets beyond shares (docs/calibration.md): forced returns are a lower bound (observed_high = inf, an
    arrow up from it), the time abroad is in years and the returns a count, not percentages."""
    from sim.plots.calibration import posterior_predictive

    predictive = pd.DataFrame({"period": ["2002"], "period_start": [2002], "period_end": [2002], "years": [1],
                               "observed": [1100.0],
                               "q05": [900.0], "median": [1000.0], "q95": [1300.0], "inside_90": [True]})
    shares = pd.DataFrame({"target": ["female_share", "years_abroad", "repatriations"],
                           "years": ["2002-2024", "2002-2009", "2020-2024"], "observed_low": [0.75, 3.0, 670.0],
                           "observed_high": [0.75, 4.0, float("inf")], "q05": [0.74, 2.8, 1440.0],
                           "median": [0.78, 3.6, 2612.0], "q95": [0.84, 5.2, 7204.0]})
    fig = posterior_predictive(predictive, shares)
    panels = {ax.get_title(): ax for ax in fig.axes[1:]}
    returns = panels["forced returns\n2020-2024"]
    low, high = returns.get_ylim()
    assert np.isfinite(high) and low <= 670 and high > 7204  # the bound and the whole band are on the axis
    assert [line.get_marker() for line in returns.lines][-1] == "^"
    fig.canvas.draw()
    assert all(t.get_text().endswith(" y") for t in panels["mean years abroad of\narrivals 2002-2009"]
               .get_yticklabels() if t.get_text())
    assert all(t.get_text().endswith("%") for t in panels["women among\narrivals 2002-2024"].get_yticklabels()
               if t.get_text())


@pytest.mark.usefixtures("blank_drawing")  # which figures are made, not what they show
def test_a_true_false_parameter_is_a_facet_not_a_numeric_axis(tmp_path):
    """A grid varying `shoot_on_sight: [true, false]` made `plot` and `report` fail with an internal error (a
    numpy subtraction of booleans in the route shares' axis padding), and drew a true/false lhs parameter as a
    response curve from 0 to 1 (a probe): true/false is a dimension of facets, like text."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: flags\nscenario: {TOY}\nparameters:\n  population.size: [500]\n"
                    "  network.edges.dmz.controls.mines: [0.2, 0.8]\n"
                    "  network.edges.dmz.shoot_on_sight: [true, false]\nreplicates: 1\nseed: 5\n"
                    "outputs: {keep: [totals, by_route], timeseries: false}\n")
    run_sweep(plan(spec), tmp_path / "sw", workers=1)
    sw = load_sweep_dir(tmp_path / "sw")
    assert sw.numeric("network.edges.dmz.controls.mines") and not sw.numeric("network.edges.dmz.shoot_on_sight")
    figs = build_figures(tmp_path / "sw")
    assert set(figs.names.values()) >= {"response", "route_shares"}, figs.skipped
    assert not any("shoot_on_sight" in stem for stem in figs.figures)


def test_a_run_where_nobody_sets_out_says_so_with_whole_person_ticks(tmp_path):
    """A run with every departure rate 0 drew blank panels ticked 0.01-0.06 persons per month (a probe)."""
    groups = [f"population.groups.{k}.departure_rate=0" for k in range(3)]
    sc = load_scenario(TOY, overrides=["population.size=2000", *groups])
    figs = build_figures(write_run(run(sc), tmp_path / "zero"), ["flows", "yearly"]).figures
    for name, fig in figs.items():
        for ax in main_axes(fig):
            if ax.get_ylabel().startswith(("persons per", "arrivals")):
                ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
                assert ax.get_ylim()[1] >= 1 and all(float(t).is_integer() for t in ticks), (name, ticks)
    assert "nobody set out in this run" in [t.get_text() for t in main_axes(figs["flows"])[0].texts]


def test_the_yearly_legend_stays_over_the_axes_with_a_partial_year_and_periods(tmp_path):
    """Four entries (simulated, partial year, observed, observed multi-year period) in one row ran left of the
    axes over the y tick labels (Korea from 1999-07: a probe)."""
    sc = load_scenario(ROOT / "scenarios" / "korea.yaml",
                       overrides=["population.size=5000", "time.start=1999-07", "time.end=2024-06"])
    fig = build_figures(write_run(run(sc), tmp_path / "korea"), ["yearly"]).figures["yearly"]
    ax = main_axes(fig)[0]
    fig.canvas.draw()
    legend, box = ax.get_legend(), ax.get_window_extent()
    assert len(legend.get_texts()) == 4, [t.get_text() for t in legend.get_texts()]
    inside = legend.get_window_extent()
    assert box.x0 <= inside.x0 and inside.x1 <= box.x1, (inside, box)


def test_the_yearly_figure_of_a_horizon_of_centuries_has_round_year_ticks():
    """The yearly figure's tick step was chosen among 1 to 50 years: a run to 2400 made `bordersim plot` an
    internal failure (StopIteration; the review). The ticks of 2000-2400 are 100 years apart."""
    from sim.plots import run_figures, style

    fig = style.figure(6, 3)
    ax = fig.add_subplot()
    run_figures._year_ticks(ax, np.arange(2000, 2401), 8)
    assert list(ax.get_xticks()) == [2000, 2100, 2200, 2300, 2400]


def test_a_package_whose_runs_all_failed_is_said_not_drawn_as_zero(policy_dir, tmp_path):
    """A policy package with no successful run was drawn as an empty route-shares bar (0% of every route), its
    difference labelled '+nan (+nan%)', and the notes said '3 replicates per point' (a probe, runs.parquet edited
    as a sweep whose package failed would leave it)."""
    import shutil

    from sim.outputs import MARKER

    copy = tmp_path / "pol"
    shutil.copytree(policy_dir, copy)
    runs = pd.read_parquet(copy / "runs.parquet")
    failed = runs["policy"] == "sea_open"
    outcomes = [c for c in runs.columns if c not in ("run_id", "point", "replicate", "seed", "policy", "status",
                                                     "error", "error_kind", "wall_time", "code_sha256",
                                                     "population.size") and runs[c].dtype.kind == "f"]
    runs.loc[failed, "status"] = "failed"
    runs.loc[failed, outcomes] = np.nan
    runs.to_parquet(copy / "runs.parquet", index=False)
    assert (copy / MARKER).is_file()
    figs = build_figures(copy, ["policy_bars", "route_shares"]).figures
    for name, fig in figs.items():
        shown = " ".join(texts(fig))
        assert "nan" not in shown.lower(), (name, shown)
        assert "0-3 replicates per point" in shown, (name, shown)
    assert "no successful runs" in " ".join(texts(figs["policy_bars"]))
    assert "no successful run, or nobody to share" in " ".join(texts(figs["route_shares"]))


def test_route_shares_leave_a_gap_at_a_point_whose_runs_all_failed(grid_dir, tmp_path):
    """The grid's stacked route shares drew a point with no successful run as 0% of every route, the stack
    sloping down to it and back up (a probe): it is a gap, and the note says so."""
    import shutil

    copy = tmp_path / "grid"
    shutil.copytree(grid_dir, copy)
    runs = pd.read_parquet(copy / "runs.parquet")
    gone = (runs["network.edges.dmz.controls.mines"] == 0.0) & (runs["network.edges.boat.controls.patrol"] == 0.6)
    share_cols = [c for c in runs.columns if c.startswith(("set_out.", "arrived."))]
    runs.loc[gone, "status"] = "failed"
    runs.loc[gone, share_cols + ["set_out", "arrived"]] = np.nan
    runs.to_parquet(copy / "runs.parquet", index=False)
    fig = build_figures(copy, ["route_shares"]).figures["route_shares-boat.patrol"]
    assert "gaps: points with no successful run" in " ".join(texts(fig))
    xs_per_panel = [{round(float(x), 6) for c in ax.collections for p in c.get_paths() for x in p.vertices[:, 0]}
                    for ax in main_axes(fig)]
    assert any(0.6 not in xs for xs in xs_per_panel) and any(0.6 in xs for xs in xs_per_panel)


def test_a_point_with_an_interval_between_points_without_one_shows_it(grid_dir, tmp_path):
    """The response figure's 95% band joins neighbouring points with intervals: a point with 3 replicates whose
    neighbours had fewer got a band of no width, invisible, while the legend promised a band (a probe). It is a
    bar now."""
    import shutil

    from matplotlib.collections import LineCollection

    copy = tmp_path / "grid"
    shutil.copytree(grid_dir, copy)
    runs = pd.read_parquet(copy / "runs.parquet")
    point = int(runs.loc[(runs["network.edges.dmz.controls.mines"] == 0.0)
                         & (runs["network.edges.boat.controls.patrol"] == 0.6), "point"].iloc[0])
    third = runs[(runs["point"] == point) & (runs["replicate"] == 0)].assign(replicate=2, run_id="third")
    third["arrived"] = third["arrived"] + 7  # a third replicate of that point only: n = 3 there, 2 elsewhere
    pd.concat([runs, third], ignore_index=True).to_parquet(copy / "runs.parquet", index=False)
    fig = build_figures(copy, ["response"]).figures["response-boat.patrol"]
    bars = [seg for ax in main_axes(fig) for c in ax.collections if isinstance(c, LineCollection)
            for seg in c.get_segments()]
    assert any(seg[0][0] == pytest.approx(0.6) and seg[0][1] != seg[1][1] for seg in bars)


def test_the_reports_yearly_table_names_the_partial_years(tmp_path):
    """The run's yearly figure hatches the years its horizon covers in part, but the report's table of arrivals
    per year gave them as if whole (a probe): a note under it names them."""
    from sim.plots.report import _run_sections  # the report's run text and tables, without its figures

    sc = load_scenario(TOY, overrides=["population.size=2000", "time.start=2000-04", "time.end=2004-06"])
    html = _run_sections(load_run(write_run(run(sc), tmp_path / "r")))
    assert "Partial years (the horizon covers them only in part): 2000, 2004." in html
    whole = load_scenario(TOY, overrides=["population.size=2000"])
    assert "Partial years" not in _run_sections(load_run(write_run(run(whole), tmp_path / "w")))


def test_partial_years_are_those_with_fewer_steps_than_a_whole_year():
    from sim.scenario.dates import Span, partial_years, step_dates

    def partial(start, end, step="month"):
        return partial_years(step_dates(Span(start, end, step)), step)

    assert partial("2000-03", "2002-06") == [2000, 2002]
    assert partial("2000-01", "2002-12") == []
    assert partial("2000-01", "2001-12", "week") == []  # 2000 holds 53 weekly steps, 2001 52
    assert partial("2000-01", "2001-06", "week") == [2001]


def test_policy_years_shade_and_name_the_years_the_horizon_covers_in_part(tmp_path_factory):
    """The run's yearly figure hatches partial years and the report names them; the sweep's policy_years drew a
    year of 4 months beside whole ones with nothing to tell them apart (a probe)."""
    from matplotlib.colors import to_rgb

    from sim.plots.policy_figures import sweep_partial_years

    root = tmp_path_factory.mktemp("partial")
    scenario = root / "toy.yaml"
    scenario.write_text(TOY.read_text().replace("time: {start: 2000-01, end: 2004-12, step: month}",
                                                "time: {start: 2000-01, end: 2004-04, step: month}"))
    spec = root / "pol.yaml"
    # nine packages: Okabe-Ito's eighth colour is the baseline's black, which the eighth package took (a probe)
    others = "".join(f"    patrol_{k}: {{network.edges.boat.controls.patrol: 0.{k}}}\n" for k in range(1, 9))
    spec.write_text(f"""
name: pol
scenario: {scenario}
parameters:
  population.size: [500]
design:
  type: policies
  policies:
    kept: {{}}
{others}replicates: 1
""")
    run_sweep(plan(spec), root / "pol", workers=1)
    sw = load_sweep_dir(root / "pol")
    assert sweep_partial_years(sw) == [2004]
    fig = build_figures(root / "pol", ["policy_years"]).figures["policy_years"]
    for ax in main_axes(fig):
        shaded = [p.get_x() for p in ax.patches if p.get_facecolor()[:3] == pytest.approx((0.902, 0.902, 0.902),
                                                                                          abs=1e-3)]
        assert shaded == [pytest.approx(2003.5)]
    assert "shaded: 2004, covered only in part by the horizon" in fig.get_supxlabel()
    # and the eighth of the packages besides the baseline took the first one's colour and line: now dotted
    for base, figure in (("kept", fig), ("patrol_4", build_figures(root / "pol", ["policy_years"],
                                                                  baseline="patrol_4").figures["policy_years"])):
        legend = {h.get_label(): (to_rgb(h.get_color()), h.get_linestyle())
                  for h in figure.legends[0].legend_handles}
        assert legend.pop(f"{base} (baseline)") == ((0.0, 0.0, 0.0), "--")
        styles = list(legend.values())
        assert len(styles) == 8 and len(set(styles)) == 8 and (0.0, 0.0, 0.0) not in {c for c, _ in styles}
        assert len({c for c, _ in styles[:7]}) == 7 and {ls for _, ls in styles[:7]} == {"-"}
        assert styles[7] == (styles[0][0], ":")
        drawn = {(to_rgb(line.get_color()), line.get_linestyle()) for line in main_axes(figure)[0].get_lines()
                 if line.get_gid() != "replicate" and len(line.get_xdata()) > 1}
        assert drawn == set(styles) | {((0.0, 0.0, 0.0), "--")}  # the lines as their legend shows them
    # where a parameter or a package sets the horizon, points differ: nothing is shaded or claimed
    text = spec.read_text()
    for name, change in (("by_time", ("population.size: [500]", "time.end: ['2004-04']")),
                         ("by_package", ("patrol_8: {", "patrol_8: {time.end: '2004-02', "))):
        spec.write_text(text.replace(*change))
        run_sweep(plan(spec), root / name, workers=1)
        assert sweep_partial_years(load_sweep_dir(root / name)) is None
