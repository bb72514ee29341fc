"""Templated QA: wh-questions from sentence rules in ``templates/qa/*.yaml``."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Iterable, Sequence

from dsgen.analysis import PASSAGE_MAX_CHARS, DocAnalysis, EvidenceSentence
from dsgen.errors import TemplateError
from dsgen.passes.base import Pass, PassContext, passes
from dsgen.templates import Template
from dsgen.types import Candidate, Document, Span

PLACEHOLDERS = {
    "<PAST>": r"(?P<verb>[a-z]+ed|led|made|took|gave|saw|became|began|won|lost|sold|bought|paid|rose|fell|grew|got|set|hit|cut|spent|sent|built|held|kept|left|met|said|told|found|brought|came|went|sank|drove|wrote|struck|sunk|shook|unveiled)",
    "<QUAL>": r"(?:(?:more than|over|nearly|almost|about|around|roughly|some|at least|approximately|up to|less than|under) )?",
    # An optional fronted phrase of up to nine words ending in a comma ("Earlier this year, ").
    "<LEAD>": r"(?:[A-Z][\w’'-]*(?: [\w’'.$-]+){0,8}, )?",
    # A clause subject: not a subordinate clause ("When ...") and free of amounts.
    "<SUBJ>": r"(?P<subj>(?!(?:When|If|While|As|After|Although|Because|Since|Though|Unlike|Once|Despite|What|How|Why)\b)(?!(?:[Ii]t|[Tt]hat|[Tt]here|[Hh]e|[Ss]he|[Ww]hat)[’']s\b)[A-Za-z](?:(?!\b(?:was|is|were|are|has|have|had|will|would|did|does)\b|\b(?:[Ii]t|[Tt]hat|[Tt]here|[Hh]e|[Ss]he|[Ww]hat)[’']s\b)[^,$;:(]){1,80}?)",
    # No article right before an amount ("led a $100 million investment").
    "<NOART>": r"(?<! a )(?<! an )(?<! the )",
}
_KNOWN_KINDS = {"MONEY", "PERCENT", "DATE", "YEAR", "NUMBER", "PERSON", "ORG", "PRODUCT", "PLACE", "NAME"}
#: The kind of a rule whose pattern captures its answer itself, as the group ``answer``
#: (a phrase such as a definition, not a typed fact of the sentence).
PHRASE = "PHRASE"
#: The kinds a rule may name.
_RULE_KINDS = frozenset(_KNOWN_KINDS | {PHRASE})


#: Markers put around a mention so a rule compiled once can only match with its answer
#: there. Normalized text holds no control characters, so they cannot occur in it.
_OPEN, _CLOSE = "\x00", "\x01"
_MARKED = object()
_NOT_GIVEN = object()
#: What, written right next to ``<ANSWER>``, could see the markers instead of the answer.
_PEEK_BEFORE = re.compile(r"(?:\\[bB]|<SUBJ>)$")
_PEEK_AFTER = re.compile(r"^\\[bB]")


@dataclass(frozen=True)
class QuestionRule:
    """One sentence pattern and the question it becomes."""

    name: str
    kinds: frozenset[str]
    pattern: str
    question: Template

    def regex(self, answer: str) -> re.Pattern:
        return _compile(self.pattern, answer)

    def sentences_to_try(self, text: str, starts: Sequence[int]) -> Iterable[int]:
        """Which sentences of ``text`` (by index; ``starts``: their offsets, ascending) a
        :data:`PHRASE` rule may match: those holding one of the strings of its first literal
        run (see :func:`literal_runs`), when ``text`` holds one of each other run. The text
        is searched once, not sentence by sentence: " is a " is in most articles, the rule's
        match in few of their sentences."""
        finders = self._phrase_finders
        if not finders:
            return range(len(starts))  # nothing literal to look for: every sentence
        if not all(finder.search(text) for finder in finders[1:]):
            return ()
        found = {bisect_right(starts, m.start()) - 1 for m in finders[0].finditer(text)}
        return sorted(i for i in found if i >= 0)

    @cached_property
    def _phrase_finders(self) -> tuple[re.Pattern, ...]:
        """Per literal run of the pattern, a regex for any of its strings."""
        runs = [run for run in literal_runs(_source(self.pattern, None)) if min(map(len, run)) >= 2]
        return tuple(re.compile("|".join(map(re.escape, run))) for run in runs)

    def any_answer(self) -> re.Pattern:
        """The rule with any text as the answer: no match here means no match for any answer."""
        return _compile(self.pattern, None)

    @cached_property
    def markable(self) -> bool:
        """Whether matching on marked text is exact for this pattern (see :meth:`match`)."""
        before, _, after = self.pattern.partition("<ANSWER>")
        while before.endswith(("<QUAL>", "<NOART>")):  # consume or look back only
            before = before[: before.rindex("<")]
        return (self.pattern.count("<ANSWER>") == 1 and not _PEEK_BEFORE.search(before)
                and not _PEEK_AFTER.search(after) and "(?=" not in before and "(?!" not in before
                and "(?<" not in after and "<NOART>" not in after)

    @cached_property
    def marked_needles(self) -> tuple[tuple[str, ...], ...]:
        """What every match on marked text holds: for each run of two or more literal
        characters in the top level of the marked pattern (see :func:`literal_runs`), one
        of the strings it may be, such as ``", \x00"`` for a rule that wants a comma right
        before the answer, or ``"\x01’"`` or ``"\x01'"`` for a possessive after it, or
        ``"from \x00"`` or ``"by \x00"`` for ``(?:from|by) <ANSWER>``."""
        runs = [run for run in literal_runs(_source(self.pattern, _MARKED)) if min(map(len, run)) >= 2]
        # Runs holding a marker first: they can only be at the answer, so they fail most often.
        return tuple(sorted(runs, key=lambda run: not any(_OPEN in s or _CLOSE in s for s in run)))

    def match(self, text: str, start: int, answer: str, marked: str | None | object = _NOT_GIVEN) -> dict[str, str] | None:
        """Groups of the first match of this rule in ``text`` whose answer is ``answer``
        at ``start``, or ``None``.

        Compiling a pattern per answer is far dearer than matching, so the mention is
        fenced by markers and one pattern per rule (answer = whatever lies between the
        markers) does the search. Only the answer element can consume the markers, so
        this finds exactly what the answer-specific pattern finds, unless the pattern
        peeks at the answer from outside it (``\\b`` or a lookaround next to
        ``<ANSWER>``): such rules take the answer-specific pattern. ``marked`` is
        ``mark(text, start, answer)`` when the caller has it already.
        """
        if not self.markable:
            return self._match_compiled(text, start, answer)
        if marked is _NOT_GIVEN:
            marked = mark(text, start, answer)
        if marked is None:
            return self._match_repeated(text, start, answer)
        m = self._search_marked(marked)
        return None if m is None else _unmarked_groups(m)

    @cached_property
    def _marked_search(self):
        """``search`` of the rule's pattern for marked text (a pattern per rule, compiled once)."""
        return _compile(self.pattern, _MARKED).search

    def _search_marked(self, marked: str) -> re.Match | None:
        # Plain loops: any() and all() over generators cost more than these tests here.
        for choices in self.marked_needles:
            for needle in choices:
                if needle in marked:
                    break
            else:
                return None  # none of the strings this run may be: no match
        return self._marked_search(marked)

    def _match_repeated(self, text: str, start: int, answer: str) -> dict[str, str] | None:
        """:meth:`match` when ``answer`` occurs more than once in ``text``.

        The answer-specific pattern's first match is the earliest-starting of the first
        matches with the answer fenced at each occurrence in turn (a match starts before
        its answer, where marked and plain positions agree). The one at ``start`` must be
        strictly first; when two start together, only the answer-specific pattern knows
        which one it tries first.
        """
        if not answer or not text.startswith(answer, start) or _OPEN in text or _CLOSE in text:
            return self._match_compiled(text, start, answer)
        ours = self._search_marked(fence(text, start, answer))
        if ours is None:
            return None
        i = text.find(answer)
        while i != -1:
            if i != start:
                other = self._search_marked(fence(text, i, answer))
                if other is not None and other.start() <= ours.start():
                    return None if other.start() < ours.start() else self._match_compiled(text, start, answer)
            i = text.find(answer, i + 1)
        return _unmarked_groups(ours)

    def _match_compiled(self, text: str, start: int, answer: str) -> dict[str, str] | None:
        """:meth:`match` with the answer-specific pattern."""
        if not self.any_answer().search(text):
            return None
        m = self.regex(answer).search(text)
        if not m or m.start("answer") != start:
            return None
        return {k: v or "" for k, v in m.groupdict().items()}


