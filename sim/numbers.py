"""How bordersim writes a number for a reader (printed tables, reports): whole thousands with separators from
1,000 up (12,205, never 1.221e+04), else 4 significant digits (0.0042, 48.33); `--format csv` and the files keep
every digit."""

from __future__ import annotations


def readable(v: float) -> str:
    """`v` as above: f"{v:,.0f}" when |v| >= 1000, else f"{v:,.4g}" (nan and inf as Python writes them)."""
    return f"{v:,.0f}" if abs(v) >= 1000 and abs(v) != float("inf") else f"{v:,.4g}"
