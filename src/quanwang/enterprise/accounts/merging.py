"""How other parts take part in a merge of account B into account A, without accounts
importing them (like enterprise.sections).

A part registers, on import of its `job_handlers` module (which the enterprise app imports in
`ready`):

    from quanwang.enterprise.accounts.merging import merge_check, on_merge

    @on_merge("persons")
    def repoint(*, survivor: Account, merged: Account) -> dict[str, int]:
        # re-point this part's rows from `merged` to `survivor`, inside the merge's
        # transaction; return what moved, e.g. {"roles": 3}. Must be idempotent.
        ...

    @merge_check("pipeline")
    def refuse(*, survivor: Account, merged: Account, user) -> str | None:
        # a reason to refuse the merge (shown to the user), or None
        ...

The merge (enterprise.accounts.services.merge) runs every check first, then every hook in
registration order, in one transaction with both accounts locked. A row a part leaves on the
merged account stays readable: the merged account keeps its page, with `merged_into` naming
the survivor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from quanwang.enterprise.models import Account


class OnMerge(Protocol):
    def __call__(self, *, survivor: Account, merged: Account) -> dict[str, int]: ...


class MergeCheck(Protocol):
    def __call__(self, *, survivor: Account, merged: Account, user: Any) -> str | None: ...


_HOOKS: dict[str, OnMerge] = {}
_CHECKS: dict[str, MergeCheck] = {}


def on_merge(part: str) -> Callable[[OnMerge], OnMerge]:
    """Register `hook(survivor=..., merged=...)` as `part`'s re-pointing step (once per part)."""

    def register(hook: OnMerge) -> OnMerge:
        _HOOKS[part] = hook
        return hook

    return register


def merge_check(part: str) -> Callable[[MergeCheck], MergeCheck]:
    """Register `check(survivor=..., merged=..., user=...)` as `part`'s refusal check."""

    def register(check: MergeCheck) -> MergeCheck:
        _CHECKS[part] = check
        return check

    return register


def hooks() -> dict[str, OnMerge]:
    return dict(_HOOKS)


def checks() -> dict[str, MergeCheck]:
    return dict(_CHECKS)