def _unmarked_groups(m: re.Match) -> dict[str, str]:
    return {k: (v or "").replace(_OPEN, "").replace(_CLOSE, "") for k, v in m.groupdict().items()}


def fence(text: str, start: int, answer: str) -> str:
    """``text`` with the ``answer`` at ``start`` between markers."""
    return f"{text[:start]}{_OPEN}{answer}{_CLOSE}{text[start + len(answer):]}"


def mark(text: str, start: int, answer: str) -> str | None:
    """``text`` with the mention fenced by markers, or ``None`` when that would be
    ambiguous (the answer occurs twice, or the text holds a marker already)."""
    if text.find(answer) == start and text.find(answer, start + 1) == -1 and _OPEN not in text and _CLOSE not in text:
        return fence(text, start, answer)
    return None


@lru_cache(maxsize=1024)
def _compile(pattern: str, answer) -> re.Pattern:
    return re.compile(_source(pattern, answer))


def _source(pattern: str, answer) -> str:
    """The regex of a rule: placeholders filled in, the answer as given, or between
    markers (``_MARKED``), or any text (``None``)."""
    if answer is _MARKED:
        group = f"{_OPEN}(?P<answer>[^{_CLOSE}]*){_CLOSE}"
    else:
        group = "(?P<answer>" + (r"[\s\S]+?" if answer is None else re.escape(answer)) + ")"
    source = pattern.replace("<ANSWER>", group)
    for key, value in PLACEHOLDERS.items():
        source = source.replace(key, value)
    return source


