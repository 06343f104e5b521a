"""Shared helpers: a builder for small scenarios as plain dicts, binomial confidence intervals at the suite's
per-check level, the seed helper, a CLI runner.

Tests import these directly (`from conftest import ...`); pytest puts this directory on sys.path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from scipy.stats import binomtest

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
#   test_conservation.py, test_rules.py, test_brokers.py: exact identities only, no statistical check
#   total                  170 checks; ALPHA = 5e-6 leaves room for 200 (sum 170 * 5e-6 = 8.5e-4 < 1e-3; a
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
def toy_path() -> Path:
    return TOY


# ------------------------------------------------------------------ parallel runs (pytest-xdist, pyproject addopts)
# The suite runs on 2 processes (`-n 2 --dist loadgroup`). Tests go to whichever process is free, one at a time,
# except for the groups below, which run whole on one process:
# * files whose module-scoped fixtures build something expensive (a sweep, a run, both engines): split across
#   processes, each process would build the fixture again;
# * the tests that start sweeps in subprocesses and signal or kill them, or start a Dask cluster: one after another,
#   so that two of them never compete for the cores while they wait for a run record or a child process.
SHARED_FIXTURE_FILES = ("test_cli.py", "test_determinism.py", "test_equivalence.py", "test_plots.py",
                        "test_plots_safety.py", "test_sensitivity.py", "test_sweep.py")
PROCESS_TESTS = (
    "test_sweep.py::test_sigkill_half_way_then_resume_gives_identical_results",
    "test_sweep.py::test_ctrl_c_stops_cleanly_keeps_finished_runs_and_says_how_to_resume",
    "test_sweep_robust.py::test_a_second_sweep_into_a_locked_directory_is_refused_and_a_killed_holder_releases_it",
    "test_sweep_robust.py::test_a_scheduler_lost_mid_sweep_ends_it_with_a_message_and_keeps_finished_runs",
    "test_sweep_robust.py::test_sigkill_of_the_sweep_leaves_no_process_behind",
    "test_sweep_robust.py::test_killing_the_forkserver_mid_sweep_the_sweep_still_finishes",
    "test_sweep_robust.py::test_ctrl_c_while_workers_start_prints_one_line_and_exits_130",
)
# Handed out first, longest first, so that the single tests at the end fill in around them (addopts keep this
# order: --no-loadscope-reorder): mypy from a cold cache and the benchmark smoke runs, then the process group, then
# the file groups, then every other test in its file's order.
FIRST = ("test_types.py::", "test_bench_smoke.py::", "test_bench_sweep_smoke.py::")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the group markers
def pytest_collection_modifyitems(config, items):
    def name(item) -> str:
        return item.nodeid.rsplit("/", 1)[-1]

    rank = {}
    for item in items:
        if name(item).startswith(FIRST):
            rank[item.nodeid] = 0
        elif name(item).split("[")[0] in PROCESS_TESTS:
            item.add_marker(pytest.mark.xdist_group("processes"))
            rank[item.nodeid] = 1
        elif item.path.name in SHARED_FIXTURE_FILES:
            item.add_marker(pytest.mark.xdist_group(item.path.name))
            rank[item.nodeid] = 2
        else:
            rank[item.nodeid] = 3
    items.sort(key=lambda item: rank[item.nodeid])  # stable: within a rank, the collection order
