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
- DEPART_ORDER, DEPART_PERM: the per-person, per-step departure uniforms of the people at home, by blocks:
  U(k, DEPART_ORDER, step, block, j) and h(k, DEPART_PERM, step, round, block, x) (`block_candidates`;
  `departure_candidates` is the same with one block and no block part, for one bound for everyone);
- CHOICE: U(k, CHOICE, person, step) picks the path of a person setting out at that step;
- JOURNEY: U(k, JOURNEY, person, step set out, slot) for the crossings and waits of that journey
  (slot 3l: crossing edge l; 3l + 1: arrest threshold at the node reached by edge l; 3l + 2: leave threshold).
- STOCK: attributes of the initial stock at transit nodes (`sim.rules.stocks`), one numpy generator per (entry of
  `initial_stock`, stratum), seeded by h(k, STOCK, entry, stratum);
- STOCK_CHOICE: U(k, STOCK_CHOICE, person) picks the path of a person of the initial stock;
- STOCK_DEPART: no longer drawn (it keyed the initial stock's departure uniforms, now those of its own blocks,
  whose keys are apart from the home population's: `sim.rules.population`).
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
    """The journey draw of each (person, step set out, slot), element-wise (broadcast): U(key, JOURNEY, person,
    step, slot), keyed by its purpose like every other draw (both engines draw through this function)."""
    return uniforms(key, JOURNEY, persons, steps, slots)


def journey_keys(key: int, persons, steps) -> np.ndarray:
    """h(key, JOURNEY, person, step set out) element-wise: the part of every journey draw of a person that does not
    depend on the slot, so that `journey_uniform_of(journey_keys(key, p, s), slot) == journey_uniform(key, p, s, slot)`
    (a chained hash: the slot is the last part). The array engine keeps it per row, so each draw costs one mix."""
    return hash_u64(key, JOURNEY, persons, steps)


def journey_uniform_of(jkeys: np.ndarray, slots) -> np.ndarray:
    """The journey draw of slot `slots` for journeys keyed `jkeys` (`journey_keys`), element-wise: U(key, JOURNEY,
    person, step, slot) with the first three parts already hashed."""
    x = jkeys ^ _as_u64(slots)
    x += _UG
    _mix(x, np.empty_like(x))
    x >>= np.uint64(11)
    return x.astype(np.float64) * (1.0 / (1 << 53))


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


def block_candidates(key: int, step: int, blocks: np.ndarray, n: np.ndarray, p_bar: np.ndarray,
                     bits: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`departure_candidates` for many blocks of persons at once, each with its own bound: for block b (a key
    blocks[b] >= 0, n[b] persons, bound p_bar[b]) the ranks x in [0, n[b]) of the persons whose departure uniform
    u_x(step) is below p_bar[b]; returns (b, x, u) of every such person, by block and in increasing u within one.

    Block b is drawn as M_b = 2^bits ranks, the smallest power of two >= n[b] (the ranks >= n[b] are nobody, and
    are dropped). Their order statistics are Renyi's, as in `departure_candidates`,
        U_(k) = 1 - exp(-A_k),   A_k = sum_{j < k} E_j / (M_b - j),
        E_j = -log(1 - U(key, DEPART_ORDER, step, blocks[b], j)),
    the sums taken sequentially from j = 0 whatever the chunks they are generated in (so each u depends only on
    (key, step, blocks[b], x, n[b]), not on p_bar[b]: the set for a larger bound contains the set for a smaller one
    with the same values), and the k-th smallest goes to rank pi_b(k) (`block_permutation`), a bijection of
    [0, M_b). Each person's u is thus uniform and independent of every other's. Cost O(sum_b n[b] * p_bar[b] +
    number of blocks) element operations in a fixed number of numpy calls (no cycle walking). `bits`:
    `bit_length(n)`, if the caller keeps it."""
    blocks = np.asarray(blocks, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    p_bar = np.asarray(p_bar, dtype=np.float64)
    bits = bit_length(n) if bits is None else bits
    size = np.left_shift(1, bits)  # M_b
    live = np.flatnonzero((p_bar > 0.0) & (n > 0))
    if not live.size:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    # The hash is chained over its parts, so h(key, DEPART_ORDER, step, blocks[b]) is hashed once per block and
    # each j costs one mix of it (`_last_part`); the same numbers as uniforms(key, DEPART_ORDER, step, blocks[b], j).
    order_prefix = hash_u64(key, DEPART_ORDER, step, blocks[live])
    got_b, got_k, got_a = [], [], []
    with np.errstate(divide="ignore"):
        limit = np.where(p_bar[live] >= 1.0, np.inf, -np.log1p(-np.minimum(p_bar[live], 1.0)))
    acc = np.zeros(live.size)
    j0 = np.zeros(live.size, dtype=np.int64)
    at = np.arange(live.size)  # each live block's row in order_prefix
    while live.size:
        nb = size[live]
        mu = nb * np.minimum(p_bar[live], 1.0)
        m = np.minimum(nb - j0, np.ceil(mu + 3.0 * np.sqrt(mu) + 2.0).astype(np.int64))  # likely enough, any works
        ends = np.cumsum(m)
        row = np.repeat(np.arange(live.size), m)
        col = np.arange(int(ends[-1])) - np.repeat(ends - m, m)
        j = j0[row] + col
        e = -np.log1p(-_to_unit(_last_part(order_prefix[at[row]], j)))
        width = int(m.max())
        x = np.zeros((live.size, width + 1))
        x[:, 0] = acc
        x[row, col + 1] = e / (nb[row] - j)
        a = np.cumsum(x, axis=1)[:, 1:]  # sequential from the block's j = 0: independent of the chunking
        below = (a < limit[:, None]) & (np.arange(width)[None, :] < m[:, None])  # a prefix of each row
        r, c = np.nonzero(below)
        got_b.append(live[r])
        got_k.append(j0[r] + c)
        got_a.append(a[r, c])
        more = (below.sum(axis=1) == m) & (j0 + m < nb)
        acc = a[more, m[more] - 1]
        j0 = (j0 + m)[more]
        live, limit, at = live[more], limit[more], at[more]
    b, k, a = ((got_b[0], got_k[0], got_a[0]) if len(got_b) == 1 else
               (np.concatenate(got_b), np.concatenate(got_k), np.concatenate(got_a)))
    if len(got_b) > 1:
        order = np.lexsort((k, b))
        b, k, a = b[order], k[order], a[order]
    x = _block_permutation(key, step, blocks, b, k, bits[b])
    real = x < n[b]
    return b[real], x[real], -np.expm1(-a[real])


def _last_part(prefix: np.ndarray, part) -> np.ndarray:
    """mix((prefix xor part) + golden) element-wise: h(k, ..., part) from prefix = h(k, ...) (a new array)."""
    x = prefix ^ _as_u64(part)
    x += _UG
    return _mix(x, np.empty_like(x))


def _to_unit(h: np.ndarray) -> np.ndarray:
    """(h >> 11) * 2^-53 (h is consumed)."""
    h >>= np.uint64(11)
    return h.astype(np.float64) * (1.0 / (1 << 53))


def _block_permutation(key: int, step: int, blocks: np.ndarray, b: np.ndarray, x: np.ndarray, bits: np.ndarray
                       ) -> np.ndarray:
    """`block_permutation(key, step, blocks[b], x, bits)` with the round functions' prefixes
    h(key, DEPART_PERM, step, r, blocks[i]) hashed once per round and block of `blocks` (one call for all rounds),
    so each round costs one mix per element: the same numbers."""
    one = np.uint64(1)
    rounds = np.arange(_FEISTEL_ROUNDS, dtype=np.int64)[:, None]
    prefix = hash_u64(key, DEPART_PERM, step, rounds, np.asarray(blocks, dtype=np.int64)[None, :])
    bits = np.asarray(bits, dtype=np.uint64)
    hi_bits, lo_bits = bits - bits // np.uint64(2), bits // np.uint64(2)
    v = np.asarray(x, dtype=np.uint64)
    hi, lo = v >> lo_bits, v & ((one << lo_bits) - one)
    for r in range(_FEISTEL_ROUNDS):
        f = _last_part(prefix[r][b], lo)
        f &= (one << hi_bits) - one
        f ^= hi
        hi, lo = lo, f
        hi_bits, lo_bits = lo_bits, hi_bits
    return ((hi << lo_bits) | lo).astype(np.int64)


def bit_length(n: np.ndarray) -> np.ndarray:
    """max(1, bit length of n - 1) element-wise (n >= 1, below 2^53): 2^result is the smallest power of two >= n,
    at least 2."""
    return np.maximum(1, np.frexp((np.asarray(n, dtype=np.int64) - 1).astype(np.float64))[1]).astype(np.int64)


def block_permutation(key: int, step: int, blocks: np.ndarray, x: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """pi_b(x) for x in [0, 2^bits) element-wise, b = blocks: a 4-round unbalanced Feistel network as in
    `permutation`, with the round functions h(key, DEPART_PERM, step, r, b, lo) (a bijection of [0, 2^bits) for each
    (b, bits); no cycle walking)."""
    one = np.uint64(1)
    bits = np.asarray(bits, dtype=np.uint64)
    hi_bits, lo_bits = bits - bits // np.uint64(2), bits // np.uint64(2)
    v = np.asarray(x, dtype=np.uint64)
    hi, lo = v >> lo_bits, v & ((one << lo_bits) - one)
    blocks = np.asarray(blocks, dtype=np.int64)
    for r in range(_FEISTEL_ROUNDS):
        f = hash_u64(key, DEPART_PERM, step, r, blocks, lo)
        f &= (one << hi_bits) - one
        f ^= hi
        hi, lo = lo, f
        hi_bits, lo_bits = lo_bits, hi_bits
    return ((hi << lo_bits) | lo).astype(np.int64)
