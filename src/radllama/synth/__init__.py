"""The synthetic MGH-like report corpus (the embedded default) and its vocabulary (data)."""
