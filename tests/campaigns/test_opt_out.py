"""Reading an SMS reply: opt-outs (退订) in the forms customers type them, ambiguous replies held
for a person, never dropped."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from quanwang.campaigns.opt_out import (
    DEFAULT_OPT_OUT_WORDS,
    REVIEW_HINTS,
    ReplyIntent,
    classify_reply,
    normalise_reply,
    opt_out_words,
)

WORDS = DEFAULT_OPT_OUT_WORDS
LATIN = [w for w in WORDS if w.isascii()]
CJK = [w for w in WORDS if not w.isascii()]
PUNCTUATION = " \t\u3000.,!?;:~-。，！？；：、…“”\"'()（）【】《》·"
POLITE_AFTER = ["", "谢谢", "谢了", "谢谢你", "多谢", "thanks", "thank you", "Thanks!", "谢谢！"]
POLITE_BEFORE = ["", "你好", "您好", "请", "hi", "您好，请"]


def _full_width(text: str) -> str:
    """The text as a Chinese input method may type it: ASCII in full width."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _joined(*parts: str) -> str:
    """The parts one after another; two Latin words never run into one."""

    def latin(char: str) -> bool:
        char = unicodedata.normalize("NFKC", char)
        return char.isascii() and char.isalnum()

    text = ""
    for part in parts:
        if latin(text[-1:]) and latin(part[:1]):
            text += " "
        text += part
    return text


@st.composite
def keyword_replies(draw: st.DrawFn) -> str:
    """A keyword in any case or width, in any punctuation, with polite words around it."""
    word = draw(st.sampled_from(WORDS))
    word = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in word)
    if draw(st.booleans()):
        word = _full_width(word)
    space = st.text(alphabet=PUNCTUATION, max_size=3)
    return _joined(
        draw(st.sampled_from(POLITE_BEFORE)), draw(space), word, draw(space),
        draw(st.sampled_from(POLITE_AFTER)), draw(space),
    )  # fmt: skip


@pytest.mark.parametrize("text", ["退订。", "ＴＤ", "TD退订", "td.", "TD 谢谢", "t d"])
def test_the_replies_missed_before_opt_out(text: str) -> None:
    assert classify_reply(text, words=WORDS) is ReplyIntent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["T", "n", "R", "退", "取消", "不要再发了", "不要再发了，谢谢", "请退订", "我要退订", "退订吧",
     "拒收", "T。", "Td!", "【退订】", "TD TD", "退订退订", "您好，请帮我退订，谢谢！", "Ｔ Ｄ"],
)  # fmt: skip
def test_the_usual_forms_opt_out(text: str) -> None:
    assert classify_reply(text, words=WORDS) is ReplyIntent.OPT_OUT


@given(keyword_replies())
def test_a_keyword_with_punctuation_and_polite_words_opts_out(text: str) -> None:
    assert classify_reply(text, words=WORDS) is ReplyIntent.OPT_OUT


@given(
    st.sampled_from([w for w in LATIN if len(w) > 1]),
    st.lists(st.text(min_size=1, max_size=8), max_size=4),
    st.lists(st.text(min_size=1, max_size=8), max_size=4),
)
def test_a_latin_keyword_as_a_word_anywhere_opts_out(
    word: str, before: list[str], after: list[str]
) -> None:
    # Given the keyword as a word: a space on each side, whatever else the reply says
    text = " ".join([*before, word, *after])

    assert classify_reply(text, words=WORDS) is ReplyIntent.OPT_OUT


@given(st.text(max_size=40))
def test_a_reply_that_may_be_an_opt_out_is_never_dropped(text: str) -> None:
    # Given any reply at all
    intent = classify_reply(text, words=WORDS)

    # Then one that holds a Chinese keyword or hint (退, 不要, 停…) anywhere, or a keyword as a
    # word, is an opt-out or goes to a person: it is never ignored nor taken as a yes
    normal = normalise_reply(text)
    tokens = normal.split()
    if any(h in normal for h in [*CJK, *REVIEW_HINTS] if not h.isascii()) or any(
        t in [w.casefold() for w in LATIN] for t in tokens
    ):
        assert intent in {ReplyIntent.OPT_OUT, ReplyIntent.REVIEW}


@pytest.mark.parametrize(
    "text",
    ["退款", "我不想退订", "不要", "停", "别发了", "T恤多少钱", "N多优惠吗", "退订会扣费吗",
     "取消了吗？我没办", "stop", "Y 退订"],
)  # fmt: skip
def test_an_ambiguous_reply_goes_to_review(text: str) -> None:
    assert classify_reply(text, words=WORDS) is ReplyIntent.REVIEW


@pytest.mark.parametrize("text", ["Y", "ｙｅｓ", "是", "好", "1", "好。", "Y 谢谢"])
def test_an_acceptance_is_read_the_same_forgiving_way(text: str) -> None:
    assert classify_reply(text, words=WORDS) is ReplyIntent.ACCEPT


@pytest.mark.parametrize("text", ["", "   ", "明天打给我", "谢谢", "多少钱", "TDX", "tea"])
def test_other_replies_are_nothing_to_do(text: str) -> None:
    assert classify_reply(text, words=WORDS) is ReplyIntent.NONE


def test_the_word_list_is_a_setting_and_td_and_tuiding_always_count(settings: Any) -> None:
    # Given an operator who honours 0000 and 算了 instead of the default words
    settings.QUANWANG_OPT_OUT_WORDS = ["0000", "算了"]

    words = opt_out_words()

    assert classify_reply("００００", words=words) is ReplyIntent.OPT_OUT
    assert classify_reply("算了吧，谢谢", words=words) is ReplyIntent.OPT_OUT
    # the two forms every operator must honour stay, whatever the setting says
    assert classify_reply("TD", words=words) is ReplyIntent.OPT_OUT
    assert classify_reply("退订", words=words) is ReplyIntent.OPT_OUT
    # and a word dropped from the list is still held for review, not ignored
    assert classify_reply("取消", words=words) is ReplyIntent.REVIEW


@pytest.mark.parametrize("value", ["TD", [], ["TD", ""], ["TD", 3], {"words": ["TD"]}])
def test_a_bad_word_list_is_refused_clearly(settings: Any, value: Any) -> None:
    settings.QUANWANG_OPT_OUT_WORDS = value

    with pytest.raises(ImproperlyConfigured, match="QUANWANG_OPT_OUT_WORDS"):
        opt_out_words()
