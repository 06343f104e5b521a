"""Shared helpers: a builder for small scenarios as plain dicts, binomial confidence intervals at the suite's
per-check level, the seed helper, a CLI runner.

Tests import these directly (`from conftest import ...`); pytest puts this directory on sys.path.
"""

from __future__ import annotations

import gc
import os
import signal
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from sim.scenario.schema import MODES, Scenario
from sim.loading import validate_dict

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
TOY = ROOT / "scenarios" / "toy.yaml"

# In CI (CI=true) property tests draw the same examples every time: a red build is then reproducible.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# ----------------------------------------------------------------------- seeds and the family-wise error level
# Every fixed seed of the statistical tests is `seed(k) = k + SEED_OFFSET`; BORDERSIM_TEST_SEED_OFFSET shifts them
# all, so a check that passes only for a lucky seed shows up when the suite is run for other offsets.
SEED_OFFSET = int(os.environ.get("BORDERSIM_TEST_SEED_OFFSET", "0"))


def seed(k: int) -> int:
    """The seed of a statistical test: `k` shifted by BORDERSIM_TEST_SEED_OFFSET."""
    return k + SEED_OFFSET


# Per-check level of every statistical check (confidence interval or test) in the default suite, so that the
# whole suite fails by chance less than once in 1,000 runs (Bonferroni: P(any false failure) <= sum of levels):
#   test_analytic.py        39 binomial checks
#   test_equivalence.py    at most EQUIVALENCE_CHECKS (100) Poisson-rate tests, one per count compared (84 today)
#   test_streams.py          8 checks
#   test_time_units.py       4 checks
#   test_parameters.py       2 checks
#   test_repeat.py           4 checks (arrived after at most M attempts, mean attempts, two re-departure shares)
#   test_initial_stock.py    4 checks (group composition, two female shares, logit split of the onward path)
#   test_perception.py       3 checks (the memory-0 limit; chain-migration departures at two steps)
#   test_nested_choice.py    2 checks (family share, within-family share)
#   test_transit_closures.py 4 checks (repatriated while waiting for a closed leg to reopen; by sex, arrest_scale)
#   test_discover.py         3 checks (planted box found; categorical/integer box; the toy's sea-patrol box),
#                            each with a failure probability argued below ALPHA in the test file
#   test_calibration_smc.py  2 checks (SMC narrower than rejection at equal budget: sign test; SMC posterior mean)
#   test_effects.py          1 check (coverage of the seed interval under common random numbers)
#   test_conservation.py, test_rules.py, test_brokers.py: exact identities only, no statistical check
#   test_calibration_holdout.py: no check at a level; its synthetic truth is one of the calibration's own runs,
#                          so the held-out band holds it unless it is the extreme of 8 runs (argued there)
#   total                  176 checks; ALPHA = 5e-6 leaves room for 200 (sum 176 * 5e-6 = 8.8e-4 < 1e-3; a
#   check added past 200 must lower it).
ALPHA = 5e-6
EQUIVALENCE_CHECKS = 100

# No hazard unless a test asks for one: every coefficient zero (the schema defaults are not zero).
NO_HAZARDS = {"block": {}, "kill": {}, "detect": {}, "shot_kill_probability": 0.0}


def fixed(value: float) -> dict:
    return {"dist": "fixed", "value": value}


def node(id: str, kind: str, **kw) -> dict:
    return {"id": id, "kind": kind, **kw}


def edge(id: str, frm: str, to: str, mode: str = "land", **kw) -> dict:
    return {"id": id, "from": frm, "to": to, "mode": mode, **kw}


def group(
    name: str = "everyone",
    *,
    share: float = 1.0,
    female_share: float = 0.5,
    departure_rate: float = 50.0,
    risk_tolerance: dict | float = 1.0,
    means: dict | float = 0.0,
    modes=MODES,
    **kw,
) -> dict:
    """A population group; by default everyone ignores risk, has no money and sets out almost surely at once
    (rate 50 per step: p = 1 - exp(-50 * exp(U*)) ~ 1 on a free, riskless, short path)."""
    rt = fixed(risk_tolerance) if isinstance(risk_tolerance, (int, float)) else risk_tolerance
    m = fixed(means) if isinstance(means, (int, float)) else means
    return {
        "name": name,
        "share": share,
        "female_share": female_share,
        "departure_rate": departure_rate,
        "risk_tolerance": rt,
        "means": m,
        "modes": list(modes),
        **kw,
    }


