"""Solve → plan: plan tables, the full-year re-check, safe output folders, comparisons and plots."""
