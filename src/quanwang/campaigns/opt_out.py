"""Reading an inbound SMS reply: an opt-out (退订), an acceptance, or a reply a person must read.

Customers do not type keywords the way a regular expression expects: `退订。`, `ＴＤ` (full
width from a Chinese input method), `TD退订`, `td.`, `TD 谢谢`, `t d`. A missed opt-out is a
PIPL and MIIT compliance breach, so the reply is normalised first and anything that may be an
opt-out but is not clearly one goes to a person (the review list), never to the floor.

1. Normalise: NFKC (full width to ASCII), case folded, every punctuation mark, symbol, space
   and control character made a space, and a space put between Latin letters/digits and other
   scripts, so `TD退订` reads as the two words `td 退订`.
2. Drop politeness: the words `thanks`, `thank you`, `please`, `hi`…; in Chinese, a greeting or
   request in front (`您好`, `请`, `帮我`, `我要`…) and thanks or a particle behind (`谢谢`,
   `谢了`, `吧`, `了`…), so `请帮我退订` and `不要再发了` leave `退订` and `不要再发`.
3. Opt-out when what is left is only keywords (`TD TD`, `退订退订`), a keyword spelled out
   (`t d`, `退 订`), or when a Latin keyword of two or more characters stands anywhere as a
   word (`TD` has no other meaning in a reply to a marketing SMS).
4. Review when the reply holds a keyword or a hint with other content: a one-letter keyword
   as a word (`T恤多少钱`), a Chinese keyword or hint anywhere (`退` in `退款`, `不要`, `停`,
   `别发`, `投诉`…, `我不想退订`), an English hint (`stop`, `unsubscribe`).
5. Acceptance when what is left, thanks dropped, is one of `Y`, `YES`, `是`, `好`, `1`.

The keywords are the setting QUANWANG_OPT_OUT_WORDS (a JSON list); `TD` and `退订`, the forms
every operator must honour, always count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_OPT_OUT_WORDS = ("TD", "T", "N", "R", "退订", "退", "取消", "不要再发", "拒收")
#: Honoured whatever the setting says: the 106 short-message rules require them.
ALWAYS_OPT_OUT = ("TD", "退订")
#: Parts of a reply that may mean "stop" without being a clear opt-out: a person decides.
REVIEW_HINTS = (
    "退", "不要", "停", "别发", "别再", "勿扰", "骚扰", "投诉", "举报", "拉黑", "屏蔽", "拒",
    "stop", "unsubscribe", "unsub", "cancel", "quit", "remove",
)  # fmt: skip
ACCEPT_WORDS = frozenset({"y", "yes", "是", "好", "1"})
LATIN_POLITE = frozenset({"thanks", "thank", "thx", "please", "pls", "plz", "hi", "hello"})
#: Longest first, so that 谢谢你 goes before 谢谢.
CJK_PREFIXES = (
    "您好", "你好", "麻烦", "帮我", "给我", "我要", "我想", "我需要", "申请", "马上", "立即",
    "立刻", "请", "要",
)  # fmt: skip
CJK_SUFFIXES = (
    "谢谢你", "谢谢您", "麻烦了", "谢谢", "谢了", "多谢", "感谢", "吧", "了", "啦", "呀", "哦",
    "噢", "嗯",
)  # fmt: skip
#: A run of text longer than this is not a keyword with politeness around it.
LONGEST_CORE = 32
_LATIN = re.compile(r"[a-z0-9]+")


class ReplyIntent(models.TextChoices):
    OPT_OUT = "opt_out", _("Opt-out")
    REVIEW = "review", _("May be an opt-out")
    ACCEPT = "accept", _("Acceptance")
    NONE = "none", _("Nothing to do")


def normalise_reply(text: str) -> str:
    """The reply as space-separated words: NFKC, case folded, punctuation as spaces, a space
    between Latin letters or digits and any other script."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Case folding can leave a form NFKC changes again (e.g. a ligature's letters).
    folded = unicodedata.normalize("NFKC", folded)
    chars = []
    for char in folded:
        kind = unicodedata.category(char)[0]
        chars.append(" " if kind in "PSZC" else char)
    spaced = _LATIN.sub(lambda m: f" {m.group(0)} ", "".join(chars))
    return " ".join(spaced.split())


