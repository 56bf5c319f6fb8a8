"""The US city gazetteer (`lexicons/us_cities.txt`), kept importable under its old name."""

from __future__ import annotations

from radllama.deid.lexicons import US_CITIES

__all__ = ["US_CITIES"]
