"""A tiny random-weight causal LM with a locally trained tokenizer, built offline
in about a second. It loads through exactly the same code as any real model.

Its generation config has no end-of-sequence token, so it always writes
`max_new_tokens` tokens: tests can rely on how long a job runs. The same builder
makes a random model of Llama 3.2 1B's shape for benchmarks on a GPU
(bench/environment.py's `llama-1b`).
"""

from pathlib import Path
from typing import Any

CORPUS = """GenHub runs text, image and audio models on your own hardware.
The quick brown fox jumps over the lazy dog. A prompt goes in, tokens stream out.
Hello world! How are you today? I am fine, thank you. Numbers: 0 1 2 3 4 5 6 7 8 9.
Café, naïve, résumé, 東京, Zürich, emoji 🙂 and other characters outside ASCII.
"""

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


# Decoder shapes: the tests' tiny one, and Llama 3.2 1B's (the tokenizer stays the
# tiny one, so the vocabulary is 400, not 128k) for benchmarks on a GPU, where the
# tiny model is all launch overhead and no hub is reachable.
SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    },
    "llama-1b": {
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
    },
}


def build_tiny_text_model(target: Path) -> Path:
    return build_random_text_model(target, "tiny")


def build_random_text_model(target: Path, size: str) -> Path:
    """A random-weight Llama of one of SIZES with the tiny tokenizer, in `target`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
        PreTrainedTokenizerFast,
    )

    special = ["<pad>", "<s>", "</s>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS.splitlines() * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        model_max_length=8192,
    )
    tokenizer.chat_template = CHAT_TEMPLATE

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        **SIZES[size],
        max_position_embeddings=4400,  # just past 4096 new tokens, so a long prompt overflows
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=None,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id
    )
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target
