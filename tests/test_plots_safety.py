"""`bordersim plot` and `bordersim report` never lose a user's file, never draw noise as an effect, write the same
bytes for the same inputs, and answer bad directories with a message (issue 10, items 5, 11, 18, 19, 20).

- Writes: every file goes through a temporary name and a rename (a full disk, simulated by a writer that fails
  half-way, leaves the old file and no temporary); `plot --out` writes only into a new, empty or bordersim
  `figures` directory; `report --out` overwrites only a report bordersim wrote.
- Figures: a heatmap colours only differences the replicates resolve; with fewer than 3 replicates the figures
  draw the replicates, not a t-interval. Asserted on the artists' data and legend text, not on pixels.
- Reproducible: the same run gives byte-identical report.html, SVG and PDF wherever it lies and whenever it is
  drawn.
- Bad input: damaged or missing files, names with '/', sensitivity and calibration directories.

Sweep directories here are written by hand (sweep.json and runs.parquet as `bordersim sweep` writes them) so that
their numbers are known and no simulation is needed.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TOY
from matplotlib.collections import LineCollection, PolyCollection
from scipy.stats import binom

from sim.cli import main
from sim.errors import UsageError
from sim.engine.ledger import write_run
from sim.engine.mesa.model import run
from sim.plots import sweep_figures
from sim.plots.api import build_figures
from sim.directories import EFFECTS_COLUMNS, SweepData
from sim.plots.policy_figures import policy_bars
from sim.loading import load_scenario

MINES = "network.edges.dmz.controls.mines"
PATROL = "network.edges.boat.controls.patrol"

# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    sc = load_scenario(TOY, overrides=["population.size=1500"])
    return write_run(run(sc), tmp_path_factory.mktemp("safety") / "run")


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    """A hand-made one-parameter sweep (3 replicates): its report has one figure, so it is quick to write."""
    runs = line_runs([0.0, 0.5, 1.0], 3, np.random.default_rng(5))
    return write_sweep(tmp_path_factory.mktemp("safety") / "sweep", runs, [MINES, PATROL])


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def write_sweep(root: Path, runs: pd.DataFrame, parameters: list[str], *, design: dict | None = None,
                name: str = "hand") -> Path:
    """A sweep directory as `bordersim sweep` leaves it: sweep.json (manifest) and runs.parquet."""
    root.mkdir(parents=True)
    spec = {"name": name, "design": design or {"type": "grid"}, "parameters": {p: sorted(set(runs[p])) for p in
                                                                               parameters},
            "outputs": {"keep": ["totals"], "timeseries": False}}  # what these hand-made runs hold
    (root / "sweep.json").write_text(json.dumps({"fingerprint": "x", "spec_path": f"{name}.yaml", "spec": spec,
                                                 "scenario": "toy", "parameters": parameters}))
    totals = ("set_out", "arrived", "caught", "killed", "repatriated", "returned", "in_transit")
    runs = runs.assign(**{k: 0.0 for k in totals if k not in runs})  # a sweep writes every total (keep: totals)
    runs.to_parquet(root / "runs.parquet", index=False)
    return root


def grid_runs(values: dict[tuple[float, float], list[dict[str, float]]], px: str = MINES, py: str = PATROL
              ) -> pd.DataFrame:
    """runs.parquet rows of a two-parameter grid: (x, y) -> one dict of outcomes per replicate."""
    rows = []
    for point, ((x, y), reps) in enumerate(sorted(values.items())):
        for k, outcomes in enumerate(reps):
            rows.append({"run_id": f"p{point:03d}-r{k:02d}", "point": point, "replicate": k, "seed": 1000 + k,
                         px: x, py: y, "status": "ok", "error": None, **outcomes, "wall_time": 0.1})
    return pd.DataFrame(rows)


def line_runs(xs: list[float], replicates: int, rng: np.random.Generator) -> pd.DataFrame:
    """A one-parameter grid (mines) with set_out, arrived, killed per replicate."""
    return grid_runs({(x, 0.5): [{"set_out": float(500 + 100 * x + rng.normal(0, 10)),
                                  "arrived": float(300 - 50 * x + rng.normal(0, 10)),
                                  "killed": float(5 + 5 * x + rng.normal(0, 1))} for _ in range(replicates)]
                      for x in xs})


@pytest.fixture
def full_disk(monkeypatch):
    """`full_disk(directory, room=N)`: from now on, a file opened for writing under `directory` takes N bytes,
    then every write fails with ENOSPC, as on a full disk. Catches every Python-level writer (open, Path.open,
    PIL, matplotlib), whatever the code under test uses; no real disk is filled."""
    real_open = builtins.open

    class Full:
        def __init__(self, fh, room):
            self._fh, self._room = fh, room

        def write(self, data):
            if len(data) > self._room:
                self._fh.write(data[:self._room])
                self._room = 0
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self._room -= len(data)
            return self._fh.write(data)

        def fileno(self):  # no direct os.write past the check (PIL writes through fileno when it can)
            raise io.UnsupportedOperation("fileno")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()
            return False

        def __iter__(self):
            return iter(self._fh)

        def __getattr__(self, name):
            return getattr(self._fh, name)

    def arm(directory: Path, room: int = 1000) -> None:
        root = Path(directory).resolve()

        def fake_open(file, mode="r", *args, **kwargs):
            fh = real_open(file, mode, *args, **kwargs)
            if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+"):
                if root in Path(os.path.abspath(file)).parents:
                    return Full(fh, room)
            return fh

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)

    return arm


# --------------------------------------------------------------------------- item 5: atomic writes, the rule


def test_plot_on_a_full_disk_keeps_the_old_figure_and_leaves_no_temporary(run_dir, tmp_path, capsys, full_disk):
    out = tmp_path / "figs"
    assert cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "outcome_shares")[0] == 0
    before = (out / "outcome_shares.png").read_bytes()
    assert len(before) > 10_000
    full_disk(out, room=4096)
    rc, _, err = cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "outcome_shares")
    assert rc == 1, err  # the system refused: not bad input (README; it was 2)
    assert "outcome_shares.png" in err and "No space left on device" in err and "Traceback" not in err
    assert "internal failure" not in err, err  # the system refused, bordersim did not fail (a probe)
    assert (out / "outcome_shares.png").read_bytes() == before, "the old figure was damaged"
    rc, _, err = cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "yearly", "--format", "svg")
    assert rc == 1 and "yearly.svg" in err, err
    assert not (out / "yearly.svg").exists(), "a fragment of a new figure was left"
    assert sorted(p.name for p in out.iterdir()) == [".bordersim", "outcome_shares.png"], "a temporary was left"


@pytest.mark.usefixtures("blank_drawing")
def test_report_on_a_full_disk_keeps_the_old_report_and_leaves_no_temporary(sweep_dir, tmp_path, capsys,
                                                                              full_disk):
    target = tmp_path / "out" / "report.html"
    assert cli(capsys, "report", str(sweep_dir), "--out", str(target))[0] == 0
    before = target.read_bytes()
    full_disk(target.parent, room=4096)
    rc, _, err = cli(capsys, "report", str(sweep_dir), "--out", str(target))
    assert rc == 1 and "report.html" in err and "No space left on device" in err, err
    assert "internal failure" not in err, err
    assert target.read_bytes() == before, "the old report was replaced by a fragment"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"], "a temporary was left"


@pytest.mark.usefixtures("blank_drawing")
def test_plot_out_refuses_a_directory_bordersim_did_not_make_and_touches_nothing(run_dir, tmp_path, capsys):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "ch1.tex").write_text("my thesis")
    (mine / "flows.png").write_bytes(b"my own picture")
    other = tmp_path / "a_run"
    other.mkdir()
    (other / ".bordersim").write_text(json.dumps({"kind": "run", "made_by": "bordersim"}))
    (other / "summary.json").write_text("{}")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("notes")
    before = snapshot(tmp_path)
    for out, why in ((mine, "not made by bordersim"), (other, "not a figures directory"),
                     (a_file, "not a directory"), (tmp_path / "new" / ".." / "thesis", "not made by bordersim")):
        rc, printed, err = cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "flows")
        assert rc == 2 and why in err and printed == "", (out, err)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "new").exists()


@pytest.mark.usefixtures("blank_drawing")
def test_the_python_drawers_of_analyses_refuse_a_directory_bordersim_did_not_make(tmp_path):
    """`sim.plots.sensitivity.write_figures` and `sim.plots.effects.write_figures`, which docs/sensitivity.md and
    docs/effects.md give Python users, took any existing directory as the analysis's own figures/: they marked a
    folder of the user's as bordersim's (so that `bordersim plot --out` then wrote into it) and wrote figures
    there (a probe). Given a place of their own choosing, they follow `plot --out`'s rule."""
    from sim.plots import effects, sensitivity

    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "ch1.tex").write_text("my thesis")
    csv = tmp_path / "effects.csv"
    csv.write_text(",".join(EFFECTS_COLUMNS) + "\nclosure,none,arrivals,arrived,-10.0,-14,-12,-8,-6,-13,-11,-9,-7,"
                   "4,5\n")
    before = snapshot(tmp_path)
    for draw in (lambda out: sensitivity.write_figures(pd.read_csv(io.StringIO(INDICES_CSV)), out),
                 lambda out: effects.write_figures(csv, out)):
        with pytest.raises(UsageError, match="not made by bordersim"):
            draw(mine)
        assert snapshot(tmp_path) == before
        assert [p.name for p in draw(tmp_path / "new")]  # a new directory is taken, as by plot --out
        shutil.rmtree(tmp_path / "new")
    for draw, kind in ((lambda out: sensitivity.write_figures(pd.read_csv(io.StringIO(INDICES_CSV)), out),
                        "sensitivity"), (lambda out: effects.write_figures(csv, out), "effects")):
        analysis = tmp_path / kind  # an analysis's own figures/, unmarked as an earlier version left it: taken
        (analysis / "figures").mkdir(parents=True)
        (analysis / "figures" / "old.png").write_bytes(b"an earlier version's figure")
        (analysis / ".bordersim").write_text(json.dumps({"kind": kind, "made_by": "bordersim"}))
        assert [p.name for p in draw(analysis / "figures")]
        assert (analysis / "figures" / "old.png").read_bytes() == b"an earlier version's figure"


