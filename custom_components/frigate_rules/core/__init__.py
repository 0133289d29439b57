"""Pure-Python heart of frigate_rules: parsing, buffering, rule evaluation, topics.

Nothing in this package may import Home Assistant; a test enforces it so that the
hot path stays testable and benchmarkable on its own.
"""
