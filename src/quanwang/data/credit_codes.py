"""The unified social credit code (统一社会信用代码, GB 32100-2015) and its check character.

18 characters from CHARSET (the digits and the capitals without I, O, S, V, Z): the
registration authority, the kind of organisation, the area code, the organisation code and,
last, a check character over the first 17: weight W_i = 3^i mod 31, C18 = 31 - (Σ C_i W_i
mod 31), 31 written as 0. The importer checks the same rule in SQL (`credit_code_sql`).
"""

from __future__ import annotations

from quanwang.data.warehouse import sql_literal

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
PATTERN = "[0-9A-HJ-NPQRTUWXY]{18}"
LENGTH = 18


def check_character(first17: str) -> str:
    """The check character of the code's first 17 characters (ValueError for any other)."""
    if len(first17) != LENGTH - 1 or any(ch not in CHARSET for ch in first17):
        raise ValueError(f"not 17 characters of {CHARSET}: {first17!r}")
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """Whether `code` (as stored: capitals, no spaces) is a well-formed code."""
    if len(code) != LENGTH or any(ch not in CHARSET for ch in code):
        return False
    return check_character(code[:17]) == code[17]


def credit_code_sql(text: str) -> str:
    """SQL for the code in capitals without spaces, where its check character is right; NULL
    otherwise. Lower-case letters and full-width characters are read as what they write."""
    norm = f"upper(regexp_replace(nfc_normalize({_half_width(text)}), '[\\s-]', '', 'g'))"
    total = " + ".join(
        f"(strpos({sql_literal(CHARSET)}, substr(v, {i + 1}, 1)) - 1) * {w}"
        for i, w in enumerate(WEIGHTS)
    )
    check = f"substr({sql_literal(CHARSET)}, ((31 - ({total}) % 31) % 31) + 1, 1)"
    # A one-element list's lambda names the normalised text once, not in each of 18 terms
    # (a scalar subquery would be correlated, and planned as a join).
    well_formed = f"regexp_full_match(v, {sql_literal(PATTERN)})"
    return (
        f"list_transform([{norm}], lambda v: CASE WHEN {well_formed} "
        f"AND substr(v, 18, 1) = {check} THEN v END)[1]"
    )


def _half_width(text: str) -> str:
    # Full-width digits and capitals (０-９, Ａ-Ｚ, ａ-ｚ) as the plain ones: some exports type
    # the code in full-width characters.
    wide = (
        "".join(chr(0xFF10 + i) for i in range(10))
        + "".join(chr(0xFF21 + i) for i in range(26))
        + "".join(chr(0xFF41 + i) for i in range(26))
    )
    plain = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return f"translate({text}, {sql_literal(wide)}, {sql_literal(plain)})"
