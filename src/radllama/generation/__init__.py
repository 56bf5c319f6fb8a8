"""Generation: in-process inference, the backends (`hf`, `openai`), PREDS writing, baselines."""
