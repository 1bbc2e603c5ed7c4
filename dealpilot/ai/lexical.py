"""A small word model for the replies the rules cannot place: a naive Bayes over words and
word pairs, trained on the tuning part of the labelled set that ships with the package
(evalset/tuning.jsonl; never on the held-out part).

It only ever guesses between a person's three everyday answers (interested, not interested,
a question), and its guesses are given a confidence below the review threshold: the deal
waits for a person, who sees the guess, instead of acting on it.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dealpilot.ai.mailtext import html_to_text, strip_quoted

TRAINING = Path(__file__).parent / "evalset" / "tuning.jsonl"
CLASSES = ("interested", "not_interested", "question")
_WORD = re.compile(r"[a-z']+|\?")


def features(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


@dataclass(frozen=True)
class WordModel:
    priors: dict[str, float]
    counts: dict[str, Counter[str]]
    totals: dict[str, int]
    vocabulary: int

    def posteriors(self, text: str) -> dict[str, float]:
        feats = features(text)
        logs = {}
        for c in CLASSES:
            log = math.log(self.priors[c])
            denominator = self.totals[c] + self.vocabulary
            for f in feats:
                log += math.log((self.counts[c][f] + 1) / denominator)
            logs[c] = log
        top = max(logs.values())
        weights = {c: math.exp(v - top) for c, v in logs.items()}
        total = sum(weights.values())
        return {c: w / total for c, w in weights.items()}

    def guess(self, text: str) -> tuple[str, float]:
        post = self.posteriors(text)
        best = max(CLASSES, key=lambda c: post[c])
        return best, post[best]


def train(rows: list[dict[str, object]]) -> WordModel:
    counts: dict[str, Counter[str]] = {c: Counter() for c in CLASSES}
    docs: Counter[str] = Counter()
    for row in rows:
        intent = row.get("intent")
        if intent not in CLASSES:
            continue
        text = strip_quoted(html_to_text(str(row.get("text", ""))))
        counts[str(intent)].update(features(text))
        docs[str(intent)] += 1
    n = sum(docs.values())
    vocabulary = len(set().union(*counts.values()))
    return WordModel(
        priors={c: (docs[c] + 1) / (n + len(CLASSES)) for c in CLASSES},
        counts=counts,
        totals={c: sum(counts[c].values()) for c in CLASSES},
        vocabulary=vocabulary,
    )


@cache
def shipped_model() -> WordModel:
    """Trained once per process from the shipped tuning part (a few milliseconds)."""
    lines = TRAINING.read_text(encoding="utf-8").splitlines()
    return train([json.loads(line) for line in lines if line.strip()])
