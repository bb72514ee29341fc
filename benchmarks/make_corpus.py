"""Make a corpus of N realistic, distinct articles by recombining a folder of seed articles.

Usage::

    python benchmarks/make_corpus.py OUT_DIR -n 1000 [--seeds seeds] [--seed 0]

Each article takes the title and most paragraphs of one seed article, splices in a
few paragraphs of other seeds, and rewrites its facts with a seeded RNG: numbers get
new digits (years stay plausible), common words are swapped for synonyms, and people and companies get invented names
(consistently within the article, with the suffixes and cue words the lexicon uses to
type them), so articles are not duplicates or near-duplicates of each other. The same
``(seeds, n, seed)`` always gives the same files.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

_SYLLABLES = ("ka", "lo", "ve", "tri", "mon", "sa", "rel", "quo", "din", "bar", "zen", "pha", "tor", "ly",
              "nex", "ori", "gal", "mu", "fer", "ias", "cor", "ten", "vax", "ul", "dra", "pen", "sol", "ki")
_FIRST = ("Ada", "Bram", "Chen", "Dalia", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kira", "Lena",
          "Marco", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Yara")
_ORG_SUFFIXES = ("Group", "Holdings", "Technologies", "Labs", "Systems", "Networks", "Capital", "Corp")
#: Seed names rewritten per article (companies, then people); places and products stay.
_ORGS = ("Alibaba Group Holding Ltd", "Alibaba", "Ant Group", "JD.com", "PDD Holdings", "PDD", "Pinduoduo",
         "Tencent", "Baidu", "ByteDance", "Amazon", "Google", "Nvidia", "OpenAI", "Microsoft", "Meta",
         "Taobao", "Tmall", "Cainiao", "Douyin", "T-Head", "CNBC", "Reuters")
_PEOPLE = ("Jack Ma", "Daniel Zhang", "Eddie Wu", "Joe Tsai", "Ashley Dudarenok", "Duncan Clark", "Xi Jinping")
_NUMBER = re.compile(r"\d+")
#: Word swaps applied at random per occurrence, so shared seed sentences diverge.
_SYNONYMS = {
    "company": ("firm", "group", "business"), "global": ("worldwide", "international"),
    "market": ("sector", "marketplace"), "strategy": ("plan", "approach"), "new": ("fresh", "novel"),
    "models": ("systems", "engines"), "infrastructure": ("backbone", "platform"), "massive": ("huge", "vast"),
    "growth": ("expansion", "momentum"), "future": ("outlook", "prospects"), "digital": ("online", "connected"),
    "business": ("operation", "enterprise"), "investment": ("spending", "funding"), "recent": ("latest", "current"),
    "big": ("large", "major"), "giant": ("heavyweight", "titan"), "leader": ("frontrunner", "pioneer"),
    "competition": ("rivalry", "pressure"), "shift": ("change", "transition"), "pivot": ("turn", "swing"),
    "transformation": ("overhaul", "makeover"), "quickly": ("rapidly", "swiftly"), "major": ("key", "leading"),
    "significant": ("notable", "substantial"), "important": ("crucial", "vital"), "growing": ("expanding", "rising"),
    "largest": ("biggest", "greatest"), "strong": ("robust", "solid"), "move": ("step", "decision"),
    "tools": ("products", "services"), "revenue": ("sales", "income"), "core": ("central", "main"),
    "rivals": ("competitors", "challengers"), "tech": ("technology", "internet"), "world": ("planet", "globe"),
    "years": ("seasons", "cycles"), "data": ("information", "records"), "ecosystem": ("network", "landscape"),
    "leadership": ("management", "executives"), "regulatory": ("official", "government"),
    "innovation": ("invention", "progress"), "chips": ("processors", "semiconductors"), "online": ("internet", "web"),
}
_SYNONYM = re.compile(r"\b(?:" + "|".join(_SYNONYMS) + r")\b")


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def _renames(rng: random.Random) -> dict[str, str]:
    """A fresh name for every seed company and person (surnames alone follow the person)."""
    out: dict[str, str] = {}
    for org in _ORGS:
        out[org] = f"{_word(rng, rng.randint(2, 3))} {rng.choice(_ORG_SUFFIXES)}"
    for person in _PEOPLE:
        first, last = rng.choice(_FIRST), _word(rng, 2)
        out[person] = f"{first} {last}"
        out.setdefault(person.split()[-1], last)
    return out


def _rename_pattern(keys) -> re.Pattern:
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


_RENAME = _rename_pattern(_ORGS + _PEOPLE + tuple(p.split()[-1] for p in _PEOPLE))


def _new_number(rng: random.Random, digits: str) -> str:
    if len(digits) == 4 and digits[:2] in ("19", "20"):
        return str(rng.randint(1995, 2031))
    if len(digits) == 1:
        return str(rng.randint(1, 9))
    return str(rng.randint(10 ** (len(digits) - 1), 10 ** len(digits) - 1))


def rewrite_facts(text: str, rng: random.Random) -> str:
    """``text`` with new numbers and invented company and people names."""
    names = _renames(rng)
    text = _RENAME.sub(lambda m: names[m.group()], text)
    text = _SYNONYM.sub(lambda m: rng.choice((m.group(), *_SYNONYMS[m.group()])), text)
    return _NUMBER.sub(lambda m: _new_number(rng, m.group()), text)


def read_seeds(seeds: Path) -> list[tuple[str, list[str]]]:
    """``(title line, paragraph lines)`` per seed article."""
    out = []
    for path in sorted(seeds.rglob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(lines) >= 2:
            out.append((lines[0], lines[1:]))
    if not out:
        raise SystemExit(f"no .txt articles with a title and a paragraph under {seeds}")
    return out


def make_article(seeds: list[tuple[str, list[str]]], rng: random.Random) -> str:
    """One article: a seed's title and most of its paragraphs, plus a few borrowed ones."""
    title, paragraphs = rng.choice(seeds)
    body = [p for p in paragraphs if rng.random() > 0.2] or paragraphs[:1]
    pool = [p for _, ps in seeds for p in ps if len(p) > 200]
    for _ in range(rng.randint(1, 3)):
        body.insert(rng.randint(1, len(body)), rng.choice(pool))
    return rewrite_facts("\n".join([title, *body]), rng) + "\n"


def make_corpus(out: Path, n: int, seeds: Path = Path("seeds"), seed: int = 0) -> int:
    """Write ``n`` articles to ``out`` (created); returns the bytes of article text written."""
    articles = read_seeds(seeds)
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(n):
        text = make_article(articles, random.Random(f"{seed}:{i}"))
        (out / f"{i:07d}.txt").write_text(text, encoding="utf-8")
        total += len(text.encode("utf-8"))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("-n", type=int, default=1000, help="number of articles [1000]")
    parser.add_argument("--seeds", type=Path, default=Path("seeds"), help="folder of seed articles [seeds]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    size = make_corpus(args.out, args.n, args.seeds, args.seed)
    print(f"wrote {args.n} articles ({size / 1e6:.1f} MB) to {args.out}")


if __name__ == "__main__":
    main()
