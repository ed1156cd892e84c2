"""Properties of the rules the enterprise tables add: the GB 32100-2015 check character (in
Python and in the importer's SQL alike), and the hierarchy's cycle finder."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.data.credit_codes import CHARSET, check_character, credit_code_sql, is_valid
from quanwang.data.table_rules import _first_cycle
from quanwang.data.warehouse import sql_literal

FIRST17 = st.text(alphabet=CHARSET, min_size=17, max_size=17)


def _sql(text: str) -> str | None:
    return duckdb.sql(f"SELECT {credit_code_sql(sql_literal(text))}").fetchall()[0][0]  # type: ignore[no-any-return]


def test_a_published_code_is_valid() -> None:
    assert is_valid("91350100M000100Y43")
    assert check_character("91350100M000100Y4") == "3"


@settings(max_examples=200, deadline=None)
@given(first=FIRST17)
def test_property_a_code_with_its_check_character_is_valid_in_python_and_sql(first: str) -> None:
    # Given 17 characters and their check character
    code = first + check_character(first)

    # Then the code is valid, and the importer reads it as itself, in lower case too
    assert is_valid(code)
    assert _sql(code) == code
    assert _sql(f" {code.lower()} ") == code


@settings(max_examples=200, deadline=None)
@given(first=FIRST17, position=st.integers(0, 17), shift=st.integers(1, 30))
def test_property_any_one_changed_character_is_caught(
    first: str, position: int, shift: int
) -> None:
    # Given a valid code with one character replaced by another of the alphabet
    code = first + check_character(first)
    changed = CHARSET[(CHARSET.index(code[position]) + shift) % 31]
    typo = code[:position] + changed + code[position + 1 :]

    # Then neither Python nor the importer takes it
    assert not is_valid(typo)
    assert _sql(typo) is None


@given(text=st.text(max_size=20))
@settings(max_examples=100, deadline=None)
def test_property_sql_and_python_agree_on_any_text(text: str) -> None:
    stored = _sql(text)
    assert stored is None or is_valid(stored)


def _has_cycle(parent_of: dict[str, str]) -> bool:
    for start in parent_of:
        seen, node = set(), start
        while node in parent_of:
            if node in seen:
                return True
            seen.add(node)
            node = parent_of[node]
    return False


@settings(max_examples=300, deadline=None)
@given(
    edges=st.dictionaries(
        st.sampled_from("ABCDEFGHIJ"), st.sampled_from("ABCDEFGHIJKL"), max_size=10
    )
)
def test_property_the_cycle_finder_finds_a_cycle_exactly_when_there_is_one(
    edges: dict[str, str],
) -> None:
    cycle = _first_cycle(edges)

    assert bool(cycle) == _has_cycle(edges)
    # And what it returns is a cycle: each node's parent is the next, the last's the first
    for node, following in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        assert edges[node] == following
