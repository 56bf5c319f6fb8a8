"""The ground floor every stage imports: typed artifacts, config, errors, provenance, jsonl,
hashing, the PHI/loopback guard, the prompt style, exam codes and the shipped-encoder lookup.
Nothing here imports a stage."""
