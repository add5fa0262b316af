"""Fault-injection kit for Pixmill: a corrupt-input corpus, the five batch invariants, process
tracking and the fault trials shared by tests/faults (pytest) and tests/torture (long runs).

Nothing here is collected by pytest; tests/faults/conftest.py and the torture driver put
tests/torture on sys.path and import `faultkit`.
"""

from __future__ import annotations

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
if REPO not in sys.path:  # engine/ is installed editable, but a plain checkout works too
    sys.path.append(REPO)

__all__ = ["REPO"]
