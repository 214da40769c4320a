"""The synthesized vLLM command line, adapted to this machine (a CPU, a tiny local model).

One list says what is dropped and why; everything else the stacks synthesize reaches
vLLM's parser and engine-config validation (test_vllm_flags.py) and, for the model the
real server runs, the server itself (test_vllm_server.py).
"""

from __future__ import annotations

from typing import Any

# Flags dropped for the checks, each with the reason it cannot apply on a CPU. Empty: vLLM
# 0.32's CPU build accepts every flag the stacks synthesize in its parser and engine-config
# validation (fp8 quantization, runai_streamer, tensor-parallel sizes up to 4, bfloat16
# included), so the flag check runs them all. A flag added here needs its reason.
CPU_DROPPED: dict[str, str] = {}
# For the running server only (the flag check keeps the stack's values), each with why:
SERVER_REPLACED: dict[str, str] = {
    "--tensor-parallel-size": "1",  # the CPU build starts one rank per NUMA node; this machine has one
    "--dtype": "float32",  # bfloat16 matmuls are emulated on AVX2 (no AVX-512 BF16): slow
    "--host": "127.0.0.1",  # loopback only (and --port: a free port; --max-model-len: SERVER_WINDOW)
}
SERVER_ADDED = ["--enforce-eager"]  # no graph compilation: healthy in under a minute on 2 cores
# Flags of the synthesized command line that take no value.
BOOLEAN_FLAGS = {"--enable-prefix-caching", "--no-enable-prefix-caching", "--enable-auto-tool-choice"}


def serve_argv(container: dict[str, Any]) -> list[str]:
    """The arguments after ``vllm serve`` of a synthesized vLLM container."""
    command = list(container.get("command") or []) + list(container.get("args") or [])
    assert command[:2] == ["vllm", "serve"], command
    return command[2:]


def split(argv: list[str]) -> tuple[str, list[tuple[str, str | None]]]:
    """(model, [(flag, value or None)]) of a `vllm serve` command line."""
    model, options, i = argv[0], [], 1
    while i < len(argv):
        flag = argv[i]
        assert flag.startswith("--"), f"unexpected positional {flag!r} in {argv}"
        if flag in BOOLEAN_FLAGS or "=" in flag:
            options.append((flag, None))
            i += 1
        else:
            options.append((flag, argv[i + 1]))
            i += 2
    return model, options


def join(model: str, options: list[tuple[str, str | None]]) -> list[str]:
    argv = [model]
    for flag, value in options:
        argv += [flag] if value is None else [flag, value]
    return argv


def for_cpu(argv: list[str], model_path: str) -> list[str]:
    """The synthesized arguments minus CPU_DROPPED, serving the tiny model's weights."""
    _, options = split(argv)
    return join(model_path, [(f, v) for f, v in options if f not in CPU_DROPPED])


def for_server(argv: list[str], model_path: str, port: int, max_model_len: int) -> list[str]:
    _, options = split(for_cpu(argv, model_path))
    replaced = {**SERVER_REPLACED, "--port": str(port), "--max-model-len": str(max_model_len)}
    options = [(f, replaced.get(f, v)) for f, v in options]
    return join(model_path, options) + SERVER_ADDED