def scenario_dict(
    *,
    nodes: list[dict],
    edges: list[dict],
    groups: list[dict] | None = None,
    size: int = 1000,
    origins: dict[str, float] | None = None,
    start: str = "2000-01",
    end: str = "2000-12",
    step: str = "month",
    hazards: dict | None = None,
    route_choice: dict | None = None,
    policies: list[dict] | None = None,
    push: dict | None = None,
    seed: int = 1,
    name: str = "test",
    max_path_edges: int | None = None,
) -> dict:
    """A scenario as the plain dict YAML would give. Defaults: no hazards, route choice weights all zero,
    origins = every origin node with weight 1, one group of `group()`."""
    if origins is None:
        origins = {n["id"]: 1.0 for n in nodes if n["kind"] == "origin"}
    network = {"nodes": nodes, "edges": edges}
    if max_path_edges is not None:
        network["max_path_edges"] = max_path_edges
    return {
        "name": name,
        "time": {"start": start, "end": end, "step": step},
        "seed": seed,
        "population": {"size": size, "origins": origins, "groups": groups or [group()]},
        "push": push or {},
        "route_choice": route_choice
        if route_choice is not None
        else {"risk_weight": 0.0, "cost_weight": 0.0, "time_weight": 0.0},
        "network": network,
        "hazards": hazards if hazards is not None else dict(NO_HAZARDS),
        "policies": policies or [],
    }


def build(data: dict) -> Scenario:
    """Validate a scenario dict with the same code path as a YAML file (schema + graph checks)."""
    return validate_dict(data, path="<test>")


def binom_ci(k: int, n: int, level: float = 1 - ALPHA) -> tuple[float, float]:
    """Clopper-Pearson (exact) confidence interval for a binomial proportion k / n (default: at the suite's
    per-check level ALPHA)."""
    from scipy.stats import binomtest  # here: the xdist controller loads this file too, and needs no scipy

    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return ci.low, ci.high


def assert_binomial(k: int, n: int, p: float, what: str, level: float = 1 - ALPHA) -> None:
    """The analytic probability p lies in the `level` (default 1 - ALPHA) confidence interval of k successes in
    n trials."""
    assert n > 0, f"{what}: no trials"
    lo, hi = binom_ci(k, n, level)
    assert lo <= p <= hi, (
        f"{what}: {k}/{n} = {k / n:.4f}, {level:.6%} CI [{lo:.4f}, {hi:.4f}] excludes {p:.4f}"
    )


