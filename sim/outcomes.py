"""Names of the counts every engine writes (the columns of `timeseries.parquet`, the keys of `summary.json`).

Flows count events in a step: a person sets out, then ends in exactly one of the terminal outcomes; `in_transit`
is the stock of people on the way at the end of the step. Edge counts are crossing events on one edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

FLOWS = ("set_out", "arrived", "caught", "killed", "repatriated", "returned")
TERMINAL = FLOWS[1:]
TOTAL_KEYS = FLOWS + ("in_transit",)
SET_OUT, ARRIVED, CAUGHT, KILLED, REPATRIATED, RETURNED = range(len(FLOWS))  # indices into FLOWS

EDGE_COUNTS = ("entered", "passed", "returned", "caught", "killed")
EDGE_ENTERED, EDGE_PASSED, EDGE_RETURNED, EDGE_CAUGHT, EDGE_KILLED = range(len(EDGE_COUNTS))  # into EDGE_COUNTS

SHARE_DECIMALS = 6  # a year's female share is written rounded to this many decimals (summary.json, sweep runs)


def female_arrivals(arrived: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Female arrivals from a year's arrivals a and its female share f as written (rounded to SHARE_DECIMALS; NaN
    for a year without arrivals, read as 0): round(a f), the exact count while a < 10^SHARE_DECIMALS, since the
    rounding moves a f by at most a / 2 x 10^-SHARE_DECIMALS < 1/2; a f beyond that."""
    import numpy as np

    k = arrived * np.nan_to_num(share)
    return np.where(arrived < 10**SHARE_DECIMALS, np.round(k), k)
