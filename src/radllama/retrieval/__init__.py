"""Retrieval of similar prior reports: `radllama index` and the examples in the prompt."""

from radllama.retrieval.index import (
    IndexConfig,
    Neighbour,
    Retriever,
    add_to_index,
    build_index,
    read_meta,
)

__all__ = ["IndexConfig", "Neighbour", "Retriever", "add_to_index", "build_index", "read_meta"]
