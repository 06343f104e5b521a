"""The package's public names: a literal __all__, listed by dir(sim), each resolving, imported lazily."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim

NOTEBOOK_NAMES = {"load_scenario", "run", "RunResult", "write_run", "sweep", "load_sweep", "calibrate",
                  "sensitivity", "compare", "effects", "load_observed", "BorderModel"}


def test_all_lists_what_a_notebook_needs_and_dir_shows_it():
    assert NOTEBOOK_NAMES <= set(sim.__all__)
    assert set(sim.__all__) <= set(dir(sim))
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
    assert callable(sim.calibrate) and callable(sim.sensitivity) and sim.sensitivity is sim.run_sensitivity
    from sim.analysis.compare import compare

    assert sim.compare is compare  # B - A of two runs or sweep points (docs/compare.md)
    from sim.analysis.effects.run import run_effects

    assert sim.effects is run_effects  # policy effects over a posterior (docs/effects.md)


def test_importing_sim_imports_no_engine():
    code = "import sys, sim; print(sorted(m for m in ('mesa', 'pandas', 'sim.engine.mesa.model') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ----------------------------------------------------------------------------------- wrong arguments from Python
TOY = "scenarios/toy.yaml"
SWEEP = "experiments/toy_sweep.yaml"


def _calls(out):
    """(what, call) pairs: each call gives a public function one wrong argument."""
    from pathlib import Path

    from sim.plots import make_figures
    from sim.plots.report import write_report

    root = Path(__file__).resolve().parents[1]
    toy, spec = str(root / TOY), str(root / SWEEP)
    sensitivity, effects = str(root / "experiments/toy_sensitivity.yaml"), str(root / "experiments/toy_effects.yaml")
    return [
        ("scenario", lambda: sim.run(toy)),
        ("seed", lambda: sim.run(sim.load_scenario(toy), seed=-1)),
        ("seed", lambda: sim.run(sim.load_scenario(toy), seed=2.5)),
        ("seed", lambda: sim.run(sim.load_scenario(toy), seed="7")),
        ("progress", lambda: sim.run(sim.load_scenario(toy), progress=5)),
        ("engine", lambda: sim.run(sim.load_scenario(toy), engine="mesa")),
        ("engine", lambda: sim.run(sim.load_scenario(toy), engine=["agents"])),  # was a TypeError: unhashable
        ("progress", lambda: sim.run(sim.load_scenario(toy), engine="arrays", progress=5)),
        ("seed", lambda: sim.run(sim.load_scenario(toy), engine="arrays", seed=-1)),
        ("progress", lambda: sim.sweep(spec, out, progress="bar")),
        ("result", lambda: sim.write_run(None, out)),
        ("out_dir", lambda: sim.write_run(sim.run(sim.load_scenario(toy, overrides=["population.size=100"])), None)),
        ("path", lambda: sim.load_scenario(None)),
        ("out_dir", lambda: sim.write_run(sim.run(sim.load_scenario(toy, overrides=["population.size=100"])),
                                          "~/bs_run")),  # made ./~/bs_run: Python does not expand '~'
        ("out", lambda: sim.sweep(spec, Path("~"))),
        ("overrides", lambda: sim.load_scenario(toy, overrides="population.size=100")),
        ("overrides", lambda: sim.load_scenario(toy, overrides=[5])),
        ("seed", lambda: sim.load_scenario(toy, seed="3")),
        ("root", lambda: sim.load_sweep(None)),
        ("spec", lambda: sim.sweep(None, out)),
        ("workers", lambda: sim.sweep(spec, out, workers=0)),
        ("workers", lambda: sim.sweep(spec, out, workers="1")),
        ("replicates", lambda: sim.sweep(spec, out, replicates=2.5)),
        ("replicates", lambda: sim.sweep(spec, out, replicates=True)),
        ("progress", lambda: sim.sensitivity(sensitivity, "morris", out, progress=5)),
        ("workers", lambda: sim.effects(effects, out, workers=1.5)),
        ("progress", lambda: sim.calibrate(str(root / "experiments/korea_calibration.yaml"), out, progress=5)),
        # a callback of the wrong shape is refused before anything runs or is written, not at its first call (a
        # probe: calibrate's (stage, done, total) met a (done, total) callback after its first files)
        ("progress", lambda: sim.calibrate(str(root / "experiments/korea_calibration.yaml"), out,
                                           progress=lambda done, total: None)),
        ("progress", lambda: sim.sweep(spec, out, progress=lambda stage, done, total: None)),
        ("progress", lambda: sim.BorderModel(sim.load_scenario(toy)).run(progress="x")),
        ("progress", lambda: __import__("sim.engine.arrays", fromlist=["run"]).run(
            sim.load_scenario(toy), progress=lambda stage, done, total: None)),
        ("name", lambda: sim.load_observed("nope")),
        ("name", lambda: sim.load_observed(None)),  # "unknown observed series None": not the argument's name
        ("method", lambda: sim.sensitivity(sensitivity, None, out)),  # a ScenarioError "unknown method 'None'"
        ("method", lambda: sim.sensitivity(sensitivity, "Morris", out)),
        ("scenario", lambda: sim.BorderModel("x")),
        ("rng", lambda: sim.BorderModel(sim.load_scenario(toy), rng=-1)),
        ("population", lambda: sim.BorderModel(sim.load_scenario(toy), population="no")),
        ("end_time", lambda: sim.BorderModel(sim.load_scenario(toy)).run_until("50")),
        ("force", lambda: sim.write_run(sim.run(sim.load_scenario(toy, overrides=["population.size=100"])), out,
                                        force="no")),
        ("write_scenario_path", lambda: sim.calibrate(str(root / "experiments/korea_calibration.yaml"), out,
                                                      write_scenario_path=5)),
        ("a", lambda: sim.compare(None, out)),
        # the figures' and report's functions (sim.plots): a TypeError, and 'heatmap' read letter by letter
        ("path", lambda: make_figures(123, out)),
        ("only", lambda: make_figures(toy, out, only="heatmap")),
        ("out", lambda: make_figures(toy, 5)),
        ("path", lambda: write_report(123, out / "r.html")),
    ]


def test_numpy_integers_are_counts_and_seeds_as_python_ints():
    """What a notebook computes with numpy is accepted, and passed on as Python ints (a numpy int in the spec made
    its YAML dump fail after OUT was made)."""
    import numpy as np

    from sim.api_checks import run_options, seed_argument

    counts = run_options(workers=np.int64(2), replicates=np.int32(3))
    assert counts == (2, 3) and all(type(c) is int for c in counts)
    assert type(seed_argument(np.uint32(7))) is int


def test_a_wrong_argument_from_python_is_a_usage_error_naming_it_and_nothing_is_written(tmp_path, monkeypatch):
    """Every public function given one wrong argument raises UsageError (an InputError: exit 2 from the command
    line) naming the argument, before it writes anything (no AttributeError or TypeError from deep inside)."""
    from sim.errors import UsageError

    monkeypatch.chdir(tmp_path)  # where a '~/...' path would have been made
    out = tmp_path / "out"
    for what, call in _calls(out):
        try:
            call()
        except UsageError as exc:
            assert what in str(exc), (what, str(exc))
        else:
            raise AssertionError(f"{what}: accepted")
        assert not out.exists() and not (tmp_path / "~").exists(), what


def test_a_border_model_stepped_by_hand_stops_at_its_horizon_and_reports_only_the_steps_run(tmp_path):
    """Mesa's idiom `model.run_model()` (step while `running`) ran past the horizon into an IndexError, and
    `result()` after 10 of 60 steps gave totals from the never-run last row (set_out 76, the outcomes 63) that
    write_run wrote as a whole run."""
    from sim.errors import UsageError

    toy = sim.load_scenario("scenarios/toy.yaml")
    whole = sim.run(toy)
    model = sim.BorderModel(toy)
    model.run_model()
    assert model.running is False and model.steps == len(whole.dates)
    assert model.result().summary() == whole.summary()
    for _ in range(3):  # every time: the first refusal, raised inside Mesa's step event, lost its schedule
        with pytest.raises(UsageError, match="cannot step further"):
            model.step()
    assert model.result().summary() == whole.summary() and model.time == model.steps  # the refusals changed nothing
    with pytest.raises(UsageError, match="no step has run yet"):  # its totals were an IndexError
        sim.BorderModel(toy).result()

    part = sim.BorderModel(toy)
    for _ in range(10):
        part.step()
    assert part.running is True
    result = part.result()
    assert result.dates == whole.dates[:10] and not result.whole and whole.whole
    totals = result.totals()
    assert totals["set_out"] == sum(v for k, v in totals.items() if k != "set_out")
    assert totals["in_transit"] == int(result.in_transit[-1].sum())
    assert np.array_equal(result.flows, whole.flows[:10])  # the same draws, the first steps of the whole run
    # RunResult.first_steps(k), public, cut a finished run's flows but kept its edge counts of all 60 steps (and
    # took -1 as "all but the last"): a model's first steps come only from stepping it (a probe)
    assert not hasattr(whole, "first_steps")
    with pytest.raises(UsageError, match="stopped after 10 of the 60 steps"):
        sim.write_run(result, tmp_path / "part")
    assert not (tmp_path / "part").exists()


def test_run_until_and_run_for_stop_at_the_horizon_and_its_clock_too():
    """Mesa's run_until advanced its clock one unit at a time, with no step to run, up to any end time:
    `run_until(1e9)` took hours, and `time` ended past the last step."""
    toy = sim.load_scenario("scenarios/toy.yaml", overrides=["population.size=2000"])
    whole = sim.run(toy)
    n = len(whole.dates)
    model = sim.BorderModel(toy)
    model.run_for(10)
    assert (model.steps, model.time) == (10, 10)
    model.run_until(12.5)  # the steps due by then: Mesa's clock stops at 12.5, the next step is due at 13
    assert (model.steps, model.time) == (12, 12.5)
    model.run_until(10**6)  # the old loop took about 5 s for this one and left time at 1e6
    assert (model.steps, model.time, model.running) == (n, n, False)
    model.run_for(100)
    assert (model.steps, model.time) == (n, n)
    other = sim.BorderModel(toy)  # numpy numbers are numbers (np.int64 was refused); an int beyond a float is inf
    other.run_until(np.int64(3))
    other.run_for(np.float32(2))
    assert (other.steps, other.time) == (5, 5)
    other.run_until(10**400)
    assert (other.steps, other.time) == (n, n)
    for bad in (True, "5", None, float("nan")):
        with pytest.raises(sim.InputError, match="duration: give a number of time units"):
            other.run_for(bad)
    assert model.result().summary() == whole.summary()


@pytest.mark.parametrize("engine", ["agents", "arrays"])
def test_a_scenario_changed_with_model_copy_is_validated_again_before_it_runs(engine):
    """pydantic's `model_copy(update=...)` makes a Scenario without validating it: shares summing to 5.97 ran and
    gave numbers; a negative seed or size failed deep inside numpy. Both engines validate what they are given."""
    from sim.engine.engines import run
    from sim.errors import ScenarioError

    toy = sim.load_scenario("scenarios/toy.yaml", overrides=["population.size=2000"])
    g0 = toy.population.groups[0].model_copy(update={"share": 5.0})
    groups = toy.population.model_copy(update={"groups": [g0, *toy.population.groups[1:]]})
    for bad, key in ((toy.model_copy(update={"population": groups}), "population.groups[ordinary].share"),
                     (toy.model_copy(update={"seed": -7}), "seed"),
                     (toy.model_copy(update={"population": toy.population.model_copy(update={"size": -100})}),
                      "population.size"),
                     (toy.model_copy(update={"population": "x"}), "population"),
                     # true as a size ran as 1 person (the JSON form wrote it as 1); an attribute that is no key was
                     # ignored (a misspelt key)
                     (toy.model_copy(update={"population": toy.population.model_copy(update={"size": True})}),
                      "population.size"),
                     (toy.model_copy(update={"route_choice": toy.route_choice.model_copy(update={"risk_wieght": 3})}),
                      "route_choice.risk_wieght")):
        with pytest.raises(ScenarioError) as raised:
            run(bad, engine=engine)
        assert raised.value.key == key and "validated again" in str(raised.value), str(raised.value)
    # a loaded scenario's inner list changed in place (pydantic's frozen stops only reassignment): validated too
    edited = sim.load_scenario("scenarios/toy.yaml", overrides=["population.size=2000"])
    edited.population.groups.append(edited.population.groups[0])  # shares now sum to more than 1
    with pytest.raises(ScenarioError, match="validated again"):
        run(edited, engine=engine)
    # a valid change runs as the same change made when loading
    changed = toy.model_copy(update={"seed": 11})
    assert run(changed, engine=engine).summary() == run(sim.load_scenario("scenarios/toy.yaml", seed=11, overrides=[
        "population.size=2000"]), engine=engine).summary()


def test_a_ctrl_c_during_a_sweep_is_not_swallowed_by_except_exception(tmp_path):
    """SweepInterrupted (Ctrl-C in a sweep or an analysis: finished runs kept) was an Exception, so a notebook's
    `except Exception:` around a sweep swallowed the Ctrl-C. It is a KeyboardInterrupt, exported as
    sim.SweepInterrupted."""
    from sim.experiments.sweep import plan, run_sweep

    def ctrl_c_after_the_first_run(done, total):
        if done:
            raise KeyboardInterrupt

    spec = tmp_path / "two.yaml"
    spec.write_text(f"name: two\nscenario: {Path(__file__).parents[1] / TOY}\nparameters:\n"
                    "  network.edges.dmz.controls.mines: [0.0, 1.0]\n  population.size: [500]\nreplicates: 1\n")
    with pytest.raises(sim.SweepInterrupted, match="interrupted: 1 of 2 runs finished") as raised:
        try:
            run_sweep(plan(spec), tmp_path / "o", workers=1,
                      progress=ctrl_c_after_the_first_run)
        except Exception:  # noqa: BLE001 - what a notebook writes; the Ctrl-C must pass through it
            pytest.fail("the Ctrl-C was caught as an Exception")
    assert isinstance(raised.value, KeyboardInterrupt) and raised.value.finished == 1


def test_run_takes_either_engine_and_sweep_reports_progress(tmp_path):
    """The README names `run(..., engine=)`, but sim.run was the Mesa engine's run, with no engine argument; and
    sim.sweep had no progress callback, unlike the analyses."""
    toy = sim.load_scenario("scenarios/toy.yaml", overrides=["population.size=2000"])
    steps = []
    agents = sim.run(toy, progress=lambda done, total: steps.append((done, total)))
    assert steps[-1] == (60, 60) and len(steps) == 60
    assert sim.run(toy, engine="arrays").summary() == agents.summary()  # docked: the same numbers
    spec = tmp_path / "two.yaml"
    spec.write_text(f"name: two\nscenario: {Path(__file__).parents[1] / TOY}\nparameters:\n"
                    "  network.edges.dmz.controls.mines: [0.0, 1.0]\n  population.size: [500]\nreplicates: 1\n")
    reports = []
    runs = sim.sweep(spec, tmp_path / "o", workers=1, progress=lambda done, total: reports.append((done, total)))
    assert len(runs) == 2 and reports[-1] == (2, 2)


def test_a_run_result_shows_as_one_line_in_a_notebook():
    """The dataclass's repr printed every array and the whole scenario (24,537 characters for the toy)."""
    toy = sim.load_scenario("scenarios/toy.yaml", overrides=["population.size=2000"])
    result = sim.run(toy)
    text = repr(result)
    assert "\n" not in text and len(text) < 300, text
    assert text.startswith("<RunResult scenario 'toy' seed 1: 60 steps 2000-01-01..2004-12-01; set_out ")
    assert f"arrived {result.totals()['arrived']:,}" in text
    model = sim.BorderModel(toy)
    model.step()
    assert "1 step 2000-01-01..2000-01-01, first steps only" in repr(model.result())


