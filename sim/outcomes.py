"""Names of the counts every engine writes (the columns of `timeseries.parquet`, the keys of `summary.json`).

Flows count events in a step: a person sets out, then ends in exactly one of the terminal outcomes; `in_transit`
is the stock of people on the way at the end of the step. Edge counts are crossing events on one edge."""

from __future__ import annotations

FLOWS = ("set_out", "arrived", "caught", "killed", "repatriated", "returned")
TERMINAL = FLOWS[1:]
TOTAL_KEYS = FLOWS + ("in_transit",)
SET_OUT, ARRIVED, CAUGHT, KILLED, REPATRIATED, RETURNED = range(len(FLOWS))  # indices into FLOWS

EDGE_COUNTS = ("entered", "passed", "returned", "caught", "killed")
EDGE_ENTERED, EDGE_PASSED, EDGE_RETURNED, EDGE_CAUGHT, EDGE_KILLED = range(len(EDGE_COUNTS))  # into EDGE_COUNTS