#: The most strings a run of :func:`literal_runs` may stand for (``[’'][’']`` is four).
_MAX_CHOICES = 8


def literal_runs(source: str) -> list[tuple[str, ...]]:
    """Runs of literal characters, small sets of them (``[’']``) and groups of
    alternative words (``(?:from|by)``) in the top level of the regex ``source``, each
    as the strings it may be: every match holds one of them, as written. Empty when
    the pattern ignores case (or when the stdlib's private parser, the only way to see
    the structure, fails)."""
    try:
        from re import _constants as c, _parser

        parsed = _parser.parse(source)
    except Exception:  # noqa: BLE001 - a private API: when in doubt, no runs
        return []
    if parsed.state.flags & re.IGNORECASE:
        return []
    runs: list[tuple[str, ...]] = []
    run = [""]
    for op, av in [*parsed.data, (None, None)]:
        chars = _item_strings(c, op, av) or []
        if chars and len(run) * len(chars) <= _MAX_CHOICES:
            run = [r + ch for r in run for ch in chars]
            continue
        if not chars:  # a group that is not all literal still opens with its literal prefix
            prefixes = _group_prefixes(c, op, av)
            if prefixes and len(run) * len(prefixes) <= _MAX_CHOICES:
                run = [r + p for r in run for p in prefixes]
        if run[0]:
            runs.append(tuple(run))
        run = chars if 0 < len(chars) <= _MAX_CHOICES else [""]
    return runs


def _group_prefixes(c, op, av) -> list[str] | None:
    """The strings a group (no flags) that is not all literal may start with: those of
    its leading literal items (``(?P<answer>(?:a|the) [^,]+)`` starts with ``"a "`` or
    ``"the "``); ``None`` if it opens with none, or is not such a group."""
    if op is not c.SUBPATTERN or av[1] or av[2]:
        return None
    out = [""]
    for item_op, item_av in av[3].data:
        strings = _item_strings(c, item_op, item_av)
        if strings is None:
            strings = _group_prefixes(c, item_op, item_av)
            if strings and len(out) * len(strings) <= _MAX_CHOICES:
                out = [s + t for s in out for t in strings]
            break
        if len(out) * len(strings) > _MAX_CHOICES:
            break
        out = [s + t for s in out for t in strings]
    return out if out != [""] else None


