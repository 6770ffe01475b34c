"""BM25 over jieba tokens (bm25s scores with sparse matrices: milliseconds at 64k clauses)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import bm25s
import jieba
import jieba.posseg
import numpy as np
import numpy.typing as npt

from rag.departments import known_department_names
from rag.vocabulary import ASKING, INTENT_WORDS, STOPWORDS

jieba.setLogLevel(logging.WARNING)

_TOKEN_KEEP = re.compile(r"[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff%]")
# Function characters jieba's guesser glues onto an unknown word: before it (共治要, 货都, 标才) or, in spoken
# questions, after it (要考, 能查, 我想, 老说). A guess holding one is no word of the question.
_GLUED_ENDINGS = frozenset("要是了的在有就也都会吗呢吧想才")
_GLUED_OPENINGS = frozenset("能要想就还会再先来去被没只都也我老有按在")
# Asking words jieba's guesser glues onto the verb after them (哪天发 of "哪天发的？", 什么时候出): split off, the
# ask is no word of any clause.
_GLUED_ASKS = tuple(sorted((w for w in STOPWORDS | INTENT_WORDS if len(w) >= 2 and ASKING.search(w)),
                           key=len, reverse=True))


_LATIN = re.compile(r"[a-z]")
_ANY_LATIN = re.compile(r"[A-Za-z]")


def holds_term(text: str, term: str) -> bool:
    """Whether `text` holds `term`, a word of the tokenizer, which lower-cases: a document's "CCC" holds the
    question's "ccc". Only a term with Latin letters needs `text` lower-cased."""
    return term in text or (bool(_LATIN.search(term)) and term in text.lower())


class TermCounts:
    """How many of `texts` hold a question word (as `holds_term`), one scan per word. A word with Latin letters
    can only be in the texts that hold any: those few are kept lower-cased, so that “ccc” costs no lower-casing
    of 68k clauses (275 ms)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = texts
        self._counts: dict[str, int] = {}

    def __call__(self, term: str) -> int:
        if term not in self._counts:
            pool = self._latin_texts if _LATIN.search(term) else self._texts
            self._counts[term] = sum(term in text for text in pool)
        return self._counts[term]

    @cached_property
    def _latin_texts(self) -> list[str]:
        """Found at the first Latin word (160 ms at 68k clauses), not before every index's first question."""
        return [text.lower() for text in self._texts if _ANY_LATIN.search(text)]


class JiebaTokenizer:
    """Search-mode jieba with a user dictionary of department names and corpus terms."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        self._jieba = jieba.Tokenizer()
        for word in [*known_department_names(), *extra_words]:
            if 2 <= len(word) <= 20:
                self._jieba.add_word(word, freq=20_000)

    def tokenize(self, text: str) -> list[str]:
        tokens = [piece for token in self._jieba.lcut_for_search(text.lower()) for piece in self._unglued(token)]
        return [t for t in tokens if t.strip() and t not in STOPWORDS and _TOKEN_KEEP.search(t)]

    def _unglued(self, token: str) -> tuple[str, ...]:
        """A word jieba guessed (not in its dictionary) with function characters stuck on either end, split
        off: 共治要 of "推进质量共治要做哪些事" is 共治 + 要, as the clause's "推进质量共治。" is tokenised, and 要考 of
        "叉车司机要考什么证" is 要 + 考, no word of its own."""
        if len(token) < 2 or token in self._jieba.FREQ:
            return (token,)
        if token[0] in _GLUED_OPENINGS:
            return token[0], *self._unglued(token[1:])
        ask = next((w for w in _GLUED_ASKS if token.startswith(w) and len(token) > len(w)), "")
        if ask:
            return ask, *self._unglued(token[len(ask):])
        if token[-1] in _GLUED_ENDINGS:
            return *self._unglued(token[:-1]), token[-1]
        return (token,)

    def segment(self, text: str) -> list[str]:
        """Every piece of `text` once, in order (precise mode): "".join(segment(t)) == t."""
        return self._jieba.lcut(text)

    @cached_property
    def _tagger(self) -> jieba.posseg.POSTokenizer:
        """Parts of speech over this dictionary, loaded at the first question that needs one (its table of tags
        takes a second and some tens of MB)."""
        return jieba.posseg.POSTokenizer(self._jieba)

    def names_a_thing(self, word: str) -> bool:
        """Whether `word`, or a piece of it, is a noun: 项目经理, 不锈钢, 石材 — not 眼下, 长远, 本身, 少搞."""
        return any(pair.flag.startswith("n") for pair in self._tagger.lcut(word))

    def knows(self, word: str) -> bool:
        """Whether `word` is in the dictionary, not a guess of jieba's (which glues 官对 in "质量官对学历")."""
        return bool(self._jieba.FREQ.get(word))


