"""Random numbers keyed by what they are for, so that a change leaves every draw it does not touch as it was.

Every draw of a run is a pure function of (run key, purpose, who, when, which), not a position in a shared stream
(docs/model.md, "Random streams"). The function is a documented hash:

    mix(z)      = SplitMix64's finaliser: z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27;
                  z *= 0x94d049bb133111eb; z ^= z >> 31            (all mod 2^64; a bijection of 64-bit words)
    key(seed)   = mix(seed xor 0x626f726465727369)                  ("bordersi")
    h(k, p1..pn) = x_n with x_0 = k, x_i = mix((x_{i-1} xor p_i) + 0x9e3779b97f4a7c15)
    U(k, ...)   = (h(k, ...) >> 11) * 2^-53                          (uniform on [0, 1), 53 bits)

Consequences: results do not depend on event order, worker count or which other people exist; two scenarios that
differ on one route give every person whose choices and journey do not involve that route exactly the same
outcome (common random numbers); a second engine can draw the same numbers for the same person. `numpy` evaluates
`h` on whole arrays (uint64 arithmetic wraps); `hash_int` is the same function on Python ints, for tests.

Purposes (the first part after the key):
- HOME: attributes of the people at home, one numpy generator per (chunk of 2^20 persons, stratum), seeded by h;
- DEPART_ORDER, DEPART_PERM: the per-person, per-step departure uniforms (see `departure_candidates`);
- CHOICE: U(k, CHOICE, person, step) picks the path of a person setting out at that step;
- JOURNEY: U(k, JOURNEY, person, step set out, slot) for the crossings and waits of that journey
  (slot 3l: crossing edge l; 3l + 1: arrest threshold at the node reached by edge l; 3l + 2: leave threshold).
- STOCK: attributes of the initial stock at transit nodes (`sim.rules.stocks`), one numpy generator per (entry of
  `initial_stock`, stratum), seeded by h(k, STOCK, entry, stratum);
- STOCK_CHOICE: U(k, STOCK_CHOICE, person) picks the path of a person of the initial stock;
- STOCK_DEPART: the departure uniforms of the initial stock's persons once they are back home (repeat attempts):
  `departure_candidates` under the key h(k, STOCK_DEPART), so the home population's draws stay as they were.
"""

from __future__ import annotations

import math

import numpy as np

HOME, DEPART_ORDER, DEPART_PERM, CHOICE, JOURNEY, STOCK, STOCK_CHOICE, STOCK_DEPART = range(1, 9)
SLOTS_PER_LEG = 3
CROSS, ARREST, LEAVE = range(SLOTS_PER_LEG)

_M64 = (1 << 64) - 1
_C1, _C2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_GOLDEN = 0x9E3779B97F4A7C15
_DOMAIN = 0x626F726465727369
_ORDER_CHUNK = 4096  # order statistics are generated in fixed chunks, so the arithmetic never depends on p_bar
_FEISTEL_ROUNDS = 4


def _mix_int(z: int) -> int:
    z = ((z ^ (z >> 30)) * _C1) & _M64
    z = ((z ^ (z >> 27)) * _C2) & _M64
    return z ^ (z >> 31)


def run_key(seed: int) -> int:
    """key(seed) = mix(seed xor 'bordersi'): the root of every draw of a run (seed < 2^64)."""
    return _mix_int((int(seed) & _M64) ^ _DOMAIN)


def hash_int(key: int, *parts: int) -> int:
    """h(key, parts...) on Python ints (the reference for `hash_u64`)."""
    x = key
    for p in parts:
        x = _mix_int(((x ^ (int(p) & _M64)) + _GOLDEN) & _M64)
    return x


