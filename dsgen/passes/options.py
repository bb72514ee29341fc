"""Pass options: the ``[build.options]`` table of a config file, declared in one place.

Each option has a name, a type, an allowed range, a default and a line of help. The
config loader checks a file's options against these declarations (unknown names,
types, ranges) before any work starts; passes read the checked values with
:meth:`PassContext.option <dsgen.passes.base.PassContext.option>`, which falls back
to the declared default. README.md lists the same options for users.

The build also hands passes ``model_items_per_doc``, ``temperature`` (``[build]``
keys, ``--items-per-doc`` and ``--temperature``, checked with the rest of the build
configuration) and ``progress`` in ``PassContext.options``; those are not pass options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PassOption:
    """One ``[build.options]`` key: its type (``int``, ``bool``, ``str``, ``list`` of
    strings or ``dict``), allowed values (``minimum`` for integers, ``choices`` for
    strings) and default. A table (``dict``) declares its own ``keys`` the same way:
    any other key in it is refused."""

    name: str
    type: type
    default: Any
    used_by: str
    help: str
    minimum: int | None = None
    choices: tuple[str, ...] = ()
    keys: tuple["PassOption", ...] = ()

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is of this option's type and in its range. TOML has its own
        types: ``"6"``, ``6.0`` or ``true`` where an integer is expected are refused."""
        if self.type is int:
            return isinstance(value, int) and not isinstance(value, bool) and (
                self.minimum is None or value >= self.minimum)
        if self.type is str and self.choices:
            return isinstance(value, str) and value in self.choices
        if self.type is list:
            return isinstance(value, list) and all(isinstance(item, str) for item in value)
        return isinstance(value, self.type)

    @property
    def expected(self) -> str:
        """What a value must be, as an error message says it."""
        if self.type is int:
            return "an integer" + (f" >= {self.minimum}" if self.minimum is not None else "")
        if self.type is bool:
            return "true or false"
        if self.choices:
            return " or ".join(repr(c) for c in self.choices)
        names: dict[type, str] = {str: "a string", list: "a list of strings", dict: "a table"}
        return names[self.type]


PASS_OPTIONS: dict[str, PassOption] = {option.name: option for option in (
    PassOption(
        "summary_sentences", int, 3, "summarization_template, summarization_model",
        "sentences in each lead-k and centroid-k selection: the templated summaries, "
        "and the sentences the model rewrites", minimum=1,
    ),
    PassOption(
        "claims_per_label", int, 6, "fact_check_template",
        "templated SUPPORTS, REFUTES and NOT ENOUGH INFO claims per article, at most, for each label",
        minimum=1,
    ),
    PassOption(
        "model_context_chars", int, 600, "qa_model, fact_check_model",
        "longest passage (in characters) around a sentence that the model is shown; a "
        "paragraph that is longer is cut to the sentences around it", minimum=1,
    ),
    PassOption(
        "qa_free_generation", bool, False, "qa_model",
        "the model writes question and answer for a passage (capable models), instead of "
        "a question for an answer picked from the article",
    ),
    PassOption(
        "refutes_style", str, "replace", "fact_check_model",
        "how the model makes REFUTES claims: 'replace' writes a wrong value for one marked "
        "fact (small models), 'rewrite' rewrites the sentence (capable models)",
        choices=("replace", "rewrite"),
    ),
    PassOption(
        "fake", dict, {}, "the fake backend (tests)",
        "arguments of the scripted backend of `backend = \"fake\"`: `replies` and `model_id`",
        keys=(
            PassOption("replies", list, [], "the fake backend", "completions handed out in order, one per prompt"),
            PassOption("model_id", str, "fake", "the fake backend", "the model named in the rows' provenance"),
        ),
    ),
)}