@lru_cache(maxsize=4)
def shared_tokenizer(extra_words: tuple[str, ...] = ()) -> JiebaTokenizer:
    """Loading jieba's dictionary takes about a second: share one tokenizer per word list."""
    return JiebaTokenizer(extra_words)


class Bm25LexicalIndex:
    """BM25 scores for every clause; rows line up with the clause list of the index."""

    def __init__(self, tokenizer: JiebaTokenizer, model: bm25s.BM25 | None = None) -> None:
        self.tokenizer = tokenizer
        self._model = model

    def build(self, texts: Sequence[str]) -> None:
        self.build_tokens([self.tokenizer.tokenize(text) for text in texts])

    def build_tokens(self, token_lists: Sequence[list[str]]) -> None:
        """Index texts this index's tokenizer has already tokenized."""
        self._model = bm25s.BM25()
        self._model.index([tokens or ["∅"] for tokens in token_lists], show_progress=False)

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """BM25 score of every clause for `query` (zeros when no query token is in the corpus)."""
        if self._model is None:
            raise ValueError("lexical index is empty: build or load it first")
        tokens = self.tokenizer.tokenize(query)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)

    @property
    def size(self) -> int:
        return 0 if self._model is None else int(self._model.scores["num_docs"])

    def save(self, directory: Path) -> None:
        if self._model is None:
            raise ValueError("nothing to save: the lexical index was never built")
        self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, tokenizer: JiebaTokenizer) -> Bm25LexicalIndex:
        model = bm25s.BM25.load(str(directory), show_progress=False)
        return cls(tokenizer, model)


def save_user_words(words: Sequence[str], path: Path) -> None:
    path.write_text(json.dumps(sorted(set(words)), ensure_ascii=False), encoding="utf-8")


def load_user_words(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        return ()
    return tuple(json.loads(path.read_text(encoding="utf-8")))


class ClauseBm25:
    """BM25 over each clause's text and, as a second field, its headings (title, chapter, departments).

    Rows line up with the clause list the fields were built from; `user_words` (clause titles) join the
    tokenizer's dictionary, so a query tokenizes the way the clauses did.
    """

    def __init__(self, text: Bm25LexicalIndex, headings: Bm25LexicalIndex, user_words: Sequence[str]) -> None:
        self.text = text
        self.headings = headings
        self.user_words = tuple(user_words)

    @classmethod
    def build(cls, texts: Sequence[str], headings: Sequence[str], user_words: Sequence[str]) -> ClauseBm25:
        tokenizer = shared_tokenizer(tuple(user_words))
        return cls.from_tokens([tokenizer.tokenize(t) for t in texts], [tokenizer.tokenize(h) for h in headings],
                               user_words)

    @classmethod
    def from_tokens(cls, texts: Sequence[list[str]], headings: Sequence[list[str]],
                    user_words: Sequence[str]) -> ClauseBm25:
        """From token lists that `shared_tokenizer(user_words)` produced."""
        tokenizer = shared_tokenizer(tuple(user_words))
        text_index, heading_index = Bm25LexicalIndex(tokenizer), Bm25LexicalIndex(tokenizer)
        text_index.build_tokens(texts)
        heading_index.build_tokens(headings)
        return cls(text_index, heading_index, user_words)

    @property
    def sizes(self) -> tuple[int, int]:
        return self.text.size, self.headings.size

    def scores(self, query: str, *, heading_weight: float) -> npt.NDArray[np.float32]:
        """BM25 of every row: clause text plus `heading_weight` × the headings field."""
        scores = self.text.scores(query)
        if heading_weight:
            scores = scores + heading_weight * self.headings.scores(query)
        return scores

    def save(self, directory: Path) -> None:
        """Into `directory`/lexical, /headings and /words.json."""
        self.text.save(directory / "lexical")
        self.headings.save(directory / "headings")
        save_user_words(self.user_words, directory / "words.json")

    @classmethod
    def load(cls, directory: Path) -> ClauseBm25:
        words = load_user_words(directory / "words.json")
        tokenizer = shared_tokenizer(words)
        return cls(Bm25LexicalIndex.load(directory / "lexical", tokenizer),
                   Bm25LexicalIndex.load(directory / "headings", tokenizer), words)


def top_scores(scores: npt.NDArray[np.floating], depth: int) -> list[tuple[int, float]]:
    """The `depth` best-scoring rows with a positive score, best first, as (row, score)."""
    depth = min(depth, len(scores))
    if depth <= 0:
        return []
    top = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(row), float(scores[row])) for row in top if scores[row] > 0]
