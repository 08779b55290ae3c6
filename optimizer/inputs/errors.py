"""The error a scenario's author reads, and the "did you mean" hint its messages end with."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ScenarioError(ValueError):
    """A problem with the scenario or its tables, phrased for the person who wrote them."""


def nearest_hint(word: str, choices: Iterable[object]) -> str:
    """' Did you mean X?' for the closest choice, else the list of valid ones."""
    names = [str(choice) for choice in choices]
    match = difflib.get_close_matches(word, names, n=1, cutoff=0.5)
    return f" Did you mean '{match[0]}'?" if match else f" Valid keys: {', '.join(sorted(names))}."
