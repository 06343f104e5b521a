"""Repeat attempts (`repeat:`, docs/model.md section 9) against closed forms, and the ledger of persons.

Statistical checks (4, counted in conftest.py's family-wise comment) use fixed seeds and the suite's level ALPHA:
- the share of a cohort that has arrived after at most M attempts on an edge with P(caught) = p: 1 - p^M;
- the mean number of attempts per person: sum_{k<M} p^k (normal approximation, the exact variance);
- the share of released persons setting out again in the step they are back: 1 - exp(-lambda * rho);
- the share setting out the step after, among those who did not: the same.
Everything else is exact."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ALPHA, assert_binomial, build, edge, group, node, scenario_dict, seed
from scipy.stats import norm

from sim.engine.mesa.model import BorderModel, run
from sim.errors import ScenarioError
from sim.outcomes import CAUGHT, SET_OUT
from sim.scenario.overrides import dump_scenario

DETECT_ALL = {"block": {}, "kill": {}, "detect": {"guards": 1.0}, "shot_kill_probability": 0.0}


def one_edge(p_caught: float, repeat: dict | None, *, size: int = 20000, end: str = "2000-12", rate: float = 50.0,
             k: int = 1) -> dict:
    """o -e-> d, one month to cross, P(caught) = p_caught (detect coefficient 1 on guards density -log(1 - p))."""
    guards = 1.0 if p_caught >= 1 else -math.log1p(-p_caught)
    hazards = dict(DETECT_ALL, detect={"guards": 1000.0 if p_caught >= 1 else 1.0})
    data = scenario_dict(nodes=[node("o", "origin"), node("d", "destination")],
                         edges=[edge("e", "o", "d", controls={"guards": min(guards, 1.0)})],
                         groups=[group(departure_rate=rate)], size=size, end=end, hazards=hazards, seed=seed(k))
    if repeat is not None:
        data["repeat"] = repeat
    return data


def test_attempts_until_success_are_geometric():
    """Delay 0 (one step), propensity 1, departure probability 1 - exp(-50) (= 1 in floating point): a person sets
    out at steps 0, 2, 4, ..., 10 until a crossing (resolved a step later) passes; caught with p = 0.6 each time.
    Over 12 steps: M = 6 attempts at most, P(arrived) = 1 - p^M, E[attempts] = sum_{k<M} p^k."""
    p, n, m = 0.6, 20000, 6
    result = run(build(one_edge(p, {"after": {"caught": 0}})))
    tot, persons = result.totals(), result.person_totals()
    assert persons["first_set_out"] == n and persons["retired"] == 0
    assert_binomial(tot["arrived"], n, 1 - p**m, "arrived after at most 6 attempts")
    pmf = np.array([p ** (j - 1) * (1 - p) for j in range(1, m)] + [p ** (m - 1)])
    attempts = np.arange(1, m + 1)
    mean, var = float(pmf @ attempts), float(pmf @ attempts**2) - float(pmf @ attempts) ** 2
    assert mean == pytest.approx(sum(p**j for j in range(m)))
    z = norm.ppf(1 - ALPHA / 2)
    assert abs(tot["set_out"] - n * mean) <= z * math.sqrt(n * var), (tot["set_out"], n * mean)
    # set out only at even steps, released only at even steps >= 2 (the step after the crossing + 1 step)
    set_out = result.flows[..., SET_OUT].sum(axis=(1, 2))
    released = result.persons["released"].sum(axis=(1, 2))
    assert set_out[1::2].sum() == 0 and released[1::2].sum() == 0 and released[0] == 0
    caught = result.flows[..., CAUGHT].sum(axis=(1, 2))
    np.testing.assert_array_equal(released[2::2], caught[1:-1:2])
    assert result.conservation_holds()


def test_a_null_delay_means_never_again_and_repeat_is_off_by_default():
    """caught: null (and no repeat section at all): nobody tries twice; the summary has no persons block and the
    resolved scenario no repeat section, as before the mechanism existed."""
    for rep in ({"after": {"caught": None, "repatriated": 3}}, None):
        result = run(build(one_edge(0.6, rep, size=2000)))
        assert result.totals()["set_out"] == 2000
        if rep is None:
            assert result.persons is None and "persons" not in result.summary()
            assert "repeat" not in result.resolved_yaml
        else:
            assert result.person_totals()["retired"] == result.totals()["caught"]


def test_back_home_after_the_delay_with_the_departure_rate_times_the_propensity():
    """Everyone sets out at step 0 (probability 1 - exp(-50)), is caught at step 1 (P = 1), detained for
    round(2 months) = 2 steps, back home at step 3, and then sets out with p = 1 - exp(-50 * rho) per step,
    rho = 0.01: a Binomial share at step 3, and the same share of the rest at step 4 (rho^1 still: they made one
    attempt). Those setting out again are caught a step later and back two steps after that."""
    n, rho, lam = 20000, 0.01, 50.0
    model = BorderModel(build(one_edge(1.0, {"after": {"caught": "2 months"}, "propensity": rho}, size=n,
                                       end="2000-06", k=2)))
    result = model.run()
    set_out = result.flows[..., SET_OUT].sum(axis=(1, 2))
    released = result.persons["released"].sum(axis=(1, 2))
    detained = result.persons["detained"].sum(axis=(1, 2))
    assert set_out[0] == n and set_out[1] == set_out[2] == 0
    np.testing.assert_array_equal(released[:4], [0, 0, 0, n])
    np.testing.assert_array_equal(detained[:3], [0, n, n])
    p = -math.expm1(-lam * rho)
    assert_binomial(int(set_out[3]), n, p, "set out again in the step back home")
    assert_binomial(int(set_out[4]), n - int(set_out[3]), p, "set out again one step later")
    assert released[5] == 0 and released[4] == 0  # those who set out at step 3 are caught at 4, home at 6
    assert result.person_totals()["first_set_out"] == n
    assert int(model.population.attempts.sum()) == int(set_out.sum())
    assert result.conservation_holds()


def test_weekly_steps_convert_the_delay():
    """A delay of 1 month is round(1 / (7 / 30.4375)) = 4 weekly steps (at least one)."""
    data = one_edge(1.0, {"after": {"caught": "1 month"}}, size=200, end="2000-03", k=3)
    data["time"]["step"] = "week"
    data["network"]["edges"][0]["duration"] = "1 week"
    result = run(build(data))
    released = result.persons["released"].sum(axis=(1, 2))
    assert released[1 + 4] == 200 and released[:5].sum() == 0


@pytest.mark.parametrize("bad, key", [({"after": {"caught": -1}}, "repeat.after.caught"),
                                      ({"after": {"killed": 1}}, "repeat.after.killed"),
                                      ({"propensity": -0.5}, "repeat.propensity")])
def test_bad_repeat_keys_are_scenario_errors(bad, key):
    with pytest.raises(ScenarioError) as exc:
        build(one_edge(0.5, bad, size=10))
    assert key in str(exc.value)


def test_the_resolved_scenario_keeps_the_repeat_section_when_it_is_on():
    sc = build(one_edge(0.5, {"after": {"returned": "3 months"}, "propensity": 1.5}, size=10))
    text = dump_scenario(sc)
    assert "repeat:" in text and "propensity: 1.5" in text


def test_a_propensity_past_the_floating_point_range_sets_out_again_with_certainty_and_no_warning():
    """propensity 1e308 made numpy warn 'overflow encountered in power' on stderr (a probe). rho^a past the
    largest float is inf: a person back home sets out at the first step with probability 1; the bound of the
    thinning is 1, not NaN; a rate of 0 stays 0; both engines agree."""
    import warnings

    import sim

    data = one_edge(1.0, {"after": {"caught": 0}, "propensity": 1e308}, size=3000, rate=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run(build(data))
        assert result == sim.run(build(data), engine="arrays")
    set_out = result.flows[..., SET_OUT].sum(axis=(1, 2))
    released = result.persons["released"].sum(axis=(1, 2))
    first = result.persons["first_set_out"].sum(axis=(1, 2))
    np.testing.assert_array_equal(set_out, first + released)  # everyone released sets out again at once
    assert result.conservation_holds()
    data["population"]["groups"][0]["departure_rate"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(build(data)).totals()["set_out"] == 0


def test_attempts_are_counted_up_to_the_cap_and_never_wrap_to_a_first_attempt():
    """A person's attempts are a uint16: past 65,535 the count wrapped to 0, the next attempt was counted as a
    first one (first_set_out 2 in a population of 1) and rho^a restarted (a probe, 67,831 attempts in a weekly run
    of 2,600 years). Counted up to 65,535 (docs/model.md §9), so a person setting out again is never a first."""
    from sim.rules.population import ATTEMPTS_COUNTED

    model = BorderModel(build(one_edge(1.0, {"after": {"caught": 0}}, size=10)))
    persons = np.arange(3)
    model.population.attempts[persons] = [ATTEMPTS_COUNTED - 1, ATTEMPTS_COUNTED, 5]
    first = model.ledger.persons._step["first_set_out"].sum()
    model._count_set_out(persons, np.zeros(3, dtype=np.int64))
    assert model.population.attempts[persons].tolist() == [ATTEMPTS_COUNTED, ATTEMPTS_COUNTED, 6]
    assert model.ledger.persons._step["first_set_out"].sum() == first  # this step's counts, not yet closed
