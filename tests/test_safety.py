"""Safe by construction (issue 20), part 1: loading a model never runs its code, never
exhausts memory and never reaches the network.

Each test reproduces an attack from the security review on a real model directory, GGUF file
or LoRA run built from the micro model, through the real CLI in a subprocess where the
process boundary matters (stdin, environment, sockets, memory limits).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from radllama.core.guard import OFFLINE_SWITCHES, offline_by_default
from radllama.model import loader
from radllama.model.gguf_check import GgufError, check_gguf_header

REPO = Path(__file__).resolve().parents[1]

# Records (and refuses) every DNS look-up and non-Unix socket connection, then runs the CLI.
# With RADLLAMA_TEST_AVX512BF16=1 bitsandbytes is told the CPU has AVX-512 BF16, so it takes the
# branch that fetches a kernel from the model hub at import (what Intel Xeon machines do).
NETWORK_RECORDER = r"""
import json, os, socket, sys
log = os.environ["NET_LOG"]
def record(kind, target):
    with open(log, "a") as handle:
        handle.write(json.dumps([kind, repr(target)]) + "\n")
real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
def connect(self, address):
    if self.family == getattr(socket, "AF_UNIX", None):
        return real_connect(self, address)
    record("connect", address)
    raise OSError("network disabled by the test")
def connect_ex(self, address):
    if self.family == getattr(socket, "AF_UNIX", None):
        return real_connect_ex(self, address)
    record("connect", address)
    return 101
def getaddrinfo(host, *args, **kwargs):
    record("getaddrinfo", host)
    raise socket.gaierror("network disabled by the test")
def gethostbyname(host):
    record("gethostbyname", host)
    raise socket.gaierror("network disabled by the test")
socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.getaddrinfo, socket.gethostbyname = getaddrinfo, gethostbyname
if os.environ.get("RADLLAMA_TEST_AVX512BF16") == "1":
    import importlib.abc, importlib.machinery
    class Patch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "bitsandbytes.functional":
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            execute = spec.loader.exec_module
            def exec_module(module):
                execute(module)
                module.has_avx512bf16 = lambda: True
            spec.loader.exec_module = exec_module
            return spec
    sys.meta_path.insert(0, Patch())
