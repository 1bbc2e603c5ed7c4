"""Entry point: the worker's `@activity.defn` classes, and nothing else.

Each activity unpacks its input, calls the domain (`dealpilot/<domain>`) inside a unit of work
it opens, and packs the result; errors leave through one mapping (`activities/_errors.py`).
"""