@pytest.mark.usefixtures("blank_drawing")
def test_plot_out_writes_a_marked_figures_directory_and_adds_to_it(sweep_dir, tmp_path, capsys):
    out = tmp_path / "figs"
    assert cli(capsys, "plot", str(sweep_dir), "--out", str(out), "--only", "response")[0] == 0
    assert json.loads((out / ".bordersim").read_text())["kind"] == "figures"
    assert cli(capsys, "plot", str(sweep_dir), "--out", str(out), "--only", "response", "--format", "svg")[0] == 0
    assert sorted(p.name for p in out.iterdir()) == [".bordersim", "response.png", "response.svg"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(capsys, "plot", str(sweep_dir), "--out", str(empty), "--only", "response")[0] == 0
    assert (empty / "response.png").exists()



@pytest.mark.usefixtures("blank_drawing")
@pytest.mark.parametrize("mine", ["a file", "a png of another program", "a link", "a directory"])
def test_a_figure_of_the_users_bearing_a_figures_name_is_never_replaced(run_dir, tmp_path, capsys, mine):
    """A figures directory bordersim made may hold the user's own flows.png: `plot` used to replace it."""
    out = tmp_path / "figs"
    assert cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "yearly")[0] == 0
    theirs = out / "flows.png"
    if mine == "a file":
        theirs.write_text("my own figure")
    elif mine == "a png of another program":
        import matplotlib.pyplot as plt

        fig = plt.figure()
        fig.savefig(theirs, format="png")
        plt.close(fig)
    elif mine == "a link":
        theirs.symlink_to(out / "yearly.png")
    else:
        theirs.mkdir()
    before = {p.name: (p.is_symlink(), p.read_bytes() if p.is_file() and not p.is_symlink() else None)
              for p in out.iterdir()}
    rc, printed, err = cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "yearly", "flows")
    assert rc == 2 and str(theirs) in err and "not a figure bordersim wrote" in err and printed == "", err
    assert {p.name: (p.is_symlink(), p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in out.iterdir()} == before, "nothing written, nothing replaced"
    assert cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "yearly")[0] == 0, "its own figures still"


@pytest.mark.usefixtures("blank_drawing")
def test_temporaries_of_a_killed_plot_or_report_go_when_they_write_there_again(run_dir, sweep_dir, tmp_path,
                                                                                  capsys):
    """A plot killed while it wrote left `.bordersim-<pid>-*.tmp` in the figures directory for good, although
    docs/outputs.md says the next write beside them removes those of dead processes; a live one's stays."""
    dead = subprocess.Popen(["true"])  # a process that has ended: its pid is free
    dead.wait()
    out = tmp_path / "figs"
    assert cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "yearly")[0] == 0
    report = tmp_path / "r"
    report.mkdir()
    for d in (out, report):
        (d / f".bordersim-{dead.pid}-x1y2.tmp").write_bytes(b"half a figure")
        (d / f".bordersim-{os.getppid()}-x1y2.tmp").write_bytes(b"another command, at work")
        (d / ".bordersim-4294967296-x1y2.tmp").write_bytes(b"no process has this pid")  # was an OverflowError
    assert cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "yearly")[0] == 0
    assert cli(capsys, "report", str(sweep_dir), "--out", str(report / "r.html"))[0] == 0  # one figure: quick
    for d in (out, report):
        assert not (d / f".bordersim-{dead.pid}-x1y2.tmp").exists()
        assert not (d / ".bordersim-4294967296-x1y2.tmp").exists()
        assert (d / f".bordersim-{os.getppid()}-x1y2.tmp").read_bytes() == b"another command, at work"