def test_a_border_model_whose_step_was_interrupted_refuses_to_go_on():
    """A Ctrl-C inside a step left the state of no step, and Mesa's schedule without its next step: every later
    step() only advanced Mesa's clock, and run() looped for ever with running True."""
    from sim.errors import UsageError

    model = sim.BorderModel(sim.load_scenario("scenarios/toy.yaml"))
    apply_policies, calls = model._apply_policies, []

    def interrupted_at_the_fifth(t):
        calls.append(t)
        if len(calls) == 5:
            raise KeyboardInterrupt
        apply_policies(t)

    model._apply_policies = interrupted_at_the_fifth
    with pytest.raises(KeyboardInterrupt):
        model.run()
    assert model.running is False
    # run_model, Mesa's loop while `running`, ended quietly as if the run were complete (an API probe)
    for call in (model.step, model.run, model.result, lambda: model.run_for(3), lambda: model.run_until(50),
                 model.run_model):
        with pytest.raises(UsageError, match="step 5 of this model was interrupted part way"):
            call()


def test_a_name_that_starts_with_a_tilde_is_given_as_dot_slash_from_python_and_the_command_line(tmp_path, monkeypatch,
                                                                                                 capsys):
    """'./~' was refused as starting with '~' (a Path drops the ./), so the documented way to name such a
    directory failed, from Python and from `--out ./~`; '~user/x' was accepted and made a directory '~user'."""
    from sim.cli import main
    from sim.errors import UsageError

    monkeypatch.chdir(tmp_path)
    result = sim.run(sim.load_scenario(Path(__file__).parents[1] / TOY,
                                       overrides=["population.size=200"]))
    for bad in ("~user/x", "~x", Path("~/x")):
        with pytest.raises(UsageError, match="starts with '~'") as refused:
            sim.write_run(result, bad)
        # a name that starts with '~' is given as './~name'; '~/x' is the home directory's x, and './~/x' (which
        # the message offered) makes the directory named '~' that the refusal prevents (a probe)
        assert ("'./~" in str(refused.value)) == (str(bad) != str(Path("~/x"))), str(refused.value)
    assert sim.write_run(result, "./~") == tmp_path / "~" and (tmp_path / "~" / "summary.json").is_file()
    toy = str(Path(__file__).parents[1] / TOY)
    assert main(["run", toy, "--set", "population.size=200", "--out", "./~cli", "--quiet"]) == 0
    assert (tmp_path / "~cli" / "summary.json").is_file() and not capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["~", "~cli"]