def _item_strings(c, op, av) -> list[str] | None:
    """The strings one parsed regex item may match, if it is a literal, a set of
    literals, or a group (no flags) or alternation of sequences of those, and they are
    at most ``_MAX_CHOICES``; else ``None``. ``c`` is the stdlib's ``re._constants``."""
    if op is c.LITERAL:
        return [chr(av)]
    if op is c.IN:
        return [chr(code) for kind, code in av] if all(kind is c.LITERAL for kind, _ in av) else None
    if op is c.SUBPATTERN:
        _group, add_flags, del_flags, sequence = av
        return None if add_flags or del_flags else _sequence_strings(c, sequence.data)
    if op is c.BRANCH:
        out: list[str] = []
        for alternative in av[1]:
            strings = _sequence_strings(c, alternative.data)
            if strings is None or len(out) + len(strings) > _MAX_CHOICES:
                return None
            out += strings
        return out
    return None


def _sequence_strings(c, items) -> list[str] | None:
    """The strings a sequence of parsed items may match (see :func:`_item_strings`)."""
    out = [""]
    for op, av in items:
        strings = _item_strings(c, op, av)
        if strings is None or len(out) * len(strings) > _MAX_CHOICES:
            return None
        out = [s + t for s in out for t in strings]
    return out


def load_rules(ctx: PassContext, pattern: str = "qa/*.yaml") -> list[QuestionRule]:
    """Read and check every rule file (a bad rule fails the build with its file name)."""
    rules: list[QuestionRule] = []
    for rel in ctx.templates.glob(pattern):
        data = ctx.templates.yaml(rel)
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise TemplateError(f"{rel}: expected a mapping with a 'rules' list")
        for i, item in enumerate(data["rules"]):
            where = f"{rel} rule {i + 1}"
            if not isinstance(item, dict) or not {"name", "kinds", "pattern", "question"} <= set(item):
                raise TemplateError(f"{where}: needs name, kinds, pattern and question")
            if not isinstance(item["name"], str):
                raise TemplateError(f"{where}: 'name' must be text, got {item['name']!r}")
            for key in ("pattern", "question"):
                if not isinstance(item[key], str):
                    raise TemplateError(f"{where} ({item['name']}): '{key}' must be text, got {item[key]!r}")
            if not isinstance(item["kinds"], list) or not all(isinstance(k, str) for k in item["kinds"]):
                raise TemplateError(f"{where} ({item['name']}): 'kinds' must be a list such as [MONEY], got {item['kinds']!r}")
            kinds = frozenset(item["kinds"])
            if not kinds <= _RULE_KINDS:
                raise TemplateError(f"{where}: unknown kinds {sorted(kinds - _RULE_KINDS)}")
            if PHRASE in kinds and (len(kinds) > 1 or "<ANSWER>" in item["pattern"] or "(?P<answer>" not in item["pattern"]):
                raise TemplateError(f"{where} ({item['name']}): a {PHRASE} rule is of that kind alone, and its pattern "
                                    "captures the answer as (?P<answer>...) instead of using <ANSWER>")
            if PHRASE not in kinds and "<ANSWER>" not in item["pattern"]:
                raise TemplateError(f"{where} ({item['name']}): the pattern needs <ANSWER> (or kinds: [{PHRASE}] "
                                    "and a group (?P<answer>...))")
            rule = QuestionRule(
                item["name"], kinds, item["pattern"],
                ctx.templates.compile(item["question"], f"{ctx.templates.path(rel)} ({item['name']})", item["name"]),
            )
            try:
                rule.regex("probe")
            except re.error as exc:
                raise TemplateError(f"{where} ({item['name']}): bad pattern: {exc}") from None
            rules.append(rule)
    if not rules:
        raise TemplateError(f"no QA rules found in {ctx.templates.root}/{pattern}")
    return rules


_DANGLING = {"that", "in", "of", "the", "a", "an", "to", "and", "or", "for", "with", "as", "on", "at", "from", "its", "their", "which", "who", "but"}


_ARTICLE_END = re.compile(r"\b(?:a|an|the)(?: [a-z]+)? ?$")
_SECOND_VERB = re.compile(r"\band [a-z]+ed\b")


def _clean_clause(pre: str) -> bool:
    """False when the words before the answer would leave a broken question.

    E.g. an article left dangling ("levied a nearly") or a second verb phrase
    ("imposed oversight and levied").
    """
    return not (_ARTICLE_END.search(pre) or _SECOND_VERB.search(pre))


#: A space before punctuation, once whitespace is collapsed to single spaces.
_SPACE_BEFORE_PUNCT = re.compile(r" ([?,.;:])")
_QUESTION_WORD = re.compile(r"[\w’']+")


