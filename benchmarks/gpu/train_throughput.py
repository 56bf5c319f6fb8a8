"""Training throughput, peak memory and MFU on ONE GPU (written for an H100/H200).

    python benchmarks/gpu/train_throughput.py                       # 8B (32 layers) + 70B (4 layers)
    python benchmarks/gpu/train_throughput.py --shapes 8b --methods full,lora --steps 20
    python benchmarks/gpu/train_throughput.py --device cpu --tiny   # smoke test of the script itself

Randomly initialised Llama-3-shaped models (nothing can be downloaded on the GPU machine):
8B = 32 x (4096 hidden, 14336 MLP, 32 heads / 8 KV heads), 70B = 80 x (8192, 28672, 64 / 8)
cut to --layers-70b layers; vocabulary 128,256. Each optimizer step trains --rows packed rows of
--seq tokens (radiology-sized pairs of 120-400 tokens, best-fit into the row), fed as one
padding-free row with position_ids restarting per pair, as `radllama train` does.

Methods: full (bf16 weights and AdamW state, fused AdamW), lora (r=16, all linear layers, on a
frozen bf16 base), qlora (same adapter on an NF4 + double-quantised base, bf16 compute).

MFU = achieved model FLOP/s / peak (989 TFLOP/s dense bf16, H100 SXM; pass --peak-tflops).
Model FLOPs per token: full 6 N + attention, LoRA/QLoRA 4 N + attention (the frozen base gets
no weight-gradient matmuls: forward 2 N + input-gradient 2 N), where N counts the matmul
weights (LM head included, embeddings excluded) and attention = 12 x layers x hidden x L for
causal attention over the mean packed-sequence length L (x 2/3 for LoRA). Activation
recomputation from gradient checkpointing is not counted (the usual MFU convention).
Prints a markdown table (paste it into benchmarks/RESULTS.md with the date and machine).
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass

import torch

SHAPES = {
    "8b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
               num_attention_heads=32, num_key_value_heads=8),
    "70b": dict(hidden_size=8192, intermediate_size=28672, num_hidden_layers=80,
                num_attention_heads=64, num_key_value_heads=8),
    "tiny": dict(hidden_size=128, intermediate_size=344, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2),
}  # fmt: skip
VOCAB = 128_256


@dataclass
class Result:
    shape: str
    method: str
    layers: int
    params_b: float
    tokens_per_s: float
    peak_gib: float
    mfu: float | None
    note: str = ""


def build_model(shape: str, layers: int, vocab: int, device: str, attn: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**dict(SHAPES[shape], num_hidden_layers=layers), vocab_size=vocab,
                         max_position_embeddings=8192, rope_theta=500000.0, use_cache=False,
                         tie_word_embeddings=False, attn_implementation=attn)  # fmt: skip
    dtype = torch.bfloat16
    with torch.device(device):
        model = LlamaForCausalLM(config).to(dtype)
    return model


def quantize_linears(model, device: str) -> None:
    """Replace every linear layer but the LM head by a bitsandbytes NF4 (double-quant) layer;
    the weights are quantised when Params4bit moves to the device (as from_pretrained does)."""
    import bitsandbytes as bnb

    head = model.get_output_embeddings()
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if not isinstance(child, torch.nn.Linear) or child is head:
                continue
            q = bnb.nn.Linear4bit(child.in_features, child.out_features, bias=child.bias is not None,
                                  compute_dtype=torch.bfloat16, compress_statistics=True,
                                  quant_type="nf4", device="meta")  # fmt: skip
            q.weight = bnb.nn.Params4bit(child.weight.data.to("cpu"), requires_grad=False,
                                         compress_statistics=True, quant_type="nf4").to(device)  # fmt: skip
            setattr(module, child_name, q)
    model.is_loaded_in_4bit = True


def add_lora(model, quantized: bool, gradient_checkpointing: bool):
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})  # fmt: skip
    names = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                    if isinstance(m, torch.nn.Linear) and m is not model.get_output_embeddings()})  # fmt: skip
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                             target_modules=names, task_type="CAUSAL_LM"))  # fmt: skip
    for param in model.parameters():  # adapters in bf16 (QLoRA paper's GPU recipe)
        if param.requires_grad:
            param.data = param.data.to(torch.bfloat16)
    return model


def packed_batch(rows: int, seq: int, vocab: int, rng: random.Random, device: str):
    """`rows` rows of `seq` tokens, each best-filled with 120-400-token pairs, flattened into one
    padding-free row: input_ids, position_ids restarting per pair, labels (-100 at starts)."""
    lengths: list[int] = []
    for _ in range(rows):
        room = seq
        while room >= 120:
            n = min(rng.randint(120, 400), room)
            lengths.append(n)
            room -= n
    total = sum(lengths)
    ids = torch.randint(0, vocab, (1, total), device=device)
    position_ids = torch.cat([torch.arange(n, device=device) for n in lengths])[None]
    labels = ids.clone()
    labels[position_ids == 0] = -100
    return ids, position_ids, labels, lengths


def matmul_params(model) -> int:
    """Weights that take part in matmuls (all linear layers incl. LM head; not embeddings)."""
    total = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            total += module.in_features * module.out_features
    return total


def model_flops_per_token(n: int, config, method: str, mean_len: float) -> float:
    attention = 12 * config.num_hidden_layers * config.hidden_size * mean_len / 2  # causal half
    if method == "full":
        return 6 * n + attention
    return 4 * n + attention * 2 / 3


def run_one(shape: str, method: str, layers: int, args) -> Result:
    device, vocab = args.device, (1024 if args.tiny else VOCAB)
    torch.manual_seed(0)
    model = build_model(shape, layers, vocab, device, args.attn)
    n_params = sum(p.numel() for p in model.parameters())
    n_matmul = matmul_params(model)  # before quantisation / LoRA layers change the module tree
    config = model.config
    if method == "qlora":
        quantize_linears(model, device)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if method in ("lora", "qlora"):
        model = add_lora(model, method == "qlora", args.gradient_checkpointing)
        if args.gradient_checkpointing:
            model.enable_input_require_grads()
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    fused = device == "cuda"
    optimizer = torch.optim.AdamW(trainable, lr=1e-5, fused=fused)
    if device == "cuda":  # peak of training, not of building / quantising the bf16 model
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    rng = random.Random(0)
    tokens, seen_lengths, elapsed = 0, [], 0.0
    for step in range(args.warmup + args.steps):
        ids, pos, labels, lengths = packed_batch(args.rows, args.seq, vocab, rng, device)
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = model(input_ids=ids, position_ids=pos, labels=labels, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        if step >= args.warmup:
            elapsed += time.perf_counter() - start
            tokens += ids.shape[1]
            seen_lengths += lengths
    tokens_per_s = tokens / elapsed
    mean_len = sum(seen_lengths) / len(seen_lengths)
    achieved = tokens_per_s * model_flops_per_token(n_matmul, config, method, mean_len)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    mfu = achieved / (args.peak_tflops * 1e12) if device == "cuda" else None
    del model, optimizer
    return Result(shape, method, config.num_hidden_layers, n_params / 1e9, tokens_per_s, peak, mfu)


def table(results: list[Result], args) -> str:
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else "CPU (smoke test)"
    lines = [
        f"GPU: {gpu}; {args.rows} packed row(s) x {args.seq} tokens per step, {args.steps} timed "
        f"steps after {args.warmup} warm-up, attention {args.attn}, gradient checkpointing "
        f"{'on' if args.gradient_checkpointing else 'off'}, peak {args.peak_tflops:g} TFLOP/s.",
        "",
        "| shape | method | layers | params (B) | tokens/s | peak memory (GiB) | MFU |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        mfu = f"{100 * r.mfu:.1f}%" if r.mfu is not None else "n/a"
        if r.note:
            lines.append(
                f"| {r.shape} | {r.method} | {r.layers} | {r.params_b:.2f} | {r.note} | | |"
            )
        else:
            lines.append(f"| {r.shape} | {r.method} | {r.layers} | {r.params_b:.2f} | "
                         f"{r.tokens_per_s:,.0f} | {r.peak_gib:.1f} | {mfu} |")  # fmt: skip
    return "\n".join(lines)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="8b,70b", help="comma list of 8b, 70b")
    parser.add_argument("--methods", default="full,lora,qlora")
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--layers-8b", type=int, default=32)
    parser.add_argument("--layers-70b", type=int, default=4, help="70B width, few layers")
    parser.add_argument("--rows", type=int, default=1, help="packed rows per step")
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument(
        "--attn", default=None, help="flash_attention_2 (default if installed) | sdpa"
    )
    parser.add_argument(
        "--no-gradient-checkpointing", dest="gradient_checkpointing", action="store_false"
    )
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (smoke-test the script)")
    args = parser.parse_args()
    if args.attn is None:
        import importlib.util

        flash = args.device == "cuda" and importlib.util.find_spec("flash_attn") is not None
        args.attn = "flash_attention_2" if flash else "sdpa"
    return args


def main() -> None:
    args = parse_args()
    results = []
    for shape in args.shapes.split(","):
        layers = args.layers_8b if shape == "8b" else args.layers_70b
        for method in args.methods.split(","):
            name = "tiny" if args.tiny else shape
            try:
                results.append(run_one(name, method, 2 if args.tiny else layers, args))
            except torch.OutOfMemoryError:
                results.append(
                    Result(shape, method, layers, float("nan"), 0, 0, None, "out of memory")
                )
            print(table(results[-1:], args).splitlines()[-1], flush=True)
    print()
    print(table(results, args))


if __name__ == "__main__":
    main()