def run_cli(
    *args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """`python -m sim ARGS` in a subprocess (not a TTY), text output captured; `env` adds variables."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        check=False,
        cwd=cwd or ROOT,
        env={**os.environ, **env} if env else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def ctrl_c_between_the_renames(monkeypatch):
    """A function that makes the rename moving a directory away to `<temporary>/old` (the first of the two that
    swap a new directory in: sim.outputs.new_dir, the sweep store's --force) send this process a Ctrl-C once it is
    done; Python runs the handler before the next line, i.e. before the second rename. SIGINT gets Python's
    default handler for the test: a suite started in the background (`cmd &` in a script, as CI may) ignores it,
    and bordersim then keeps ignoring it, as it should."""
    real_replace = os.replace

    def replace(src, dst):
        real_replace(src, dst)
        if Path(dst).name == "old":
            os.kill(os.getpid(), signal.SIGINT)

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield lambda: monkeypatch.setattr(os, "replace", replace)
    signal.signal(signal.SIGINT, old)


@pytest.fixture
def blank_drawing(monkeypatch):
    """Figures are drawn as their blank background only: for tests of where and how figure files are written
    (refusals, markers, temporaries, names), not of what the figures show. Layout, axes and text, most of the time
    a figure takes to draw, are skipped; each file is still a whole PNG, SVG or PDF of the figure's size with
    bordersim's metadata. test_plots.py and the byte-identity tests draw for real."""
    from matplotlib.figure import Figure

    def draw(self, renderer):
        renderer.open_group("figure", gid=self.get_gid())
        self.patch.draw(renderer)
        renderer.close_group("figure")
        self.stale = False

    monkeypatch.setattr(Figure, "draw", draw)


def users_file(name: str) -> bytes:
    """What a user might keep under `name`: a figure matplotlib drew for them (whose creator only starts like
    bordersim's), their own report page, or notes."""
    if name.endswith(".png"):
        import io

        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(1, 1))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": "bordersim-notebook (my own)"})  # not bordersim's
        plt.close(fig)
        return buf.getvalue()
    if name.endswith(".html"):
        return b"<!DOCTYPE html><html><head><title>my notes</title></head><body>mine</body></html>\n"
    return b"the user's\n"


@pytest.fixture
def toy_path() -> Path:
    return TOY


@pytest.fixture
def killed_tmpdir():
    """TMPDIR for a `python -m sim` that a test kills with SIGKILL: a fresh directory removed afterwards, so that
    the forkserver's directory (pymp-*) the killed process cannot remove stays out of the machine's /tmp (300 had
    gathered on one machine). A short path, not under tmp_path: the forkserver's socket path may have at most 107
    bytes."""
    path = Path(tempfile.mkdtemp(prefix="bs"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------ parallel runs (pytest-xdist, pyproject addopts)
# The suite runs on 2 processes (`-n 2 --dist loadfile`): each file runs whole on one process, so a module-scoped
# fixture (a sweep, a run, both engines) is built once, and the tests that signal or kill sweeps in subprocesses
# (test_sweep.py, test_sweep_robust.py) run one after another within their file. (`--dist loadgroup` would be
# finer, but pytest-xdist 3.8's groups have no effect under pytest 9.2, which no longer reads `item._nodeid`.)
# Files are handed out longest first (addopts keep this order: --no-loadscope-reorder), so that the short ones at
# the end fill in around the long ones: the dashboard's (a server and a browser, ~30 s on a busy machine), mypy
# from a cold cache (~20 s), then by their measured serial time (`pytest --durations=0`, summed per file,
# 2026-12-07: the files of 3 s or more).
LONGEST_FIRST = ("test_dashboard.py", "test_types.py", "test_sweep_robust.py", "test_calibration.py", "test_sweep.py",
                 "test_plots.py", "test_plots_safety.py", "test_calibration_holdout.py", "test_discover.py",
                 "test_cli.py", "test_compare.py", "test_analysis_safety.py", "test_branches.py",
                 "test_doc_commands.py", "test_bench_smoke.py", "test_docking.py", "test_network_limits.py",
                 "test_bench_engines_smoke.py", "test_array_speed.py", "test_sensitivity.py", "test_analytic.py",
                 "test_calibration_smc.py", "test_equivalence.py", "test_effects.py", "test_output_safety.py")


# Temporary directories in memory where the machine has one: bordersim fsyncs every file it writes (0.4 ms each on
# this machine's disk, 0.03 ms on tmpfs), and the suite writes thousands; one clean clone measured 132.6 s with
# the disk's /tmp and 115.9 s with /dev/shm.
# BORDERSIM_TEST_TMP chooses another root; tests that need a particular filesystem make their own.
SHM = Path("/dev/shm")


def pytest_configure(config):
    root = os.environ.get("BORDERSIM_TEST_TMP") or (str(SHM) if SHM.is_dir() and os.access(SHM, os.W_OK) else None)
    if root and config.option.basetemp is None:
        tempfile.tempdir = root  # pytest's tmp_path root is tempfile.gettempdir()/pytest-of-USER


def pytest_collection_finish(session):
    """Python's full garbage collections, of the oldest generation, run here at most once per 100 collections of
    the middle one (Python's default: 10). A test process keeps everything its tests imported alive, so each full
    collection walks all of it: measured over the whole suite (gc.callbacks in both workers, 2026-12-07), 25-27 full
    collections a worker taking 5-7 s of CPU, against 6-8 taking 2-3 s with this setting; the workers' peak memory
    went from about 0.5 GB to 0.8-0.9 GB. Only the pytest processes change: the processes bordersim starts keep
    Python's default."""
    gc.set_threshold(*gc.get_threshold()[:2], 100)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
