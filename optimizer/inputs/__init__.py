"""Scenario → derived inputs: reading, validating and preparing everything the model consumes.

``scenario`` (YAML + tables → a validated ``Scenario``), ``schemas`` (one pandera schema per table),
``safe_io`` and ``geojson`` (untrusted files read safely), ``weather`` (user hourly files),
``profiles`` (representative days), ``cooling`` (hourly PUE/WUE physics) and ``geo`` (distances,
latency, state outlines). Nothing here imports the model, the solver or the outputs.
"""