@pytest.mark.usefixtures("blank_drawing")
def test_default_figures_directory_of_a_run_is_bordersims_even_without_a_marker_but_not_its_files(run_dir, tmp_path,
                                                                                                    capsys):
    """An unmarked PATH/figures (earlier versions wrote no marker) is used and marked; a file in it that is not a
    figure bordersim tagged is not replaced: it may be the user's (it used to be overwritten)."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "figures").mkdir(exist_ok=True)
    (copy / "figures" / "flows.png").write_bytes(b"drawn by an earlier bordersim, or by the user")
    rc, printed, err = cli(capsys, "plot", str(copy), "--only", "flows")
    assert rc == 2 and "flows.png: exists and is not a figure bordersim wrote" in err and printed == "", err
    assert (copy / "figures" / "flows.png").read_bytes() == b"drawn by an earlier bordersim, or by the user"
    assert sorted(p.name for p in (copy / "figures").iterdir()) == ["flows.png"], "refused before the marker"
    rc, printed, _ = cli(capsys, "plot", str(copy), "--only", "yearly")
    assert rc == 0 and printed.split() == [str(copy / "figures" / "yearly.png")]
    assert json.loads((copy / "figures" / ".bordersim").read_text())["kind"] == "figures", "now marked as ours"


@pytest.mark.usefixtures("blank_drawing")
def test_report_out_overwrites_only_a_report_bordersim_wrote(sweep_dir, tmp_path, capsys):
    mine = tmp_path / "paper.html"
    mine.write_text("<html>my paper</html>")
    rc, printed, err = cli(capsys, "report", str(sweep_dir), "--out", str(mine))
    assert rc == 2 and "not a report bordersim wrote" in err and printed == ""
    assert mine.read_text() == "<html>my paper</html>"
    essay = tmp_path / "essay.html"  # a page of the user's that mentions the tag was taken for a report (a probe)
    essay.write_text('<p>About <meta name="generator" content="bordersim"> tags</p>')
    rc, _, err = cli(capsys, "report", str(sweep_dir), "--out", str(essay))
    assert rc == 2 and "not a report bordersim wrote" in err and "About" in essay.read_text()
    rc, _, err = cli(capsys, "report", str(sweep_dir), "--out", str(tmp_path))
    assert rc == 2 and "is a directory" in err
    rc, _, err = cli(capsys, "report", str(sweep_dir), "--out", str(tmp_path / "new" / ".." / "paper.html"))
    assert rc == 2 and mine.read_text() == "<html>my paper</html>" and not (tmp_path / "new").exists()
    link = tmp_path / "link.html"
    link.symlink_to(mine)
    assert cli(capsys, "report", str(sweep_dir), "--out", str(link))[0] == 2
    ours_linked = tmp_path / "ours.html"
    assert cli(capsys, "report", str(sweep_dir), "--out", str(ours_linked))[0] == 0
    link.unlink()
    link.symlink_to(ours_linked)  # a link to a report bordersim wrote: refused as a link, not as "not a report"
    rc, _, err = cli(capsys, "report", str(sweep_dir), "--out", str(link))
    assert rc == 2 and f"{link}: is a symbolic link" in err and link.is_symlink(), err

    ours = tmp_path / "r.html"
    assert cli(capsys, "report", str(sweep_dir), "--out", str(ours))[0] == 0
    assert '<meta name="generator" content="bordersim">' in ours.read_text()[:1000]
    ours.write_text(ours.read_text().replace("Totals per point", "Old totals"))
    assert cli(capsys, "report", str(sweep_dir), "--out", str(ours))[0] == 0, "our own report is replaced"
    assert "Old totals" not in ours.read_text()
    legacy = tmp_path / "legacy.html"  # written by a version before the generator tag
    legacy.write_text("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                      "content='width=device-width, initial-scale=1'><title>bordersim report: run of scenario "
                      "'toy'</title></head><body></body></html>\n")
    assert cli(capsys, "report", str(sweep_dir), "--out", str(legacy))[0] == 0
    assert "Totals per point" in legacy.read_text()


# ------------------------------------------------------------------- item 18: noise is not drawn as an effect


def _panel(fig, title: str):
    return next(ax for ax in fig.axes if ax.get_title().startswith(title))


def test_heatmap_greys_differences_the_replicates_do_not_resolve(tmp_path):
    """The issue's case: cells 496 and 495 (each about ±19) must not be opposite ends of a colour scale."""
    rng = np.random.default_rng(18)
    values = {}
    for x in (0.0, 1.0):
        for y in (0.2, 0.6, 0.9):
            mean = 495.0 + x  # no effect worth the name: noise of sd 15 dwarfs it
            big = 300.0 if (x, y) == (1.0, 0.9) else 0.0  # a real effect on arrivals in one cell
            values[(x, y)] = [{"set_out": float(np.round(mean + rng.normal(0, 15))),
                               "arrived": float(np.round(200 + big + rng.normal(0, 5))),
                               "killed": float(np.round(5 + rng.normal(0, 2)))} for _ in range(4)]
    root = write_sweep(tmp_path / "grid", grid_runs(values), [MINES, PATROL])
    fig = build_figures(root, ["heatmap"]).figures["heatmap"]
    for title in ("Set out", "Killed"):
        ax = _panel(fig, title)
        image = ax.get_images()[0]
        assert np.ma.getmaskarray(image.get_array()).all(), f"{title}: noise is coloured"
        assert "no difference resolved by 4 replicates" in ax.get_title()
    ax = _panel(fig, "Arrived")
    image = ax.get_images()[0]
    mask = np.ma.getmaskarray(image.get_array())
    assert not mask[2, 1], "the resolved effect (mines 1, patrol 0.9) is not coloured"
    assert image.norm(image.get_array()[2, 1]) == pytest.approx(1.0), "the largest resolved cell ends the scale"
    # the numbers written in the cells are still the means
    assert np.asarray(image.get_array())[2, 1] == pytest.approx(np.mean([r["arrived"] for r in values[(1.0, 0.9)]]))
    colorbars = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert len(colorbars) == 1, "a colour scale only for the panel with a resolved difference"


def _effect_grid(rng, replicates: int) -> dict:
    """Two mines x three patrol cells, a real effect on arrivals (+300) at mines 1, patrol 0.9, noise elsewhere."""
    return {(x, y): [{"set_out": float(np.round(495 + rng.normal(0, 15))),
                      "arrived": float(np.round(200 + (300 if (x, y) == (1.0, 0.9) else 0) + rng.normal(0, 5))),
                      "killed": float(np.round(5 + rng.normal(0, 2)))} for _ in range(replicates)]
            for x in (0.0, 1.0) for y in (0.2, 0.6, 0.9)}


