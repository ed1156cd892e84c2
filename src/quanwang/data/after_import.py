"""What other apps keep in step with a warehouse table once an import of it has committed,
e.g. the channels app's store file (channels.stores.sync) after the `stores` table.

Apps register in their `AppConfig.ready`; the import job runs the hooks of its table after the
new version is current and adds what each reports to the job's result. data never imports the
apps downstream of it.
"""

from __future__ import annotations

from collections.abc import Callable

Hook = Callable[[], dict[str, str]]

_HOOKS: dict[str, dict[str, Hook]] = {}


def after_import(table: str, name: str) -> Callable[[Hook], Hook]:
    """Register `hook()` to run after each committed import of `table`, once per name."""

    def register(hook: Hook) -> Hook:
        _HOOKS.setdefault(table, {})[name] = hook
        return hook

    return register


def run_after_import(table: str) -> dict[str, str]:
    """Run the hooks of `table`; each reports, for the job's result, what it did or why it
    could not (the import itself stands either way)."""
    report: dict[str, str] = {}
    for hook in _HOOKS.get(table, {}).values():
        report |= hook()
    return report