@dataclass(frozen=True)
class Vocabulary:
    """The keywords, normalised: Latin words (`td`, `0000`) and other-script ones (`退订`)."""

    latin: frozenset[str]
    other: frozenset[str]

    @classmethod
    def of(cls, words: Iterable[str]) -> Vocabulary:
        compact = {normalise_reply(w).replace(" ", "") for w in (*words, *ALWAYS_OPT_OUT)}
        compact.discard("")
        latin = frozenset(w for w in compact if _LATIN.fullmatch(w))
        return cls(latin=latin, other=frozenset(compact - latin))

    def is_keyword(self, word: str) -> bool:
        """A Latin keyword as the whole word, or other-script keywords one after another."""
        if _LATIN.fullmatch(word):
            return word in self.latin
        return _concatenation(word, self.other)


@lru_cache(maxsize=4096)
def _concatenation(word: str, pieces: frozenset[str]) -> bool:
    """Whether `word` is one or more of `pieces` one after another (退订, 退订退订, 取消退订)."""
    if not word or len(word) > LONGEST_CORE:
        return False
    reachable = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        reachable[end] = any(
            reachable[end - len(p)] and word.endswith(p, 0, end) for p in pieces if len(p) <= end
        )
    return reachable[-1]


def _core(run: str, vocabulary: Vocabulary) -> str:
    """A run of Chinese text without the politeness around it; "" when it was only that."""
    if len(run) > LONGEST_CORE:
        return run
    while run and not vocabulary.is_keyword(run):
        suffix = next((s for s in CJK_SUFFIXES if run.endswith(s)), None)
        prefix = next((p for p in CJK_PREFIXES if run.startswith(p)), None)
        if suffix:
            run = run[: -len(suffix)]
        elif prefix:
            run = run[len(prefix) :]
        else:
            break
    return run


def _without_politeness(words: Sequence[str], vocabulary: Vocabulary) -> list[str]:
    kept: list[str] = []
    for index, word in enumerate(words):
        if _LATIN.fullmatch(word):
            after_thank = word == "you" and index > 0 and words[index - 1] == "thank"
            if word not in LATIN_POLITE and not after_thank:
                kept.append(word)
        elif core := _core(word, vocabulary):
            kept.append(core)
    return kept


def classify_reply(text: str, *, words: Iterable[str]) -> ReplyIntent:
    """What an inbound reply asks for, with `words` as the opt-out keywords."""
    words = tuple(words)
    vocabulary = Vocabulary.of(words)
    tokens = normalise_reply(text).split()
    core = _without_politeness(tokens, vocabulary)
    spelled = bool(core) and all(len(w) == 1 for w in core)
    if core and (
        all(vocabulary.is_keyword(w) for w in core)
        or (spelled and vocabulary.is_keyword("".join(core)))
    ):
        return ReplyIntent.OPT_OUT
    if any(len(w) > 1 and w in vocabulary.latin for w in tokens):
        return ReplyIntent.OPT_OUT
    # Hints: the keywords, the default ones too (a word an operator left out of the setting
    # may still be meant as 退订), and REVIEW_HINTS.
    hints = Vocabulary.of((*words, *DEFAULT_OPT_OUT_WORDS, *REVIEW_HINTS))
    compact = "".join(tokens)
    if any(w in hints.latin for w in tokens) or any(h in compact for h in hints.other):
        return ReplyIntent.REVIEW
    # Thanks dropped, but no particle: "好了" may be "enough!" rather than a yes.
    answer = [w for w in tokens if not _LATIN.fullmatch(w) or w not in LATIN_POLITE]
    answer = [w for w in answer if _LATIN.fullmatch(w) or _core(w, vocabulary)]
    if len(answer) == 1 and answer[0] in ACCEPT_WORDS:
        return ReplyIntent.ACCEPT
    return ReplyIntent.NONE


def opt_out_words() -> tuple[str, ...]:
    """settings.QUANWANG_OPT_OUT_WORDS, checked; TD and 退订 are added when left out."""
    given = getattr(settings, "QUANWANG_OPT_OUT_WORDS", DEFAULT_OPT_OUT_WORDS)
    if (
        not isinstance(given, list | tuple)
        or not given
        or not all(isinstance(w, str) and normalise_reply(w) for w in given)
    ):
        raise ImproperlyConfigured(
            "QUANWANG_OPT_OUT_WORDS: expected a JSON list of words, such as "
            '["TD", "T", "N", "R", "退订", "退", "取消", "不要再发", "拒收"]; '
            f"got {given!r}"
        )
    return (*given, *(w for w in ALWAYS_OPT_OUT if w not in given))
