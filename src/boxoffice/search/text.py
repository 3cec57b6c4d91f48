"""Query language and text folding shared by both engines.

Users type words, ``"quoted phrases"`` and ``-exclusions``. Everything else (operators of the
engines' own syntaxes, punctuation, SQL) is not syntax here: words are runs of letters and
digits, so a hostile query can only ever become a list of harmless words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_TERMS = 12

# PostgreSQL's English stop words (tsearch_data/english.stop): dropped from queries on both
# engines, so that a word like "the" or "or" means the same everywhere (inside a quoted phrase
# they stay, as position fillers).
STOP_WORDS = frozenset(
    {
        "i",
        "me",
        "my",
        "myself",
        "we",
        "our",
        "ours",
        "ourselves",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "he",
        "him",
        "his",
        "himself",
        "she",
        "her",
        "hers",
        "herself",
        "it",
        "its",
        "itself",
        "they",
        "them",
        "their",
        "theirs",
        "themselves",
        "what",
        "which",
        "who",
        "whom",
        "this",
        "that",
        "these",
        "those",
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "a",
        "an",
        "the",
        "and",
        "but",
        "if",
        "or",
        "because",
        "as",
        "until",
        "while",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "in",
        "out",
        "on",
        "off",
        "over",
        "under",
        "again",
        "further",
        "then",
        "once",
        "here",
        "there",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "s",
        "t",
        "can",
        "will",
        "just",
        "don",
        "should",
        "now",
    }
)

_WORD = re.compile(r"\w+", re.UNICODE)
# A quoted phrase (the closing quote may be missing), or a bare token, either possibly negated.
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')


def fold(text: str) -> str:
    """Accent- and case-folded text with single spaces: "Café  Zürich" -> "cafe zurich"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().split())


def words(text: str) -> list[str]:
    """The folded words of a text: runs of letters and digits."""
    return _WORD.findall(fold(text).replace("_", " "))


def search_key(text: str) -> str:
    """What titles and cities are compared by: "St. Louis (MO)" -> "st louis mo"."""
    return " ".join(words(text))


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """``required`` and ``excluded`` hold phrases: a tuple of words each (one word = a term)."""

    required: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, ...], ...]

    @property
    def is_empty(self) -> bool:
        return not self.required and not self.excluded

    def websearch(self) -> str:
        """The query in PostgreSQL's ``websearch_to_tsquery`` syntax, rebuilt from clean words.
        Every term is quoted, so a word such as "or" is never read as an operator."""
        parts = [_websearch_phrase(phrase) for phrase in self.required]
        parts += ["-" + _websearch_phrase(phrase) for phrase in self.excluded]
        return " ".join(parts)

    def fts5(self) -> tuple[str | None, str | None]:
        """(match expression for required phrases, one for excluded ones) in FTS5 syntax."""
        required = " AND ".join(_fts5_phrase(phrase) for phrase in self.required) or None
        excluded = " OR ".join(_fts5_phrase(phrase) for phrase in self.excluded) or None
        return required, excluded


def _websearch_phrase(phrase: tuple[str, ...]) -> str:
    return '"' + " ".join(phrase) + '"'


def _fts5_phrase(phrase: tuple[str, ...]) -> str:
    # Words are \w+ only, so they never contain a double quote.
    return '"' + " ".join(phrase) + '"'


def parse_query(text: str) -> ParsedQuery:
    required: list[tuple[str, ...]] = []
    excluded: list[tuple[str, ...]] = []
    for match in _TOKEN.finditer(text):
        if match.group(2) is not None:
            negated, body = match.group(1) == "-", match.group(2)
        else:
            negated, body = match.group(3) == "-", match.group(4)
        quoted = match.group(2) is not None
        found = words(body)
        if quoted and len(found) > 1:
            phrases = [tuple(found)]
        else:
            # "rock&roll" or "o'neil": an unquoted token that splits into words is several terms.
            phrases = [(word,) for word in found if word not in STOP_WORDS]
        for phrase in phrases:
            if len(required) + len(excluded) >= MAX_TERMS:
                break
            (excluded if negated else required).append(phrase)
    return ParsedQuery(tuple(dict.fromkeys(required)), tuple(dict.fromkeys(excluded)))


def within_one_edit(a: str, b: str) -> bool:
    """Optimal string alignment distance of at most one (a swap of neighbours counts as one)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def swaps_and_deletions(word: str) -> set[str]:
    """The words one swap of neighbours or one deleted letter away ("brelin" -> "berlin"): the
    typos that trigram similarity scores too low to find."""
    swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    deletions = {word[:i] + word[i + 1 :] for i in range(len(word))}
    return (swaps | deletions) - {word}


def tolerant_match(prefix: str, key: str) -> int | None:
    """How well a typed prefix matches a folded key: 0 the key starts with it, 1 a later word
    of the key starts with it, 2 a word (or a word's start) is one typo away; None no match."""
    if key.startswith(prefix):
        return 0
    if (" " + prefix) in (" " + key):
        return 1
    key_words = key.split()
    if len(prefix) < 4:
        return None
    for word in key_words:
        if within_one_edit(prefix, word) or within_one_edit(prefix, word[: len(prefix)]):
            return 2
    return None
