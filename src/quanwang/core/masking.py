"""Masking of personal data for display: 138****5678 by default."""

from __future__ import annotations

from quanwang.core.choices import PiiKind


def _keep_ends(value: str, *, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        keep = max(1, len(value) // 3)
        return value[:keep] + "*" * (len(value) - keep)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask(value: str | None, kind: PiiKind) -> str:
    """Return a display form of `value` that does not identify the person."""
    if not value:
        return ""
    if kind is PiiKind.MSISDN:
        digits = value.strip()
        if len(digits) >= 11:
            return digits[:-8] + "****" + digits[-4:]
        return _keep_ends(digits, head=2, tail=2)
    if kind is PiiKind.NAME:
        return value[0] + "*" * (len(value) - 1) if len(value) > 1 else "*"
    if kind is PiiKind.ID_NUMBER:
        return _keep_ends(value, head=6, tail=4)
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else _keep_ends(value, head=1, tail=0)
