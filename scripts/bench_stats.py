"""Percentiles and the small table formatting the benches print."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a measured sample)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    """The 50th percentile, nearest rank."""
    return percentile(values, 50)


def ratio(numerator: float, denominator: float) -> float:
    """Divide, giving NaN when either is missing or the denominator is 0."""
    if math.isnan(numerator) or math.isnan(denominator) or denominator == 0:
        return math.nan
    return numerator / denominator


def verdict(value: float, budget: float) -> str:
    """`ok` within the budget, `MISS` over it; a bench never fails on either."""
    if math.isnan(value):
        return "n/a"
    return "ok" if value <= budget else "MISS"


def load_average() -> str:
    """`1 / 5 / 15 min` load average, to judge how noisy the machine was."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def ms(seconds: float) -> str:
    """Seconds as milliseconds for a table cell."""
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f}"
