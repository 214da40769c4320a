"""Make a tiny Llama-architecture model with random weights and a locally trained BPE
tokenizer, in seconds, with nothing downloaded (run with the vLLM venv's python).

    python tiny_model.py OUT_DIR

head_dim is 64 (hidden 512 / 8 heads): vLLM's CPU attention supports {32, 64, 80, 96, 112, 128, ...}; 16 passes
/health and then kills the engine on the first request. max_position_embeddings is as
large as the shipped models' (131072), so the stacks' --max-model-len values validate
against it; the server itself runs with a small --max-model-len.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

# ChatML with tools, the format the hermes tool parser reads (<tool_call>{json}</tool_call>).
CHAT_TEMPLATE = """{%- if tools %}<|im_start|>system
{% if messages[0].role == 'system' %}{{ messages[0].content }}

{% endif %}# Tools
You may call one or more functions. Function signatures are within <tools></tools>:
<tools>{% for tool in tools %}
{{ tool | tojson }}{% endfor %}
</tools>
For each call return a json object within <tool_call></tool_call> tags.<|im_end|>
{% elif messages[0].role == 'system' %}<|im_start|>system
{{ messages[0].content }}<|im_end|>
{% endif %}{%- for message in messages %}{%- if message.role == 'user' %}<|im_start|>user
{{ message.content }}<|im_end|>
{% elif message.role == 'assistant' %}<|im_start|>assistant
{% if message.content %}{{ message.content }}{% endif %}{% if message.tool_calls %}{% for call in message.tool_calls %}
<tool_call>
{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments if call.function.arguments is string else call.function.arguments | tojson }}}
</tool_call>{% endfor %}{% endif %}<|im_end|>
{% elif message.role == 'tool' %}<|im_start|>user
<tool_response>
{{ message.content }}
</tool_response><|im_end|>
{% endif %}{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]
WORDS = (
    "order refund customer payment status lookup amount ticket account invoice report the a of to and is was "
    "please check total shipped delivered pending approved denied reason number id name value result error "
    "system user assistant tool function arguments json true false null"
).split()


def corpus(rng: random.Random) -> list[str]:
    """Words, mostly closed by a JSON quote, and no digits. So most tokens end in a quote and
    digits stay single-byte tokens: the JSON a random model is forced to write for tool
    arguments (a string, a number) ends after a few tokens instead of running to max_tokens."""
    lines = []
    for _ in range(4000):
        words = [rng.choice(WORDS) + ('"' if rng.random() < 0.7 else "") for _ in range(rng.randint(4, 20))]
        lines.append(" ".join(words))
    return lines


def build(out: Path) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    rng = random.Random(16)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE())
    # No regex split: merges may join a word and its closing quote (see corpus()).
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus(rng), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None, unk_token=None
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)

    torch.manual_seed(16)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=512,
        intermediate_size=1024,
        num_hidden_layers=2,
        num_attention_heads=8,  # divisible by the stacks' tensor-parallel sizes (up to 4)
        num_key_value_heads=4,
        head_dim=64,
        max_position_embeddings=131072,
        eos_token_id=fast.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=fast.convert_tokens_to_ids("<|endoftext|>"),
        bos_token_id=None,
        tie_word_embeddings=True,
        torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)


if __name__ == "__main__":
    build(Path(sys.argv[1]))