from radllama.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_cli_process(args, tmp_path: Path, stdin: str = "", env_extra=None):
    """`radllama ARGS` in a fresh interpreter with no hub switches set (as a user's shell),
    an empty HF cache and the network recorder; returns (rc, stdout, stderr, attempts)."""
    log = tmp_path / "network.jsonl"
    log.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_SWITCHES}
    env.update(
        NET_LOG=str(log),
        HF_HOME=str(tmp_path / "hf_home"),
        PYTHONPATH=str(REPO / "src"),
        RADLLAMA_CACHE=str(tmp_path / "radllama_cache"),
        **(env_extra or {}),
    )
    done = subprocess.run(
        [sys.executable, "-c", NETWORK_RECORDER, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    attempts = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done.returncode, done.stdout, done.stderr, attempts


@pytest.fixture(scope="module")
def lora_run(tiny_model_dir, tmp_path_factory) -> Path:
    """A LoRA RUN_DIR over the micro model (PEFT adapter + tokenizer + radllama_run.json)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from radllama.core.prompts import PromptStyle

    run_dir = tmp_path_factory.mktemp("safety_lora") / "run"
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    get_peft_model(base, config).save_pretrained(run_dir)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(run_dir)
    record = {
        "method": "qlora",
        "base_model": str(tiny_model_dir),
        "hyperparameters": {},
        "prompt_style": PromptStyle().model_dump(),
        "data_manifest_hash": "fixture",
        "package_versions": {},
        "seed": 0,
        "final_metrics": {},
        "quantization": {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4"},
    }
    (run_dir / "radllama_run.json").write_text(json.dumps(record))
    return run_dir


# ---- offline by default ---------------------------------------------------------------------


def test_loading_a_qlora_run_makes_no_network_attempt(lora_run, tmp_path):
    rc, out, err, attempts = run_cli_process(
        ["impress", "--model", lora_run, "--exam", "CT HEAD", "--findings", "No hemorrhage."],
        tmp_path,
        env_extra={"RADLLAMA_TEST_AVX512BF16": "1"},
    )
    assert rc == 0, err
    assert out.strip()  # an impression was written
    assert attempts == []  # no DNS look-up, no connection (bitsandbytes' kernel fetch included)


def test_a_missing_model_path_is_one_line_not_a_hub_lookup(tmp_path):
    rc, _, err, attempts = run_cli_process(
        ["impress", "--model", "runs/qlora", "--exam", "CT", "--findings", "No acute."], tmp_path
    )
    assert rc == 2 and attempts == []
    assert err.strip().count("\n") == 0 and "no such model path runs/qlora" in err


def test_offline_switches_respect_the_users_choice():
    assert offline_by_default({}) == dict.fromkeys(OFFLINE_SWITCHES, "1")
    environ = {"HF_HUB_OFFLINE": "0"}
    assert offline_by_default(environ) == {} and environ == {"HF_HUB_OFFLINE": "0"}


# ---- model directories are data, never code --------------------------------------------------


def _remote_code_dir(tiny_model_dir: Path, tmp_path: Path, marker: Path) -> Path:
    """The review's attack: an unknown model_type + auto_map pointing at the directory's own
    Python file, which writes `marker` when imported."""
    target = tmp_path / "custom"
    shutil.copytree(tiny_model_dir, target)
    config = json.loads((target / "config.json").read_text())
    config.update(
        model_type="evilllama",
        architectures=["EvilModel"],
        auto_map={"AutoConfig": "evil.EvilConfig", "AutoModelForCausalLM": "evil.EvilModel"},
    )
    (target / "config.json").write_text(json.dumps(config))
    (target / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "from transformers import LlamaConfig, LlamaForCausalLM\n"
        "class EvilConfig(LlamaConfig):\n    model_type = 'evilllama'\n"
        "class EvilModel(LlamaForCausalLM):\n    config_class = EvilConfig\n"
    )
    return target


def test_custom_model_code_never_runs_even_when_stdin_says_yes(tiny_model_dir, tmp_path):
    marker = tmp_path / "code_ran"
    target = _remote_code_dir(tiny_model_dir, tmp_path, marker)
    rc, _, err, _ = run_cli_process(
        ["impress", "--model", target, "--exam", "CT", "--findings", "No acute."],
        tmp_path,
        stdin="y\n" * 20,  # `yes |` in a script
    )
    assert not marker.exists()
    assert rc == 2 and "[y/N]" not in err
    assert err.strip().count("\n") == 0 and "model_type 'evilllama'" in err


def test_custom_tokenizer_class_is_refused(tiny_model_dir, tmp_path):
    target = tmp_path / "tok"
    shutil.copytree(tiny_model_dir, target)
    path = target / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config.update(tokenizer_class="EvilTokenizer", auto_map={"AutoTokenizer": ["evil.T", None]})
    path.write_text(json.dumps(config))
    with pytest.raises(loader.ModelError, match="tokenizer_class 'EvilTokenizer'"):
        loader.resolve_model(target)


def _remote_code_encoder(tmp_path: Path, marker: Path) -> Path:
    """The shipped MiniLM with the same attack: model_type 'evilbert' + auto_map to evil.py."""
    from radllama.core.encoders import minilm_path

    target = tmp_path / "encoder"
    shutil.copytree(minilm_path("--encoder"), target)
    config = json.loads((target / "config.json").read_text())
    config.update(
        model_type="evilbert",
        architectures=["EvilModel"],
        auto_map={"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"},
    )
    (target / "config.json").write_text(json.dumps(config))
    (target / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "from transformers import BertConfig, BertModel\n"
        "class EvilConfig(BertConfig):\n    model_type = 'evilbert'\n"
        "class EvilModel(BertModel):\n    config_class = EvilConfig\n"
    )
    return target


BERTSCORE_WITH = r"""
import sys
from pathlib import Path
from radllama.core.errors import ConfigError
from radllama.evaluate.semantic import BertScoreConfig, bertscore
try:
    bertscore(["No acute disease."], ["No acute process."], BertScoreConfig(model=Path(sys.argv[1])))
except ConfigError as error:
    print("ConfigError", error)
"""


def test_a_bertscore_encoder_with_custom_code_never_runs_it(tmp_path):
    """bert-score loads `--bertscore-model` with `AutoModel.from_pretrained(path)` and no
    trust_remote_code: before the check, transformers asked on stdin and a "y" ran evil.py."""
    marker = tmp_path / "code_ran"
    encoder = _remote_code_encoder(tmp_path, marker)
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_SWITCHES}
    done = subprocess.run(
        [sys.executable, "-c", BERTSCORE_WITH, str(encoder)],
        input="y\n" * 20,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(env, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1"),
    )
    assert not marker.exists()
    assert "[y/N]" not in done.stdout + done.stderr
    assert done.stdout.startswith("ConfigError") and "model_type 'evilbert'" in done.stdout


def test_a_retrieval_encoder_with_custom_code_is_one_line(tmp_path):
    from radllama.core.errors import ConfigError
    from radllama.retrieval.encoder import load_encoder

    marker = tmp_path / "code_ran"
    encoder = _remote_code_encoder(tmp_path, marker)
    with pytest.raises(ConfigError, match="model_type 'evilbert'"):
        load_encoder(encoder)
    assert not marker.exists()


def test_every_transformers_load_in_src_refuses_remote_code():
    """Each `Auto*.from_pretrained(...)` call in src passes trust_remote_code=False (directly or
    as **SAFE_LOAD); found with ast, so text in docstrings and messages does not count."""
    import ast

    calls, offenders = 0, []
    for path in (REPO / "src" / "radllama").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            func = getattr(node, "func", None)
            if not (isinstance(node, ast.Call) and isinstance(func, ast.Attribute)):
                continue
            owner = getattr(func.value, "id", "")
            if func.attr != "from_pretrained" or not owner.startswith("Auto"):
                continue
            calls += 1
            safe = any(
                (k.arg == "trust_remote_code" and getattr(k.value, "value", None) is False)
                or (
                    k.arg is None
                    and getattr(k.value, "attr", getattr(k.value, "id", "")) == "SAFE_LOAD"
                )
                for k in node.keywords
            )
            if not safe:
                offenders.append(f"{path.name}:{node.lineno} {owner}.from_pretrained")
    assert calls >= 5 and offenders == []


def test_pickle_only_weights_are_refused(tiny_model_dir, tmp_path, run_cli):
    import torch
    from safetensors.torch import load_file

    target = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, target)
    torch.save(load_file(target / "model.safetensors"), target / "pytorch_model.bin")
    (target / "model.safetensors").unlink()
    code, _, err = run_cli("impress", "--model", target, "--exam", "CT", "--findings", "No.")
    assert code == 2 and err.strip().count("\n") == 0
    assert "only pickle weights (pytorch_model.bin)" in err and "safetensors" in err


# ---- GGUF headers are checked against the file size before anything is allocated ------------


def _gguf_string(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


def write_array_bomb(path: Path) -> Path:
    """166 bytes declaring a key-value array of 2^40 UINT32 (a 4 TiB request)."""
    body = b"GGUF" + struct.pack("<IQQ", 3, 0, 2)
    body += _gguf_string(b"general.architecture") + struct.pack("<I", 8) + _gguf_string(b"llama")
    body += _gguf_string(b"general.bomb") + struct.pack("<IIQ", 9, 4, 2**40)
    path.write_bytes(body.ljust(166, b"\0"))
    return path


CHECK_UNDER_LIMIT = r"""
import resource, sys, tracemalloc
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # 2 GiB: a bomb fails, not the host
from radllama.model.base import inspect_gguf
tracemalloc.start()
try:
    inspect_gguf(sys.argv[1])
except Exception as error:
    print(type(error).__name__, error)
print("peak_bytes", tracemalloc.get_traced_memory()[1])
"""


def test_gguf_array_bomb_is_refused_before_allocation(tmp_path, run_cli):
    bomb = write_array_bomb(tmp_path / "bomb.gguf")
    assert bomb.stat().st_size == 166
    done = subprocess.run(
        [sys.executable, "-c", CHECK_UNDER_LIMIT, str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO / "src")),
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("GgufError") and "array of 1099511627776 items" in lines[0]
    assert int(lines[1].split()[1]) < 10_000_000  # bytes traced while checking
    code, _, err = run_cli("base", "--from-gguf", bomb, "--out", tmp_path / "out")
    assert code == 2 and err.strip().count("\n") == 0 and "longer than the file" in err
    code, _, err = run_cli("impress", "--model", bomb, "--exam", "CT", "--findings", "No.")
    assert code == 2 and "longer than the file" in err


def test_gguf_string_and_tensor_lengths_are_checked(tmp_path, tiny_model_dir):
    from radllama.model.export import export_gguf

    good = tmp_path / "micro.gguf"
    export_gguf(tiny_model_dir, good, "f16")
    header = check_gguf_header(good)
    assert header["version"] == 3 and header["tensors"] > 0
    data = good.read_bytes()
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(data[: len(data) - 1000])  # the last tensor's bytes are cut off
    with pytest.raises(GgufError, match="past the end"):
        check_gguf_header(truncated)
    huge_key = tmp_path / "huge_key.gguf"
    huge_key.write_bytes(data[:24] + struct.pack("<Q", 2**62) + data[32:])
    with pytest.raises(GgufError, match="longer than the file"):
        check_gguf_header(huge_key)
    counts = tmp_path / "counts.gguf"
    counts.write_bytes(data[:8] + struct.pack("<QQ", 2**50, 2**50) + data[24:])
    with pytest.raises(GgufError, match="more than fit"):
        check_gguf_header(counts)
