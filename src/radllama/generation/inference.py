"""Load a fine-tuned run (or any local HF causal LM) and write impressions in batches.

This is the one place a model is loaded for generation: `radllama generate` (hf backend) and
`radllama serve` both go through `ImpressionModel`, so a served model answers exactly as the
evaluated one did.

What `ImpressionModel.load(path)` accepts:

- a RUN_DIR from `radllama train` (has ``radllama_run.json``): full fine-tunes hold the
  weights; lora/qlora runs hold a PEFT adapter whose base is ``run["base_model"]`` (or the
  adapter config's ``base_model_name_or_path``). The prompt style saved in the run file is
  used, so generation renders prompts exactly as training did.
- a plain Hugging Face model directory (``config.json`` + tokenizer) or a ``.gguf`` file:
  the zero-shot baseline, prompted with the default `PromptStyle` (same system prompt and
  instruction). Weights and tokenizer are loaded by `radllama.model.loader` (one set of rules for
  training, inference, serving and export).

Generation is batched with left padding (so every row's last prompt token sits in the same
column and new tokens append on the right), uses the KV cache, and stops at the tokenizer's
EOS (``<|eot_id|>`` for Llama 3 chat models) or any EOS id in the generation config.
Greedy decoding by default: the same prompt gives the same impression in a batch of 1 or 32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radllama.core.artifacts import RUN_FILE, RunRecord
from radllama.core.errors import ConfigError, RadllamaError
from radllama.core.prompts import PromptStyle, strip_prepend
from radllama.model import loader

ADAPTER_FILE = loader.ADAPTER_FILE
_DTYPES = ("float32", "bfloat16", "float16", "auto")


@dataclass
class GenerationSettings:
    """Decoding options shared by the hf backend and the server."""

    max_new_tokens: int = 128  # impressions are short: the paper's average is ~40 tokens
    temperature: float = 0.0  # 0 = greedy (deterministic); > 0 samples
    top_p: float = 1.0  # nucleus sampling mass (used only when temperature > 0)
    batch_size: int = 16  # prompts per forward pass
    seed: int | None = None  # seeds torch before sampling (ignored for greedy)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be >= 1 (got {self.max_new_tokens})")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1 (got {self.batch_size})")
        if self.temperature < 0:
            raise ConfigError(f"temperature must be >= 0 (got {self.temperature})")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1] (got {self.top_p})")


@dataclass
class GenerationOutput:
    """One generated impression."""

    raw_text: str  # decoded completion, special tokens removed
    prediction: str  # raw_text with a leading prepend phrase ("Impression:") stripped
    prompt_tokens: int
    completion_tokens: int  # generated tokens, counting the stop token when one was produced
    finish_reason: str  # "stop" (EOS produced) or "length" (max_new_tokens reached)
    source: str | None = None  # decode=candidates: the chosen candidate's origin


def read_run_file(model_dir: str | Path) -> RunRecord | None:
    """The run record (radllama_run.json) of a RUN_DIR; None for a bare model dir or a GGUF."""
    if not Path(model_dir).is_dir():
        return None
    return RunRecord.read_optional(Path(model_dir) / RUN_FILE)


def load_prompt_style(run: RunRecord | None) -> PromptStyle:
    """The prompt style saved with a run (the default style for a bare model)."""
    return run.prompt_style if run is not None else PromptStyle()


def _torch_dtype(dtype: str | None, device: str):
    import torch

    if dtype is None:
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if dtype not in _DTYPES:
        raise ConfigError(f"dtype must be one of {list(_DTYPES)} (got {dtype!r})")
    if dtype == "auto":  # training's rule: bf16 on a GPU, on a CPU where measured faster
        from radllama.model.precision import measured_cpu_precision

        cpu_bf16 = not device.startswith("cuda") and measured_cpu_precision().bf16
        return torch.bfloat16 if device.startswith("cuda") or cpu_bf16 else torch.float32
    return getattr(torch, dtype)


def _load_weights(source, *, dtype, device: str, quantization: dict[str, Any] | None):
    """Full weights of `source` (an adapter run: its base) in `dtype`, or 4-bit when
    `quantization` is a dict (the run's bnb settings), through the one loader."""
    import torch
    from transformers import BitsAndBytesConfig

    load_in_4bit = quantization is not None
    kwargs: dict[str, Any] = {"dtype": dtype}
    if quantization is not None:
        # As the QLoRA run was trained (default NF4 + double quantisation); matmuls in `dtype`.
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=quantization.get("bnb_4bit_quant_type", "nf4"),
            bnb_4bit_use_double_quant=quantization.get("bnb_4bit_use_double_quant", True),
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": device}
    model = loader.load_causal_lm(source, **kwargs)
    if not load_in_4bit:
        model.to(torch.device(device))
    elif device == "cpu":
        _use_generic_4bit_kernel_for_odd_shapes(model)
    return model


def _use_generic_4bit_kernel_for_odd_shapes(model) -> None:
    """bitsandbytes' fast CPU inference kernel repacks weights in blocks of 32 output rows and
    one scale per 64-wide input block, and fails on other shapes (e.g. the embedded model's
    172- or 688-wide MLP); route those layers through the generic 4-bit matmul."""
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            blocksize = getattr(module.weight.quant_state, "blocksize", 64)
            if module.out_features % 32 or module.in_features % blocksize:
                module.support_avx512bf16_for_cpu = False


def _eos_ids(tokenizer, generation_config) -> list[int]:
    """Stop tokens: the tokenizer's EOS (<|eot_id|>) plus the generation config's EOS ids."""
    ids: list[int] = []
    configured = generation_config.eos_token_id
    for token_id in [
        tokenizer.eos_token_id,
        *(configured if isinstance(configured, list) else [configured]),
    ]:
        if token_id is not None and token_id not in ids:
            ids.append(int(token_id))
    return ids


class ImpressionModel:
    """A tokenizer + causal LM + prompt style that writes IMPRESSIONs from exam + FINDINGS.

    `model` is None for a model another engine runs (`load_prompting`): prompts, token counts,
    stop ids and retrieval work; generating here does not."""

    def __init__(
        self,
        name: str,
        model,
        tokenizer,
        prompt_style: PromptStyle,
        run: RunRecord | None = None,
        retriever=None,
        *,
        config=None,
        generation_config=None,
    ) -> None:
        self.name = name
        self.retriever = retriever  # radllama.retrieval.Retriever when the prompt has examples
        self.model = model
        self.tokenizer = tokenizer
        self.prompt_style = prompt_style
        self.run = run  # radllama_run.json (None for a bare model)
        config = config if config is not None else model.config
        generation_config = generation_config or model.generation_config
        self.eos_token_ids = _eos_ids(tokenizer, generation_config)
        limit = getattr(config, "max_position_embeddings", None) or 4096
        if tokenizer.model_max_length and tokenizer.model_max_length < 1_000_000:
            limit = min(limit, tokenizer.model_max_length)
        self.max_context: int = int(limit)
        if model is not None:
            model.eval()

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        device: str | None = None,
        dtype: str | None = None,
        load_in_4bit: bool | None = None,
        index: str | Path | None = None,
        num_examples: int | None = None,
    ) -> ImpressionModel:
        """Load a RUN_DIR (full / lora / qlora), a bare HF model directory or a .gguf file
        (zero-shot) through `radllama.model.loader`.

        `index`/`num_examples` override the run's retrieval settings (k similar prior reports
        in the prompt); the index is loaded once, here, and checked against the run's."""
        import torch

        source = loader.resolve_model(Path(path).expanduser())
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = _torch_dtype(dtype, device)
        run = source.run
        style = load_prompt_style(run)
        retriever = None
        if style.num_examples or num_examples:  # before the slow weights load: fail fast
            from radllama.retrieval.prompting import attach_retrieval

            style, retriever = attach_retrieval(style, index, num_examples)
        if load_in_4bit is None:
            # bitsandbytes 4-bit runs on CPU but slowly; default to it only on a GPU.
            load_in_4bit = run is not None and run.method == "qlora" and device.startswith("cuda")
        quantization = ((run.quantization if run else None) or {}) if load_in_4bit else None
        tokenizer = loader.load_tokenizer(source, padding_side="left")
        model = _load_weights(source, dtype=torch_dtype, device=device, quantization=quantization)
        if source.is_adapter:
            from peft import PeftModel

            if len(tokenizer) > model.get_input_embeddings().num_embeddings:
                model.resize_token_embeddings(len(tokenizer))
            model = PeftModel.from_pretrained(model, source.path)
            # Merging removes the adapter's extra matmuls; a 4-bit base keeps them separate.
            model = model if quantization is not None else model.merge_and_unload()
        return cls(source.path.name, model, tokenizer, style, run, retriever)

    @classmethod
    def load_prompting(
        cls,
        path: str | Path,
        *,
        index: str | Path | None = None,
        num_examples: int | None = None,
    ) -> ImpressionModel:
        """Everything but the weights (tokenizer, prompt style, retrieval, config): for a
        model that another engine runs (`radllama serve --engine vllm`)."""
        from transformers import AutoConfig, GenerationConfig

        source = loader.resolve_model(Path(path).expanduser())
        style, retriever = load_prompt_style(source.run), None
        if style.num_examples or num_examples:
            from radllama.retrieval.prompting import attach_retrieval

            style, retriever = attach_retrieval(style, index, num_examples)
        tokenizer = loader.load_tokenizer(source, padding_side="left")
        weights = loader.weights_dir(source)
        config = AutoConfig.from_pretrained(weights, **loader.SAFE_LOAD)
        try:
            generation_config = GenerationConfig.from_pretrained(weights)
        except OSError:  # no generation_config.json: transformers derives it from config.json
            generation_config = GenerationConfig.from_model_config(config)
        return cls(source.path.name, None, tokenizer, style, source.run, retriever,
                   config=config, generation_config=generation_config)  # fmt: skip

    def messages(self, exam: str, findings: str, examples=None) -> list[dict[str, str]]:
        """System + user chat messages for one report (no assistant turn); `examples`: the
        retrieved prior reports (`retrieve`)."""
        return self.prompt_style.messages(exam, findings, examples=examples)

    def build_prompt(self, exam: str, findings: str, examples=None) -> str:
        """Chat-template rendered prompt, ending with the assistant header."""
        return self.tokenizer.apply_chat_template(
            self.messages(exam, findings, examples), tokenize=False, add_generation_prompt=True
        )

    def retrieve(self, rows: list[dict[str, Any]]) -> list[list[Any]]:
        """Neighbours (radllama.retrieval.Neighbour) for a batch of rows ({exam_code, findings,
        report_id?}): one matrix search; [] per row when the prompt has no examples."""
        from radllama.retrieval.prompting import examples_for

        return examples_for(self.retriever, self.prompt_style, rows)

    def _encode(self, prompt: str) -> list[int]:
        # The chat template already starts with BOS; don't let the tokenizer add another.
        return self.tokenizer(prompt, add_special_tokens=False)["input_ids"]

    def prompt_tokens(self, exam: str, findings: str, examples=None) -> int:
        """Number of tokens in the rendered prompt."""
        return len(self._encode(self.build_prompt(exam, findings, examples)))

    def generate(
        self, items: list[tuple], settings: GenerationSettings | None = None
    ) -> list[GenerationOutput]:
        """Impressions for (exam, findings) or (exam, findings, examples) items, in input
        order, in batches."""
        prompts = [self.build_prompt(*item) for item in items]
        return self.generate_prompts(prompts, settings)

    def generate_prompts(
        self, prompts: list[str], settings: GenerationSettings | None = None
    ) -> list[GenerationOutput]:
        """Generate from already-rendered prompts (batched by length, returned in input order)."""
        settings = settings or GenerationSettings()
        encoded = self._encode_checked(prompts)
        # Sorting by length keeps padding (wasted compute) small; greedy output does not
        # depend on the batch a prompt lands in, so the order is restored afterwards.
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        outputs: list[GenerationOutput | None] = [None] * len(encoded)
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            for index, output in zip(
                batch, self._generate_batch([encoded[i] for i in batch], settings), strict=True
            ):
                outputs[index] = output
        return [o for o in outputs if o is not None]

    def generate_batch(
        self, prompts: list[str], settings: GenerationSettings, **generate_kwargs: Any
    ) -> list[GenerationOutput]:
        """One `generate` call over `prompts` in the given order (no sorting, no splitting), so
        row i of a `streamer`'s tokens is prompt i; extra kwargs (``streamer``,
        ``stopping_criteria``) go to `model.generate`. Used by the server's batcher."""
        return self._generate_batch(self._encode_checked(prompts), settings, **generate_kwargs)

    def _encode_checked(self, prompts: list[str]) -> list[list[int]]:
        encoded = [self._encode(p) for p in prompts]
        for ids in encoded:
            if len(ids) >= self.max_context:
                raise RadllamaError(
                    f"a prompt has {len(ids)} tokens but the model's context is {self.max_context}; "
                    "shorten the findings"
                )
        return encoded

    def _generate_batch(
        self, batch: list[list[int]], settings: GenerationSettings, **generate_kwargs: Any
    ) -> list[GenerationOutput]:
        inputs = self.tokenizer.pad({"input_ids": batch}, padding=True, return_tensors="pt")
        inputs = {k: v.to(self.model.device) for k, v in inputs.items()}
        max_new = min(settings.max_new_tokens, self.max_context - max(len(ids) for ids in batch))
        return self.generate_padded(inputs, batch, max_new, settings, **generate_kwargs)

    def generate_padded(
        self,
        inputs: dict[str, Any],
        prompt_ids: list[list[int]],
        max_new: int,
        settings: GenerationSettings,
        **generate_kwargs: Any,
    ) -> list[GenerationOutput]:
        """`model.generate` over a left-padded batch (`inputs`: input_ids and attention_mask of
        (rows, width), plus e.g. a prefilled ``cache``; row i continues `prompt_ids[i]`),
        greedy or sampled (seeded) per `settings`; each row's new tokens decoded. The one call
        of `model.generate` for answers (batches here, prompt-cache repeats in `prefix`)."""
        import torch

        width = inputs["input_ids"].shape[1]
        sample = settings.temperature > 0
        if sample and settings.seed is not None:
            torch.manual_seed(settings.seed)
        with torch.inference_mode():
            sequences = self.model.generate(
                **inputs,
                max_new_tokens=max_new,
                do_sample=sample,
                temperature=settings.temperature if sample else None,
                top_p=settings.top_p if sample else None,
                top_k=None,
                eos_token_id=self.eos_token_ids,
                pad_token_id=self.tokenizer.pad_token_id,
                use_cache=True,
                **generate_kwargs,
            )
        return [
            self._decode(ids, row[width:].tolist())
            for ids, row in zip(prompt_ids, sequences, strict=True)
        ]

    def _decode(self, prompt_ids: list[int], new_ids: list[int]) -> GenerationOutput:
        stop = next((i for i, t in enumerate(new_ids) if t in self.eos_token_ids), None)
        kept = new_ids if stop is None else new_ids[:stop]
        raw = self.tokenizer.decode(kept, skip_special_tokens=True).strip()
        return GenerationOutput(
            raw_text=raw,
            prediction=strip_prepend(raw),
            prompt_tokens=len(prompt_ids),
            completion_tokens=len(new_ids) if stop is None else stop + 1,
            finish_reason="length" if stop is None else "stop",
        )
