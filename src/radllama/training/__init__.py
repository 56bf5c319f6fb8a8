"""Supervised fine-tuning internals (config, data + cache, packing stats, callbacks, trainer,
model card). The public entry points are re-exported by `radllama.train`."""
