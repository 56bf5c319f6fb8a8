"""radllama: radiology report archive -> local impression-writing LLM, with honest evaluation."""

__version__ = "0.1.0"