def test_a_heatmap_cell_whose_runs_all_failed_is_named_and_the_other_cells_are_still_tested(tmp_path):
    """All runs of one cell failed: the test over the cells dropped every replicate, so every panel said 'no
    difference resolved by 0 replicates', and the failed cell was a grey square like an unresolved one (a probe)."""
    runs = grid_runs(_effect_grid(np.random.default_rng(18), 4))
    failed = runs["point"] == 0
    runs.loc[failed, "status"] = "failed"
    runs.loc[failed, ["set_out", "arrived", "killed"]] = np.nan
    fig = build_figures(write_sweep(tmp_path / "grid", runs, [MINES, PATROL]), ["heatmap"]).figures["heatmap"]
    ax = _panel(fig, "Arrived")
    assert not np.ma.getmaskarray(ax.get_images()[0].get_array())[2, 1], "the effect is no longer resolved"
    assert "replicate" not in ax.get_title()
    texts = {(round(t.get_position()[0]), round(t.get_position()[1])): t.get_text() for t in ax.texts}
    assert texts[(0, 0)] == "no successful\nruns"  # point 0: mines 0, patrol 0.2
    assert "0 replicates" not in _panel(fig, "Set out").get_title()
    # one or two runs left at that cell: it took the other cells' replicates out of the test likewise (review)
    for kept in (1, 2):
        runs = grid_runs(_effect_grid(np.random.default_rng(18), 4))
        failed = (runs["point"] == 0) & (runs["replicate"] >= kept)
        runs.loc[failed, "status"] = "failed"
        runs.loc[failed, ["set_out", "arrived", "killed"]] = np.nan
        root = write_sweep(tmp_path / f"kept{kept}", runs, [MINES, PATROL])
        ax = _panel(build_figures(root, ["heatmap"]).figures["heatmap"], "Arrived")
        assert not np.ma.getmaskarray(ax.get_images()[0].get_array())[2, 1], kept
        assert "replicate" not in ax.get_title(), ax.get_title()


def test_a_heatmap_of_two_replicates_colours_no_cell(tmp_path):
    """Two replicates whose deviations happened to agree gave a zero-width interval and a 'resolved' colour,
    where every other figure says that fewer than 3 replicates make no interval (a probe)."""
    root = write_sweep(tmp_path / "grid", grid_runs(_effect_grid(np.random.default_rng(5), 2)), [MINES, PATROL])
    fig = build_figures(root, ["heatmap"]).figures["heatmap"]
    for title in ("Set out", "Arrived", "Killed"):
        ax = _panel(fig, title)
        assert np.ma.getmaskarray(ax.get_images()[0].get_array()).all(), title
        assert "2 replicates at every cell: too few to test a difference" in ax.get_title()


def test_resolved_cells_colour_noise_at_most_at_the_stated_family_wise_level():
    """No effect anywhere (6 cells x 3 replicates, independent normal noise): the chance that any cell of a panel
    is coloured must be at most FAMILY_LEVEL = 5% (Bonferroni, so at most). 4000 panels, seed 7: the count of
    panels with a coloured cell must not exceed the 0.999 quantile of Binomial(4000, 0.05) (a false alarm of
    this test: 0.1%). A real difference is resolved."""
    rng = np.random.default_rng(7)
    panels = 4000
    coloured = sum(sweep_figures.resolved(rng.normal(100, 10, (3, 6))).any() for _ in range(panels))
    assert coloured <= binom.ppf(0.999, panels, sweep_figures.FAMILY_LEVEL), coloured
    assert coloured > 0, "never colouring anything is no test of the level"
    # one cell +60 (6 sd) against 5 unchanged cells, 10 replicates: resolved
    values = rng.normal(100, 10, (10, 6))
    values[:, 0] += 60
    assert sweep_figures.resolved(values)[0]
    # common random numbers: replicate k shares a large noise term across cells; the paired test sees through it
    shared = rng.normal(0, 50, (3, 1))
    values = 100 + shared + rng.normal(0, 2, (3, 6))
    values[:, 0] += 20
    assert sweep_figures.resolved(values)[0]
    # too few replicates or cells: nothing resolved
    assert not sweep_figures.resolved(np.array([[1.0, 100.0]])).any()
    assert not sweep_figures.resolved(np.array([[1.0], [2.0]])).any()
    assert not sweep_figures.resolved(np.array([[1.0, 100.0], [1.0, 100.0]])).any()  # 2 replicates: no test


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_response_with_two_replicates_draws_the_replicates_not_a_t_interval(tmp_path):
    rng = np.random.default_rng(2)
    runs = line_runs([0.0, 0.5, 1.0], 2, rng)
    root = write_sweep(tmp_path / "two", runs, [MINES, PATROL])
    fig = build_figures(root, ["response"]).figures["response"]
    ax = fig.axes[1]  # row 'arrived'
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)], "a t-band from 2 replicates"
    dots = next(line for line in ax.get_lines() if line.get_label() == "_replicates")
    np.testing.assert_allclose(sorted(zip(dots.get_xdata(), dots.get_ydata())),
                               sorted(zip(runs[MINES], runs["arrived"])))
    texts = _legend_texts(fig)
    assert any("individual replicates" in t for t in texts), texts
    assert not any("t-interval" in t for t in texts), texts
    assert "95%" not in fig.get_suptitle()

    runs = line_runs([0.0, 0.5, 1.0], 4, rng)
    root = write_sweep(tmp_path / "four", runs, [MINES, PATROL])
    fig = build_figures(root, ["response"]).figures["response"]
    ax = fig.axes[1]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 1, "4 replicates: one 95% band"
    assert not [line for line in ax.get_lines() if line.get_label() == "_replicates"]
    texts = _legend_texts(fig)
    assert any("95% t-interval of the mean" in t for t in texts), texts
    assert "95% band" in fig.get_suptitle()


def test_policy_bars_with_two_replicates_draw_each_paired_difference(tmp_path):
    rows = []
    values = {"kept": [100.0, 120.0], "open": [130.0, 138.0]}
    for point, (pkg, reps) in enumerate(values.items()):
        for k, v in enumerate(reps):
            rows.append({"run_id": f"p{point}-r{k}", "point": point, "policy": pkg, "replicate": k, "seed": k,
                         "population.size": 1000, "status": "ok", "error": None, "set_out": v, "arrived": v / 2,
                         "wall_time": 0.1})
    manifest = {"parameters": ["population.size"],
                "spec": {"name": "p", "design": {"type": "policies", "policies": {"kept": {}, "open": {}}}}}
    fig = policy_bars(SweepData(tmp_path, manifest, pd.DataFrame(rows)))["policy_bars"]
    ax = next(a for a in fig.axes if a.get_title() == "Set out")
    dots = [line for line in ax.get_lines() if line.get_gid() == "replicate"]
    assert len(dots) == 1 and sorted(dots[0].get_xdata()) == [18.0, 30.0]  # 130-100, 138-120
    assert not [c for c in ax.collections if isinstance(c, LineCollection)], "error bars from 2 replicates"
    assert any("individual replicates" in t for t in _legend_texts(fig))


