"""One number format for measured values in the reference tables and the curriculum index:
three significant digits with their trailing zeros (0.877, 0.322, 1.00, 2.35, 0.00512), whole
numbers with thousands separators from 1,000 on. A column never mixes 0.877 with 0.3219 and 1.

    fmt_number(0.32189) == "0.322"; fmt_number(1.0) == "1.00"; fmt_number(12345.6) == "12,346"
"""
from __future__ import annotations

import math

DIGITS = 3


def fmt_number(value: float, sign: bool = False) -> str:
    """`value` in the one format; `sign`: a + before positive values (differences)."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    plus = "+" if sign else ""
    if abs(float(f"{value:.{DIGITS}g}")) >= 1000:  # 999.7 rounds to 1,000: no exponent
        return f"{value:{plus},.0f}"
    return f"{value:{plus}#.{DIGITS}g}".rstrip(".")  # "128." -> "128"
