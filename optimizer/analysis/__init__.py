"""Questions asked of scenarios and models: diagnosis, site screening, re-solves and sweeps.

Analysis modules sit above the solve and the outputs: they call them, never the other way round.
"""