def test_a_reports_tables_give_means_and_differences_to_the_same_digits():
    """A mean of 234.5 showed as 234 (replicates 271, 198) beside a paired difference of 3.5, and a sweep of
    policy packages alone said 'Parameters: .' (a probe)."""
    from sim.plots.report import _sweep_sections

    values = {"base": [271.0, 198.0], "open": [266.0, 196.0]}  # caught; differences 5 and 2: mean 3.5
    rows = [{"run_id": f"p{point}-r{k}", "point": point, "policy": pkg, "replicate": k, "seed": k, "status": "ok",
             "error": None, "caught": v, "set_out": 1000.0, "wall_time": 0.1}
            for point, (pkg, reps) in enumerate(values.items()) for k, v in enumerate(reps)]
    manifest = {"parameters": [], "spec": {"name": "p", "design": {"type": "policies",
                                                                    "policies": {"base": {}, "open": {}}}}}
    html = _sweep_sections(SweepData(Path("p"), manifest, pd.DataFrame(rows)), None)
    assert "234.5 (replicates 271, 198)" in html and "231 (replicates 266, 196)" in html
    assert "-3.5 (replicates -5, -2)" in html and "Parameters: ." not in html


# ------------------------------------------------------------------------------- item 20: reproducible files


def test_report_is_byte_identical_wherever_the_directory_lies_and_holds_no_path_or_time(run_dir, sweep_dir,
                                                                                          tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first, second = tmp_path / "a" / "mysweep", tmp_path / "b" / "elsewhere" / "mysweep"
    for d in (first, second):
        shutil.copytree(sweep_dir, d)
        assert main(["report", str(d)]) == 0
    text = (first / "report.html").read_bytes()
    assert text == (second / "report.html").read_bytes()
    assert str(tmp_path).encode() not in text and b"<code>mysweep</code>" in text
    # a sweep run with the spec's absolute path records it in sweep.json: the report names the file only (a probe)
    manifest = json.loads((first / "sweep.json").read_text())
    (first / "sweep.json").write_text(json.dumps({**manifest, "spec_path": "/home/someone/private/spec.yaml"}))
    assert main(["report", str(first)]) == 0
    shown = (first / "report.html").read_text()
    assert "/home/someone" not in shown and "<td class='l'>spec.yaml</td>" in shown
    (first / "sweep.json").write_text(json.dumps(manifest))
    run_copy = tmp_path / "c" / "myrun"
    shutil.copytree(run_dir, run_copy)
    assert main(["report", str(run_copy)]) == 0
    text = (run_copy / "report.html").read_text()
    assert str(tmp_path) not in text and "<code>myrun</code>" in text and "Written by bordersim" in text
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert main(["report", str(first)]) == 0
    assert b"Written 2023-11-14 22:13 UTC" in (first / "report.html").read_bytes()


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_svg_and_pdf_figures_are_byte_identical_whenever_they_are_drawn(run_dir, tmp_path, monkeypatch, capsys, fmt):
    """Two plots of the same run, one 'now' and one at another time (SOURCE_DATE_EPOCH is the clock matplotlib
    reads first), give the same bytes: no creation date, fixed SVG ids."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert cli(capsys, "plot", str(run_dir), "--out", str(tmp_path / "now"), "--format", fmt, "--only",
               "outcome_shares")[0] == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    assert cli(capsys, "plot", str(run_dir), "--out", str(tmp_path / "then"), "--format", fmt, "--only",
               "outcome_shares")[0] == 0
    now = (tmp_path / "now" / f"outcome_shares.{fmt}").read_bytes()
    assert now == (tmp_path / "then" / f"outcome_shares.{fmt}").read_bytes()
    assert b"1970" not in now


# --------------------------------------------------------------------------------- items 11, 19: bad input


def _damage_run(run_dir: Path, root: Path, file: str, how: str) -> Path:
    copy = root / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("figures", "report.html"))
    path = copy / file
    if how == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif how.startswith("summary:"):  # one value of summary.json replaced: "summary:BLOCK:KEY:JSON"
        _, block, key, value = how.split(":", 3)
        data = json.loads(path.read_text())
        data[block][key] = json.loads(value)
        path.write_text(json.dumps(data))
    elif how == "arrived as text":
        table = pd.read_parquet(path)
        table["arrived"] = table["arrived"].astype(str)
        table.to_parquet(path, index=False)
    else:
        path.write_text(how)
    return copy


@pytest.mark.parametrize("file,how", [
    ("summary.json", "truncate"), ("summary.json", '{"totals": {}}'), ("summary.json", "[1, 2]"),
    ("summary.json", 'summary:arrivals_by_year:2001:"x"'), ("summary.json", "summary:arrivals_by_year:abc:3"),
    ("summary.json", 'summary:provenance:seed:"x"'),  # shown in titles by plot and report, refused by compare
    ("timeseries.parquet", "truncate"), ("timeseries.parquet", "arrived as text"),
    ("scenario.resolved.yaml", "a: ["), ("scenario.resolved.yaml", "name: toy\n"),
])
def test_damaged_run_directory_is_exit_2_naming_the_file(run_dir, tmp_path, capsys, file, how):
    """A value of the wrong type (a year's arrivals as text, a year 'abc', a column of text) was an internal
    failure (exit 1) in plot, report and compare, found by a black-box probe."""
    copy = _damage_run(run_dir, tmp_path, file, how)
    for command in ("plot", "report", "compare"):
        rc, _, err = cli(capsys, command, *([str(run_dir)] if command == "compare" else []), str(copy))
        assert rc == 2, (command, err)
        assert file in err and "internal failure" not in err and "Traceback" not in err, err
    assert not (copy / "report.html").exists()


@pytest.mark.usefixtures("blank_drawing")
def test_plot_out_inside_another_bordersim_directory_is_refused_but_its_figures_directory_is_used(run_dir, tmp_path,
                                                                                                   capsys):
    """`plot --out RUN/sub` was accepted, and then `run --force` refused RUN for holding what bordersim did not
    write (sub); figures also went into a sweep's time-series store (a probe)."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("figures", "report.html"))
    for inside in (copy / "sub", copy / "sub" / "deeper"):
        rc, _, err = cli(capsys, "plot", str(copy), "--only", "yearly", "--out", str(inside))
        assert rc == 2 and f"lies inside the run directory {copy}" in err and not (copy / "sub").exists(), err
    rc, _, err = cli(capsys, "plot", str(copy), "--only", "yearly", "--out", str(copy / "figures"))
    assert rc == 0 and (copy / "figures" / "yearly.png").exists(), err


@pytest.mark.usefixtures("blank_drawing")
def test_a_run_without_crossings_per_edge_has_no_route_map_rather_than_one_where_no_one_entered(run_dir, tmp_path,
                                                                                                  capsys):
    """A summary.json without `by_edge` drew every edge as one no one entered (a probe)."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("figures", "report.html"))
    summary = json.loads((copy / "summary.json").read_text())
    del summary["by_edge"]
    (copy / "summary.json").write_text(json.dumps(summary))
    rc, _, err = cli(capsys, "plot", str(copy), "--only", "route_map")
    assert rc == 2 and "does not apply" in err and "records no crossings per edge" in err, err
    rc, out, err = cli(capsys, "plot", str(copy))
    assert rc == 0 and not (copy / "figures" / "route_map.png").exists() and (copy / "figures" / "flows.png").exists()
    assert "records no crossings per edge" in out + err


@pytest.mark.usefixtures("blank_drawing")  # files and markup, not what the figures show
def test_a_run_before_the_year_1000_is_read_back_by_plot_report_and_compare(tmp_path, capsys):
    """Its summary.json maps '999' to arrivals (a year as a run writes it): plot, report and compare refused the
    file as damaged, advising to write it again, which wrote the same keys (found by the calendar probe)."""
    import yaml

    data = yaml.safe_load(TOY.read_text())
    data["time"] = {"start": "0999-11", "end": "1000-02", "step": "month"}
    data["policies"], data["population"]["size"] = [], 1500
    scenario = tmp_path / "early.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    for seed in ("1", "2"):
        assert cli(capsys, "run", str(scenario), "--out", str(tmp_path / seed), "--seed", seed, "--quiet")[0] == 0
    assert list(json.loads((tmp_path / "1" / "summary.json").read_text())["arrivals_by_year"]) == ["999", "1000"]
    for argv in (["plot", str(tmp_path / "1")], ["report", str(tmp_path / "1")],
                 ["compare", str(tmp_path / "1"), str(tmp_path / "2"), "--out", str(tmp_path / "c")]):
        rc, _, err = cli(capsys, *argv)
        assert rc == 0, (argv, err)
    by_year = pd.read_csv(tmp_path / "c" / "by_year.csv")  # by number within each outcome: it put 1000 before 999
    assert all(g["year"].tolist() == [999, 1000] for _, g in by_year.groupby("outcome")), by_year


@pytest.mark.parametrize("file", ["summary.json", "timeseries.parquet", "scenario.resolved.yaml"])
def test_a_file_the_system_will_not_let_us_read_is_named_as_unreadable_not_damaged(run_dir, capsys, monkeypatch,
                                                                                    file):
    """chmod 000 on an intact summary.json was reported as 'damaged or not written by bordersim: write it again'
    (found by the CLI probe). The system's refusal is simulated (the suite may run as root, whom chmod does not
    stop): Python's PermissionError for text, pyarrow's own OSError for a parquet file."""
    import pathlib

    import sim.directories

    target = run_dir / file
    read_text, read_parquet = pathlib.Path.read_text, sim.directories.read_parquet

    def text(self, *args, **kwargs):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    def parquet(path, *args, **kwargs):
        if Path(path) == target:
            raise OSError(f"Failed to open local file '{path}'. Detail: [errno 13] Permission denied")
        return read_parquet(path, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", text)
    monkeypatch.setattr(sim.directories, "read_parquet", parquet)
    rc, _, err = cli(capsys, "compare", str(run_dir), str(run_dir))
    assert rc == 2 and err == (f"error: {target}: cannot read file: permission denied (give your user read access "
                               "to it)\n"), err


@pytest.mark.parametrize("file,how", [("sweep.json", "truncate"), ("sweep.json", "[]"),
                                      ("sweep.json", "parameters not a mapping"), ("sweep.json", "a parameter more"),
                                      ("runs.parquet", "truncate"), ("runs.parquet", "columns"),
                                      ("runs.parquet", "point as text")])
def test_damaged_sweep_directory_is_exit_2_naming_the_file(tmp_path, capsys, file, how):
    root = write_sweep(tmp_path / "sw", line_runs([0.0, 1.0], 3, np.random.default_rng(1)), [MINES, PATROL])
    path = root / file
    if how == "truncate":
        path.write_bytes(path.read_bytes()[:60])
    elif how == "columns":
        pd.DataFrame({"a": [1, 2]}).to_parquet(path)
    elif how == "point as text":
        table = pd.read_parquet(path)
        table["point"] = table["point"].astype(str)
        table.to_parquet(path, index=False)
    elif how in ("parameters not a mapping", "a parameter more"):
        manifest = json.loads(path.read_text())
        if how == "a parameter more":
            manifest["parameters"].append("network.edges.x.open")
        else:
            manifest["spec"]["parameters"] = 3
        path.write_text(json.dumps(manifest))
    else:
        path.write_text(how)
    commands = ["plot", "report"] + (["summarize"] if how == "a parameter more" else [])
    for command in commands:  # a wrong type here was exit 1 (found by a black-box probe)
        rc, _, err = cli(capsys, command, str(root))
        assert rc == 2 and file in err and "internal failure" not in err, (command, err)


@pytest.mark.usefixtures("blank_drawing")
def test_names_with_a_slash_give_safe_file_names(tmp_path, capsys):
    """An edge id 'd/z' in a parameter name must not become a directory in a figure's file name."""
    slash = "network.edges.d/z.controls.mines"
    values = {(x, y): [{"set_out": 10.0 + x + k, "arrived": 5.0 + y + k, "killed": 1.0} for k in range(3)]
              for x in (0.0, 1.0) for y in (0.2, 0.9)}
    root = write_sweep(tmp_path / "sw", grid_runs(values, px=slash), [slash, PATROL])
    rc, printed, err = cli(capsys, "plot", str(root), "--only", "response")
    assert rc == 0, err
    names = sorted(Path(p).name for p in printed.split())
    assert names == ["response-boat.patrol.png", "response-d_z.mines.png"]
    assert all(Path(p).parent == root / "figures" for p in printed.split())


INDICES_CSV = """method,outcome,expression,parameter,label,rank,mu,mu_star,mu_star_conf,sigma,mu_star_seed_conf,\
noise_share,outcome_mean,replicates
morris,arrivals,arrived,network.edges.dmz.controls.mines,mines,2,0.0,0.0,0.0,0.0,,,48.33,1
morris,arrivals,arrived,network.edges.boat.controls.patrol,patrol,1,-111.75,111.75,48.69,55.5,,,48.33,1
"""
RANKING = "tinysens: morris, 12 points x 1 replicates = 12 runs of small.yaml\n rank parameter mu_star\n 1 patrol\n"
ORD, SOL = "population.groups.ordinary.departure_rate", "population.groups.soldier.departure_rate"


def write_sensitivity(root: Path) -> Path:
    """The files `bordersim sensitivity` leaves (its sweep subdirectory left out)."""
    root.mkdir()
    (root / "indices.csv").write_text(INDICES_CSV)
    (root / "ranking.txt").write_text(RANKING)
    (root / "experiment.yaml").write_text(f"name: tinysens_morris\nscenario: small.yaml\nparameters:\n  {MINES}: "
                                          f"[0.0, 1.0]\n  {PATROL}: [0.5, 0.0]\ndesign: {{type: points}}\n"
                                          "replicates: 1\nseed: 5\n")
    return root


def write_calibration(root: Path) -> Path:
    """The files `bordersim calibrate` leaves (its sweep subdirectories left out)."""
    root.mkdir()
    priors = {ORD: {"dist": "loguniform", "low": 0.0005, "high": 0.008},
              SOL: {"dist": "uniform", "low": 0.0005, "high": 0.003}}
    (root / "calibration.json").write_text(json.dumps({
        "spec": "cal.yaml", "date": "2026-01-01", "name": "tinycal", "priors": priors, "rounds": 1, "points": 8,
        "runs": 8, "failed_runs": 0, "epsilon": 0.78, "accepted": 4, "values": {ORD: 0.0042, SOL: 0.00183},
        "check": {"replicates": 1, "distance": 0.52}, "notes": ["a note"]}))
    rng = np.random.default_rng(3)
    points = pd.DataFrame({"point": range(8), ORD: np.exp(rng.uniform(np.log(5e-4), np.log(8e-3), 8)),
                           SOL: rng.uniform(5e-4, 3e-3, 8), "distance": rng.uniform(0.4, 2.0, 8), "round": 1})
    points["accepted"] = points["distance"] <= points["distance"].median()
    points.to_csv(root / "points.csv", index=False)
    (root / "predictive.csv").write_text("period,period_start,period_end,years,observed,q05,median,q95,inside_90\n"
                                         "2000,2000,2000,1,10,2.15,3.5,4.0,False\n"
                                         "2001,2001,2001,1,12,7.15,10.0,15.4,True\n")
    (root / "posterior_table.csv").write_text(
        "parameter,prior,prior_low,prior_high,posterior_median,posterior_q05,posterior_q95,width_ratio,verdict\n"
        f"{ORD},loguniform,0.0005,0.008,0.0042,0.0026,0.0063,0.35,pinned down\n")
    return root


@pytest.mark.usefixtures("blank_drawing")  # files and markup, not what the figures show
def test_report_and_plot_of_a_sensitivity_directory(tmp_path, capsys):
    root = write_sensitivity(tmp_path / "sens")
    rc, printed, err = cli(capsys, "report", str(root))
    assert rc == 0, err
    text = Path(printed.strip()).read_text()
    assert "sensitivity analysis" in text and "tinysens: morris" in text and "patrol" in text
    assert text.count("<img ") == 2
    rc, printed, err = cli(capsys, "plot", str(root))
    assert rc == 0, err
    assert sorted(Path(p).name for p in printed.split()) == ["morris.png", "morris_overview.png"]


@pytest.mark.usefixtures("blank_drawing")  # files and markup, not what the figures show
def test_report_and_plot_of_a_calibration_directory(tmp_path, capsys):
    root = write_calibration(tmp_path / "cal")
    rc, printed, err = cli(capsys, "report", str(root))
    assert rc == 0, err
    text = Path(printed.strip()).read_text()
    assert "calibration &#x27;tinycal&#x27;" in text and "pinned down" in text and "0.0042" in text
    assert text.count("<img ") == 2
    rc, printed, err = cli(capsys, "plot", str(root), "--only", "posterior_pairs")
    assert rc == 0 and [Path(p).name for p in printed.split()] == ["posterior_pairs.png"], err


def _field(text: str, row: int, column: int, value: str) -> str:
    """`text` (a CSV without quoted fields) with the field at data row `row`, column `column` replaced."""
    lines = text.split("\n")
    fields = lines[row + 1].split(",")
    fields[column] = value
    lines[row + 1] = ",".join(fields)
    return "\n".join(lines)


DAMAGES = {
    "cut inside a value": lambda t: t[: len(t) - 4],
    "not true or false": lambda t: t.replace("True", "maybe"),
    "true and false as 1 and 0": lambda t: t.replace(",True\n", ",1\n").replace(",False\n", ",0\n"),
    "not a number": lambda t: t.replace("7.15", "seven"),
    "a distance not a number": lambda t: _field(t, 2, 3, "abc"),  # points.csv: point, ORD, SOL, distance, ...
    "the header only": lambda t: t.split("\n")[0] + "\n",
}


@pytest.mark.parametrize("kind, file, damage", [
    ("calibration", "predictive.csv", "cut inside a value"),  # was exit 1: int() of 'FalseTru'
    ("calibration", "predictive.csv", "not true or false"),
    ("calibration", "predictive.csv", "not a number"),
    ("calibration", "points.csv", "true and false as 1 and 0"),  # was exit 1: a KeyError in the figure
    ("calibration", "points.csv", "a distance not a number"),  # was read
    ("calibration", "points.csv", "the header only"),  # was exit 1: KeyError 'distance'
    ("sensitivity", "indices.csv", "cut inside a value"),  # was read: the cut line's missing fields as empty
])
def test_a_damaged_table_of_an_analysis_is_exit_2_naming_it(tmp_path, capsys, kind, file, damage):
    root = (write_calibration if kind == "calibration" else write_sensitivity)(tmp_path / kind)
    (root / file).write_text(DAMAGES[damage]((root / file).read_text()))
    for command in ("plot", "report"):
        rc, _, err = cli(capsys, command, str(root))
        assert rc == 2 and file in err and "internal failure" not in err, (command, err)
    assert not (root / "report.html").exists() and not (root / "figures").exists()


@pytest.mark.usefixtures("blank_drawing")
@pytest.mark.parametrize("kind, file", [("calibration", "predictive.csv"), ("sensitivity", "indices.csv")])
def test_a_table_saved_without_its_last_line_end_or_with_windows_line_ends_is_read(tmp_path, capsys, kind, file):
    """Editors and spreadsheets save CSVs without a final line end, or with CR LF: whole rows, not damage."""
    root = (write_calibration if kind == "calibration" else write_sensitivity)(tmp_path / kind)
    text = (root / file).read_text()
    for edited in (text.rstrip("\n"), text.replace("\n", "\r\n"), text.replace("\n", "\r\n").rstrip("\r\n")):
        (root / file).write_bytes(edited.encode())
        rc, _, err = cli(capsys, "report", str(root))
        assert rc == 0, err


def test_unfinished_sensitivity_or_calibration_directory_says_what_to_do(tmp_path, capsys):
    sens = tmp_path / "sens"
    (sens / "sweep").mkdir(parents=True)
    (sens / "experiment.yaml").write_text("name: x\n")
    rc, _, err = cli(capsys, "report", str(sens))
    assert rc == 2 and "sensitivity directory whose analysis has not finished" in err
    assert "bordersim sensitivity" in err and "run `bordersim sweep` first" not in err
    cal = tmp_path / "cal"
    (cal / "sweep").mkdir(parents=True)
    (cal / "base.yaml").write_text("name: x\n")
    rc, _, err = cli(capsys, "plot", str(cal))
    assert rc == 2 and "calibration directory that has not finished" in err and "bordersim calibrate" in err
    damaged = write_calibration(tmp_path / "cal2")
    (damaged / "points.csv").write_text("point,distance\n0,")
    rc, _, err = cli(capsys, "report", str(damaged))
    assert rc == 2 and "points.csv" in err and "internal failure" not in err, err


def test_printed_tables_write_large_counts_as_whole_numbers_like_the_report(tmp_path, capsys):
    """`summarize` printed 12,205 as 1.221e+04 (4 significant digits), while the report beside it, which says it
    gives the same numbers, wrote 12,205; an unknown --outcome listed the kept outcomes cut at 30 names, without
    the yearly ones (a probe)."""
    from sim.numbers import readable

    assert [readable(v) for v in (12205.33, 999.95, 1000.0, 48.333, 0.004217, -12345.6, float("nan"))] == [
        "12,205", "1,000", "1,000", "48.33", "0.004217", "-12,346", "nan"]
    values = {(x, 0.5): [{"set_out": 12000.0 + 100 * x + k, "year.2001.arrived": 1.0, "year.2002.arrived": 2.0}
                         for k in range(3)] for x in (0.0, 1.0)}
    root = write_sweep(tmp_path / "big", grid_runs(values), [MINES, PATROL])
    rc, printed, err = cli(capsys, "summarize", str(root), "--outcome", "set_out")
    assert rc == 0 and "12,001" in printed and "e+0" not in printed, printed
    rc, _, err = cli(capsys, "summarize", str(root), "--outcome", "year.2099.arrived")
    assert rc == 2 and "year.<YYYY>.<outcome> for YYYY 2001..2002 and outcome arrived" in err, err
    # a baseline whose every run failed: each difference is missing, and nothing said why (a probe)
    runs = grid_runs(values)
    runs.loc[runs["point"] == 0, "status"] = "failed"
    failed = write_sweep(tmp_path / "failed", runs, [MINES, PATROL])
    rc, _, err = cli(capsys, "summarize", str(failed), "--baseline", "0", "--outcome", "set_out")
    assert rc == 0 and "note: the baseline point 0 has no successful run" in err, err
    # the report's caption said every total counts persons over the run: in_transit is the last step's stock
    from sim.plots.report import report_html

    assert "persons over the run (still in transit: at the last step;" in report_html(root)


def test_heatmap_cells_write_the_mean_as_the_report_does():
    """A cell read '486' beside the report's 486.5 and '4.2' beside 4.25 (half to even, 3 and 2 digits: a probe)."""
    from sim.plots.sweep_figures import _cell_text

    assert _cell_text(486.5, 35.2, 4, []).split("\n") == ["486.5", "±35"]
    assert _cell_text(4.25, 3.31, 4, []).split("\n") == ["4.25", "±3.3"]
    assert _cell_text(12205.3, 134.1, 2, [12071.2, 12339.4]) == "12,205\n(12,071, 12,339)"


@pytest.mark.usefixtures("blank_drawing")  # the report's table, not its figures
def test_a_sweep_reports_its_initial_stock_beside_the_totals(tmp_path):
    """The sweep report's totals left out initial_stock, so arrived (6,330) stood above set_out (4,838) with
    nothing to say why; the run report showed it and its balance (a probe)."""
    from sim.plots.report import report_html

    values = {(x, 0.5): [{"set_out": 100.0 + k, "arrived": 250.0 + k, "in_transit": 10.0, "initial_stock": 160.0}
                         for k in range(3)] for x in (0.0, 1.0)}
    html = report_html(write_sweep(tmp_path / "stock", grid_runs(values), [MINES, PATROL]))
    assert "<th class=''>initial_stock</th>" in html and ">160 [160, 160]<" in html
    assert "set_out + initial_stock = arrived + caught + killed + repatriated + returned + in_transit" in html
    plain = {(x, 0.5): [{"set_out": 100.0 + k} for k in range(3)] for x in (0.0, 1.0)}
    assert "initial_stock" not in report_html(write_sweep(tmp_path / "plain", grid_runs(plain), [MINES, PATROL]))


@pytest.mark.usefixtures("blank_drawing")  # where the figures go, not what they show
def test_figures_are_not_written_into_a_directory_another_command_is_writing(tmp_path, capsys):
    """Two `plot --out D` at once interleaved their files, leaving D with some figures of each (a probe). While
    one command writes D (it holds D's flock), another is refused before it writes anything; once it is done,
    the other may write."""
    import fcntl

    sc = load_scenario(TOY, overrides=["population.size=2000"])
    run_dir = write_run(run(sc), tmp_path / "r")
    out = tmp_path / "figs"
    assert cli(capsys, "plot", str(run_dir), "--out", str(out), "--only", "flows")[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the other command's save holds it
        rc, _, err = cli(capsys, "plot", str(run_dir), "--out", str(out))
        assert rc == 2 and "another bordersim command is writing figures into this directory" in err, err
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "something was written"
    finally:
        os.close(fd)
    assert cli(capsys, "plot", str(run_dir), "--out", str(out))[0] == 0
    assert len(list(out.glob("*.png"))) > 1



def test_a_figure_or_report_the_system_will_not_write_says_what_to_do(run_dir, tmp_path, monkeypatch, capsys):
    """The remedy of a refused figure or report was written in an `except OSError` that never ran (the atomic write
    had already turned the error into a WriteFailed): the message said only 'cannot write' (a review)."""
    import errno
    import tempfile

    from matplotlib.figure import Figure

    from sim.errors import WriteFailed
    from sim.plots import style
    from sim.plots.report import write_report

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    for write in (lambda: style.save(Figure(), tmp_path / "f.png", "png"),
                  lambda: write_report(run_dir, tmp_path / "r.html")):
        with pytest.raises(WriteFailed, match="cannot write \\(Permission denied\\).*: give your user write access "
                                              "there, or choose another --out"):
            write()
    # a figures directory whose marker cannot be written: refused before any figure is drawn, with the advice
    from sim.cli.main import main

    assert main(["plot", str(run_dir), "--out", str(tmp_path / "figs")]) == 2
    err = capsys.readouterr().err
    assert "figs/.bordersim: cannot write (Permission denied)" in err and "give your user write access" in err, err


def test_a_title_or_footnote_wider_than_its_figure_is_wrapped_inside_it():
    """The effects figure's footnote ended mid-word at the image's edge ("...; the parameter uncertain"), hiding
    that the parameter uncertainty was not sampled; a calibration figure's title was cut at both ends (a probe)."""
    from matplotlib.text import Text

    from sim.plots import style

    title = "A title that says more than a narrow figure can hold on one line: " + "word " * 30
    footnote = "How the intervals were computed, and what was not sampled: " + "detail " * 60 + "the end."
    fig = style.figure(5, 3)
    fig.subplots().plot([0, 1], [0, 1])
    style.title(fig, title)
    style.note(fig, footnote)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    texts = [t for t in fig.findobj(Text) if t.get_text() in (title, footnote)]  # unchanged: wrapped when drawn
    assert len(texts) == 2
    for t in texts:
        box = t.get_window_extent(renderer)
        assert -1 <= box.x0 and box.x1 <= width + 1 and -1 <= box.y0 and box.y1 <= height + 1, (t.get_text()[:30], box)