def tidy_question(text: str) -> str | None:
    """Collapse whitespace; ``None`` when the question ends on a dangling word."""
    text = " ".join(text.split())  # runs of whitespace (what re's \s matches) -> one space, stripped
    if _SPACE_BEFORE_PUNCT.search(text):  # rare: skip sub's setup for the rest
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    if _last_word(text).lower() in _DANGLING or not text.endswith("?"):
        return None
    return text[:1].upper() + text[1:]


def _last_word(text: str) -> str:
    """The last of ``_QUESTION_WORD.findall(text)`` ("" if none) of one-space-separated
    ``text``: a word never spans a space, so the last token holds it when it holds any."""
    for part in (text[text.rfind(" ") + 1 :], text):
        found = _QUESTION_WORD.findall(part)
        if found:
            return found[-1]
    return ""


@passes.register("qa_template")
class QATemplatePass(Pass):
    """Answer spans are typed facts of a sentence; questions come from rules."""

    name = "qa_template"
    config = "qa"
    method = "template"

    def run(self, docs: Sequence[Document], ctx: PassContext) -> Iterable[Candidate]:
        by_kind = ctx.__dict__.get("_qa_rules_by_kind")
        if by_kind is None:  # read once per context, not once per chunk
            rules = load_rules(ctx)
            by_kind = ctx.__dict__["_qa_rules_by_kind"] = {
                kind: [r for r in rules if kind in r.kinds] for kind in _RULE_KINDS}
        for doc in docs:
            analysis = ctx.analysis(doc)
            phrase_rules: dict[int, list[QuestionRule]] = {}  # by sentence index: the PHRASE rules to try
            if by_kind[PHRASE]:
                starts = [es.span.start for es in analysis.evidence_sentences]
                for rule in by_kind[PHRASE]:
                    for i in rule.sentences_to_try(doc.text, starts):
                        phrase_rules.setdefault(i, []).append(rule)
            for index, es in enumerate(analysis.evidence_sentences):
                if len(es.text) > PASSAGE_MAX_CHARS:
                    # No passage can hold it, so its context would be the run-on sentence
                    # itself; and matching every rule at each of its facts costs its length
                    # squared (a sentence of 400 KB took 16 of the build's 18 s).
                    continue
                for mention in es.mentions:
                    marked = mark(es.text, mention.start, mention.text)
                    for rule in by_kind.get(mention.kind, ()):
                        groups = rule.match(es.text, mention.start, mention.text, marked)
                        if groups is not None:
                            made = self._candidate(doc, analysis, es, rule, groups, mention.text, mention.start, mention.kind)
                            if made is not None:
                                yield made
                for rule in phrase_rules.get(index, ()):
                    m = rule.any_answer().search(es.text)
                    if m is not None:
                        groups = {k: v or "" for k, v in m.groupdict().items()}
                        # The kind of each fact of the sentence, for the question ("Who" for a PERSON).
                        groups["kind_of"] = {fact.text: fact.kind for fact in es.mentions}
                        made = self._candidate(doc, analysis, es, rule, groups, m.group("answer"), m.start("answer"), PHRASE)
                        if made is not None:
                            yield made

    def _candidate(self, doc: Document, analysis: DocAnalysis, es: EvidenceSentence, rule: QuestionRule,
                   groups: dict, answer: str, start: int, kind: str) -> Candidate | None:
        """The row of ``rule``'s match in ``es`` (``groups``), whose answer ``answer`` starts at
        ``start`` of the sentence; ``None`` when the question would be broken."""
        if not _clean_clause(groups.get("pre", "")):
            return None
        question = tidy_question(rule.question.render(**{"article": doc.text, **groups}))
        if question is None:
            return None
        passage = analysis.passage_for(es.sentence)
        answer_doc = es.span.start + start
        return Candidate(
            config="qa",
            doc_id=doc.doc_id,
            pass_name=self.name,
            method=self.method,
            generator=f"qa/{rule.name}",
            fields={
                "context": analysis.span_text(passage),
                "context_start": passage.start,
                "question": question,
                "answers": {"text": [answer], "answer_start": [answer_doc - passage.start]},
            },
            evidence=(es.span,),
            meta={"answer_kind": kind},
        )
