"""Draw docs/figures/calibration_smc_sbc.png from the simulation-based calibration of sequential ABC.

    python experiments/sbc_figure.py CONJUGATE_PITS.txt TOY_SBC.csv OUT.png

CONJUGATE_PITS.txt: the comma-separated PIT values that
`pytest -m slow -s tests/test_calibration_smc.py -k conjugate` prints after "PIT:"; TOY_SBC.csv: the table that
`-k toy` prints (columns `<parameter>.pit`). A PIT is the posterior's weighted CDF at the truth; the truth lies in
the central interval of level L when |PIT - 1/2| <= L/2, so the share of truths inside, against L, is the coverage
curve: on the diagonal for a calibrated posterior, above it for a cautious (too wide) one. The grey band is the
central 99% binomial range of the count inside at each level.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import binom  # noqa: E402

LEVELS = np.linspace(0.02, 0.98, 49)


def coverage(pits: np.ndarray) -> np.ndarray:
    """Share of truths inside the central interval of each level in LEVELS."""
    return np.array([np.mean(np.abs(pits - 0.5) <= level / 2) for level in LEVELS])


def panel(ax, curves: dict[str, np.ndarray], n: int, title: str) -> None:
    lo = binom.ppf(0.005, n, LEVELS) / n
    hi = binom.isf(0.005, n, LEVELS) / n
    ax.fill_between(LEVELS, lo, hi, color="0.85", label="99% binomial band")
    ax.plot([0, 1], [0, 1], color="0.4", lw=0.8, ls="--")
    for label, cov in curves.items():
        ax.plot(LEVELS, cov, lw=1.6, label=label)
    for level in (0.5, 0.9):
        ax.axvline(level, color="0.6", lw=0.6, ls=":")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="nominal level of the central posterior interval",
           ylabel="share of truths inside", title=title)
    ax.legend(loc="upper left", fontsize=8, frameon=False)


def main(conjugate: str, toy: str, out: str) -> None:
    pits = np.array([float(v) for v in Path(conjugate).read_text().strip().split(",")])
    table = pd.read_csv(toy)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), constrained_layout=True)
    panel(axes[0], {"conjugate problem": coverage(pits)}, len(pits),
          f"Conjugate problem, {len(pits)} truths from the prior")
    curves = {c[:-4].split(".")[-2].replace("_", " ") + " departure rate": coverage(table[c].to_numpy())
              for c in table.columns if c.endswith(".pit")}
    panel(axes[1], curves, len(table), f"Toy calibration (calibrate, method: smc), {len(table)} truths")
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="The inputs are described in the module docstring (this file's top).")
    ap.add_argument("conjugate", metavar="CONJUGATE_PITS.txt", help="the PIT values of the conjugate SBC test")
    ap.add_argument("toy", metavar="TOY_SBC.csv", help="the table of the toy SBC test")
    ap.add_argument("out", metavar="OUT.png", help="the figure to write")
    args = ap.parse_args()
    for given in (args.conjugate, args.toy):
        if not Path(given).is_file():
            ap.error(f"{given}: no such file")
    main(args.conjugate, args.toy, args.out)
