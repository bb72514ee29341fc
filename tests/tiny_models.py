"""A tiny, randomly initialised causal LM built offline in code (real transformers classes).

Used where a test needs a model folder that ``AutoModelForCausalLM.from_pretrained``,
``lm_eval --model hf`` and TRL's ``SFTTrainer`` accept, in seconds, without downloads.
"""

from __future__ import annotations

from pathlib import Path

#: A minimal chat template (ChatML-like) so TRL and lm-eval's --apply_chat_template work.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<eos>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

_VOCAB_TEXT = (
    "Passage: Question: Answer: Claim: Article: Summary: SUPPORTS REFUTES NOT ENOUGH INFO "
    "the company reported revenue in 2020 and its shares rose after the announcement."
)


def build_tiny_causal_lm(folder: Path, *, max_positions: int = 512) -> Path:
    """Save a byte-level BPE tokenizer and a 1-layer Llama (hidden size 16) into ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<pad>", "<bos>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tokenizer.train_from_iterator([_VOCAB_TEXT] * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>")
    fast.chat_template = CHAT_TEMPLATE

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=max_positions,
        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
