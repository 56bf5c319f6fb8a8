"""Runs INSIDE the llama.cpp venv (llama-cpp-python; no radllama there): reads a request JSON
file, loads a GGUF and answers what tests/engines/test_llamacpp.py compares with transformers.

Request: {"gguf": PATH, "prompts": [TEXT], "greedy_tokens": N, "teacher": [[IDS]],
          "messages": [{"role", "content"}]}
Answer (stdout, JSON): per prompt its token ids (the file's add_bos rule, special tokens
parsed), N greedy tokens, the argmax after every position of the teacher-forced ids and the
logits there (for a tolerant comparison); the chat template as llama.cpp's C++ code applies it
(`llama_chat_apply_template`, as llama-server without --jinja) and as llama-cpp-python's
`create_chat_completion` renders it; the file's special ids.
"""

import ctypes
import json
import sys

import llama_cpp
from llama_cpp import llama_chat_format
from llama_cpp.llama_chat_format import Jinja2ChatFormatter


def main() -> None:
    request = json.load(open(sys.argv[1]))
    llm = llama_cpp.Llama(
        request["gguf"],
        n_ctx=1024,
        n_batch=1024,
        logits_all=True,
        n_threads=2,
        verbose=False,
        seed=0,
    )
    add_bos = llm._model.add_bos_token()
    out = {
        "add_bos": bool(add_bos),
        "bos": llm.token_bos(),
        "eos": llm.token_eos(),
        "pad": llama_cpp.llama_vocab_pad(llm._model.vocab),
        "prompts": [],
    }
    for i, text in enumerate(request["prompts"]):
        ids = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        llm.reset()
        llm.eval(ids)
        greedy = []
        for _ in range(request["greedy_tokens"]):
            token = int(llm.scores[llm.n_tokens - 1].argmax())
            greedy.append(token)
            llm.eval([token])
        teacher = request["teacher"][i]
        llm.reset()
        llm.eval(teacher)
        n_prompt = len(ids)
        rows = llm.scores[n_prompt - 1 : len(teacher)]
        out["prompts"].append(
            {
                "ids": ids,
                "greedy": greedy,
                "teacher_argmax": [int(r.argmax()) for r in rows],
                "teacher_logits": [r.tolist() for r in rows] if request.get("logits") else None,
            }
        )
    out["chat_cpp"] = apply_template_cpp(llm, request["messages"])
    out["chat_format"], out["chat_python"] = apply_template_python(llm, request["messages"])
    json.dump(out, sys.stdout)


def apply_template_python(llm, messages) -> tuple[str, str]:
    """The prompt `create_chat_completion` builds: a built-in format when the file's template
    is one llama-cpp-python knows by heart, else the file's template through Jinja."""
    if llm.chat_format == "chat_template.default":
        model = llm._model
        formatter = Jinja2ChatFormatter(
            llm.metadata["tokenizer.chat_template"],
            eos_token=model.token_get_text(llm.token_eos()),
            bos_token=model.token_get_text(llm.token_bos()),
            add_generation_prompt=True,
        )
        return llm.chat_format, formatter(messages=messages).prompt
    builtin = {
        "chatml": llama_chat_format.format_chatml,
        "llama-3": llama_chat_format.format_llama3,
    }
    return llm.chat_format, builtin[llm.chat_format](messages=messages).prompt


def apply_template_cpp(llm, messages) -> str | None:
    template = llama_cpp.llama_model_chat_template(llm._model.model, None)
    chat = (llama_cpp.llama_chat_message * len(messages))(
        *[
            llama_cpp.llama_chat_message(role=m["role"].encode(), content=m["content"].encode())
            for m in messages
        ]
    )
    size = 65536
    buf = ctypes.create_string_buffer(size)
    n = llama_cpp.llama_chat_apply_template(template, chat, len(messages), True, buf, size)
    return None if n < 0 else buf.raw[:n].decode("utf-8")


if __name__ == "__main__":
    main()
