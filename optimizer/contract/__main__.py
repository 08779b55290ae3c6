"""Render the reference of output columns: ``python -m optimizer.contract [--write docs/PLAN_COLUMNS.md]``."""

from __future__ import annotations

import sys

from optimizer.contract.reference import markdown, write_reference

if __name__ == "__main__":
    sys.exit(write_reference("python -m optimizer.contract", __doc__ or "", markdown))
