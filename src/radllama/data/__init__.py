"""Stage 1: report export -> de-identified instruction dataset (ingest, sections, filters,
split; `prepare` runs them with `radllama.deid`)."""