def _mix(z: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """mix(z) element-wise, in place on z, with `tmp` a scratch array of z's shape (uint64 arithmetic wraps)."""
    np.right_shift(z, _S30, out=tmp)
    z ^= tmp
    z *= _U1
    np.right_shift(z, _S27, out=tmp)
    z ^= tmp
    z *= _U2
    np.right_shift(z, _S31, out=tmp)
    z ^= tmp
    return z


_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_U1, _U2, _UG = np.uint64(_C1), np.uint64(_C2), np.uint64(_GOLDEN)


def _as_u64(p) -> np.ndarray:
    """An integer part as uint64: the same 64 bits as `astype(np.uint64)` (int64 is reinterpreted, not copied)."""
    a = np.asarray(p)
    if a.dtype == np.uint64:
        return a
    if a.dtype == np.int64:
        return a.view(np.uint64)
    return a.astype(np.uint64)


def hash_u64(key: int, *parts) -> np.ndarray:
    """h(key, parts...) element-wise; parts are ints or integer arrays (broadcast together). Leading scalar parts
    are folded in on Python ints first, so only the array parts cost vectorized work (done in place)."""
    lead = 0
    while lead < len(parts) and np.ndim(parts[lead]) == 0:
        lead += 1
    prefix = hash_int(key, *(int(p) for p in parts[:lead]))
    arrays = [_as_u64(p) for p in parts[lead:]]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    if arrays and arrays[0].shape == shape:
        x = arrays[0] ^ np.uint64(prefix)
        rest = arrays[1:]
    else:
        x = np.full(shape, prefix, dtype=np.uint64)
        rest = arrays
        if not arrays:
            return x
    if arrays and arrays[0].shape == shape:
        x += _UG
        tmp = np.empty_like(x)
        _mix(x, tmp)
    else:
        tmp = np.empty_like(x)
    for a in rest:
        x ^= a
        x += _UG
        _mix(x, tmp)
    return x


def uniforms(key: int, *parts) -> np.ndarray:
    """U(key, parts...) = (h >> 11) * 2^-53, element-wise, in [0, 1)."""
    return (hash_u64(key, *parts) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def home_generator(key: int, chunk: int, stratum: int) -> np.random.Generator:
    """numpy generator (PCG64 seeded by SeedSequence(h(key, HOME, chunk, stratum))) for the home attributes of one
    chunk of persons and one stratum (0: group, origin and sex assignment; g + 1: the attributes of group g)."""
    return np.random.default_rng(np.random.SeedSequence(hash_int(key, HOME, chunk, stratum)))


def journey_uniforms(key: int, persons: np.ndarray, step: int, n_legs: int) -> np.ndarray:
    """(k, SLOTS_PER_LEG * n_legs) uniforms of journeys set out at `step` (`journey_uniform` for every slot)."""
    slots = np.arange(SLOTS_PER_LEG * n_legs, dtype=np.uint64)
    return journey_uniform(key, np.asarray(persons, dtype=np.uint64)[:, None], step, slots[None, :])


def journey_uniform(key: int, persons, steps, slots) -> np.ndarray:
    """The journey draw of each (person, step set out, slot), element-wise (broadcast): h(key, person, step, slot)
    as a uniform. The code hashes no JOURNEY purpose part, unlike the module doc's U(k, JOURNEY, ...); kept so
    that results stay as they were (the array engine draws through this same function)."""
    return uniforms(key, persons, steps, slots)


def departure_candidates(key: int, step: int, n: int, p_bar: float) -> tuple[np.ndarray, np.ndarray]:
    """The persons i in [0, n) whose departure uniform u_i(step) is below p_bar, with those uniforms, in increasing
    order of the uniforms.

    u_i(step) is defined for every person at once, without touching every person: the order statistics of n
    independent uniforms are generated from the bottom by Renyi's representation,
        U_(k) = 1 - exp(-A_k),   A_k = sum_{j < k} E_j / (n - j),   E_j = -log(1 - U(key, DEPART_ORDER, step, j)),
    until U_(k) >= p_bar, and the k-th smallest goes to person pi(k), pi a keyed pseudo-random permutation of
    [0, n) (a 4-round unbalanced Feistel network on the smallest power of two >= n, with cycle walking). Each
    person's u_i is then uniform and independent of the others, and depends only on (key, step, i, n): the set
    for a larger p_bar contains the set for a smaller one with the same values. Cost O(n * p_bar + 4096) per call.
    """
    if p_bar <= 0.0 or n <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    limit = math.inf if p_bar >= 1.0 else -math.log1p(-p_bar)
    parts, acc, j0 = [], 0.0, 0
    while j0 < n:
        j = np.arange(j0, min(n, j0 + _ORDER_CHUNK), dtype=np.int64)
        e = -np.log1p(-uniforms(key, DEPART_ORDER, step, j))
        a = acc + np.cumsum(e / (n - j))
        below = int(np.searchsorted(a, limit, side="left"))  # a is increasing
        parts.append(a[:below])
        if below < a.size:
            break
        acc = float(a[-1])
        j0 += a.size
    a = np.concatenate(parts)
    if a.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    return permutation(key, step, np.arange(a.size, dtype=np.int64), n), -np.expm1(-a)


def permutation(key: int, step: int, x: np.ndarray, n: int) -> np.ndarray:
    """pi(x) for x in [0, n): a keyed 4-round unbalanced Feistel permutation of [0, 2^b), 2^(b-1) < n <= 2^b, cycle
    walked into [0, n) (more than half of [0, 2^b) lies in range, so a few walks suffice).

    A value is split into a high part of ceil(b/2) bits and a low part of floor(b/2) bits; each round maps
    (hi, lo) to (lo, hi xor (h(key, DEPART_PERM, step, r, lo) mod 2^bits(hi))), a bijection that swaps the two
    sizes, so after an even number of rounds the sizes are as at the start."""
    bits = max(1, (n - 1).bit_length())
    out = np.asarray(x, dtype=np.uint64).copy()
    todo: np.ndarray | None = None  # None: every element (the first pass)
    while True:
        hi_bits, lo_bits = bits - bits // 2, bits // 2
        v = out if todo is None else out[todo]
        hi, lo = v >> np.uint64(lo_bits), v & np.uint64((1 << lo_bits) - 1)
        for r in range(_FEISTEL_ROUNDS):
            f = hash_u64(key, DEPART_PERM, step, r, lo)
            f &= np.uint64((1 << hi_bits) - 1)
            f ^= hi
            hi, lo = lo, f
            hi_bits, lo_bits = lo_bits, hi_bits
        hi <<= np.uint64(lo_bits)
        hi |= lo
        if todo is None:
            out = hi
            todo = np.flatnonzero(out >= np.uint64(n))
        else:
            out[todo] = hi
            todo = todo[hi >= np.uint64(n)]
        if not todo.size:
            return out.astype(np.int64)