def test_run_results_compare_by_their_contents():
    """RunResult's dataclass __eq__ compared its numpy arrays with ==, so `a == b` raised ValueError (a probe)."""
    toy = sim.load_scenario("scenarios/toy.yaml", overrides=["population.size=2000"])
    a, b = sim.run(toy, seed=3, engine="arrays"), sim.run(toy, seed=3, engine="arrays")
    assert a == b and not (a != b) and a in [b]
    assert sim.run(toy, seed=3) == a  # the Mesa engine docks: the same result, field for field
    assert sim.run(toy, seed=4, engine="arrays") != a
    assert a != a.summary()


def test_a_run_leaves_the_callers_frozen_heap_frozen():
    """The Mesa engine froze the heap for a run and then called gc.unfreeze, which unfroze what the calling
    program had frozen too (a probe). In a process of its own: the test must not unfreeze pytest's heap."""
    code = ("import gc, sim; toy = sim.load_scenario('scenarios/toy.yaml', overrides=['population.size=2000']); "
            "gc.freeze(); frozen = gc.get_freeze_count(); sim.run(toy, engine='agents'); "
            "print(frozen, gc.get_freeze_count())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).parents[1])
    frozen, after = map(int, proc.stdout.split())
    assert frozen > 10_000 and after >= frozen - 100, (frozen, after)  # a few frozen objects freed, none unfrozen

def test_load_scenario_warns_python_users_as_the_command_line_does(tmp_path):
    """The warnings of a valid scenario that probably does not do what was meant were printed by `bordersim
    run` and `validate` only: from Python nothing was said (a probe)."""
    from sim.errors import ScenarioWarning

    with pytest.warns(ScenarioWarning) as told:
        sim.load_scenario("scenarios/toy.yaml", overrides=["network.edges.embassy.open=false",
                                                           "repeat.propensity=0.5"])
    messages = [str(w.message) for w in told]
    assert len(messages) == 2 and all(m.startswith("scenarios/toy.yaml: ") for m in messages), messages
    assert "group 'overseas_worker' has no usable path" in messages[0] and "propensity" in messages[1]


def test_a_command_tells_each_scenario_warning_once(capsys):
    """effects, discover and sensitivity read their spec's base scenario twice (for the plan they print, then to
    run it): its ScenarioWarning was printed twice (review). Other ResultWarnings are told each time."""
    import warnings

    from sim.cli.main import _warnings_told
    from sim.errors import ResultWarning, ScenarioWarning

    with _warnings_told():
        for _ in range(2):
            warnings.warn("base.yaml: group 'x' has no usable path", ScenarioWarning, stacklevel=1)
            warnings.warn("a result to read with care", ResultWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err.count("warning: base.yaml: group 'x' has no usable path\n") == 1, err
    assert err.count("warning: a result to read with care\n") == 2, err


@pytest.mark.parametrize("bad", ["x" * 300, "has\0nul"])
def test_a_path_no_file_system_can_hold_is_bad_input_at_every_entry_point(tmp_path, capsys, bad):
    """A name over 255 bytes raised a raw OSError (ENAMETOOLONG) from sim.sweep, calibrate, load_sweep and compare
    (`bordersim` exit 1, 'rerun with --debug'), and a NUL a raw ValueError (a probe): UsageError, exit 2."""
    from sim.cli.main import main

    root = Path(__file__).resolve().parents[1]
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: s\nscenario: {root / 'scenarios' / 'toy.yaml'}\nparameters:\n  population.size: [500]\n")
    path = tmp_path / bad
    calls = [lambda: sim.sweep(spec, path, workers=1), lambda: sim.load_sweep(path),
             lambda: sim.compare(path, path), lambda: sim.calibrate(root / "experiments" / "korea_calibration.yaml",
                                                                    path),
             lambda: sim.calibrate(root / "experiments" / "korea_calibration.yaml", tmp_path / "c",
                                   write_scenario_path=path)]
    for call in calls:
        with pytest.raises(sim.InputError, match="longer than the file system allows|holds a NUL character"):
            call()
    assert list(tmp_path.iterdir()) == [spec]
    if "\0" in bad:
        return  # no command line can hold a NUL
    for args in (["sweep", str(spec), "--out", str(path), "--workers", "1"], ["summarize", str(path)],
                 ["compare", str(path), str(path)], ["plot", str(path)]):
        assert main([*args, "--quiet"] if args[0] == "sweep" else args) == 2
        err = capsys.readouterr().err
        assert "longer than the file system allows" in err and "255 bytes" in err and "Traceback" not in err, err


def test_the_modules_and_errors_the_docs_name_are_reached_from_import_sim_in_a_new_session():
    """README names sim.errors.ScenarioWarning and the UsageError of a wrong argument, docs/plots.md
    sim.plots.make_figures: in a new session each was an AttributeError after `import sim` (an API probe)."""
    code = ("import sim; print(sim.errors.ScenarioWarning.__name__, sim.plots.make_figures.__name__, "
            "sim.UsageError.__name__, 'UsageError' in sim.__all__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["ScenarioWarning", "make_figures", "UsageError", "True"]
