"""Model → solve: the HiGHS hand-off, the greedy starting plan, relax-and-fix, Dinkelbach, model statistics.

Nothing here reads plan tables or writes files; a solved model goes on to ``optimizer.outputs``.
"""
