"""The checks' registry: each check registers itself, in the order it is reported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from optimizer.verify.folder import Plan
from optimizer.verify.recorder import Recorder

# --------------------------------------------------------------------------------------------
# checks, in the order they are reported

#: a check: reads the plan, records its comparisons
CheckFunction = Callable[[Plan, Recorder], None]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    description: str
    run: CheckFunction


#: every check after "files" (the reading of the folder), in the order they run and are reported
CHECKS: list[CheckSpec] = []
FILES_CHECK = ("files", "Every table of the plan and of its scenario copy is present and readable")


def register_check(name: str, description: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as the check ``name``."""

    def register(run: CheckFunction) -> CheckFunction:
        CHECKS.append(CheckSpec(name, description, run))
        return run

    return register
