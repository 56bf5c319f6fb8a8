"""Internals of `radllama serve`: wire schemas, the dynamic batcher, the engine, the app.

The public entry points live in `radllama.serve`.
"""
