"""Issue 13, the array engine's speed work: the draws it changed are keyed as docs/model.md says."""

from __future__ import annotations

import numpy as np

from sim.rules.streams import CHOICE, JOURNEY, journey_uniform, journey_uniforms, run_key, uniforms


def test_journey_draws_are_keyed_by_the_journey_purpose():
    key = run_key(3)
    persons, steps, slots = np.arange(50), 7, np.arange(6)
    u = journey_uniform(key, persons[:, None], steps, slots[None, :])
    assert np.array_equal(u, uniforms(key, JOURNEY, persons[:, None], steps, slots[None, :]))
    assert np.array_equal(journey_uniforms(key, persons, steps, 2), u)
    # without the purpose, person CHOICE's journey draw at (step p, slot t) was the choice draw of person p at t
    p, t = np.arange(20), 5
    assert not np.any(journey_uniform(key, CHOICE, p, t) == uniforms(key, CHOICE, p, t))
