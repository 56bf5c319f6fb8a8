"""Model files: the one loader, the base model (GGUF -> HF directory, or a tiny Llama), export
(merge an adapter, write a GGUF)."""
