"""Every config's ``messages`` column is TRL conversational data, by TRL's own helpers.

Ends with the README's fine-tuning snippet run for one step on a tiny model.
"""

from __future__ import annotations

import datasets
import pytest

from dsgen.features import CONFIG_NAMES
from tiny_models import build_tiny_causal_lm

pytest.importorskip("trl")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_causal_lm(tmp_path_factory.mktemp("trl") / "tiny-llama")


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def load(built, name, split="train"):
    return datasets.load_dataset(str(built / "dataset"), name, split=split)


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_every_row_is_conversational_for_trl(built, name):
    from trl.data_utils import is_conversational

    for split in ("train", "test"):
        for row in load(built, name, split):
            assert is_conversational(row)
            assert is_conversational({"messages": row["messages"]})
            assert [m["role"] for m in row["messages"]][-1] == "assistant"
            assert set(row).isdisjoint({"prompt", "completion", "chosen", "rejected"})  # would outrank messages


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_trl_renders_every_conversation_with_a_chat_template(built, tokenizer, name):
    from trl.data_utils import apply_chat_template, maybe_apply_chat_template

    for row in load(built, name).select_columns(["messages"]):
        text = apply_chat_template(row, tokenizer)["text"]
        assert text == maybe_apply_chat_template(row, tokenizer)["text"]
        for message in row["messages"]:
            assert f"<|{message['role']}|>{message['content']}<eos>" in text


def test_fact_check_label_column_needs_selecting_for_trls_template_helper(built, tokenizer):
    """TRL reads a ``label`` column as KTO's preference label; SFTTrainer itself is unaffected."""
    from trl.data_utils import apply_chat_template

    row = load(built, "fact_check")[0]
    with pytest.raises(KeyError, match="label"):
        apply_chat_template(row, tokenizer)


def test_one_sft_step_on_the_mixture_of_every_config(built, tiny_model, tmp_path):
    """The README's snippet: every config's messages, concatenated, one SFTTrainer step."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    train = datasets.concatenate_datasets(
        [load(built, name).select_columns(["messages"]) for name in CONFIG_NAMES]
    ).shuffle(seed=0)
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model),
        processing_class=AutoTokenizer.from_pretrained(tiny_model),
        train_dataset=train,
        args=SFTConfig(output_dir=str(tmp_path / "sft"), max_steps=1, per_device_train_batch_size=2,
                       max_length=256, use_cpu=True, report_to="none", save_strategy="no", logging_steps=1),
    )
    result = trainer.train()
    assert result.global_step == 1 and result.training_loss > 0


def test_sft_trainer_takes_a_config_as_loaded(built, tiny_model, tmp_path):
    """No column selection needed for SFTTrainer: extra columns (even ``label``) are ignored."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model),
        processing_class=AutoTokenizer.from_pretrained(tiny_model),
        train_dataset=load(built, "fact_check"),
        args=SFTConfig(output_dir=str(tmp_path / "sft"), max_steps=1, per_device_train_batch_size=2,
                       max_length=128, use_cpu=True, report_to="none", save_strategy="no"),
    )
    assert trainer.train().global_step == 1
