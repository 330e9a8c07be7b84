"""Otter's AWS footprint as Pulumi component resources, one per concern.

Each component takes its inputs as arguments (ids, ARNs, names) and exposes its results as
attributes, so it can be used alone or wired to the others by `__main__.py`.
"""
