"""Internals of `radllama serve`: wire schemas, the dynamic batcher, the engine, the app;
the public entry points live in `radllama.serving.server`.
"""
