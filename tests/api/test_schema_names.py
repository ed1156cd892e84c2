"""Every schema of the API has a name of its own: the OpenAPI document keeps one component per
name, so a second schema of the same name (a store's RevealOut beside the staff's) silently
replaces the first and clients validate one operation's answer against the other's."""

from __future__ import annotations

from ninja import Schema

import quanwang.api  # noqa: F401 (every app's router, and so every schema, is loaded)


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_api_schema_has_a_name_of_its_own() -> None:
    # Given every schema the project defines
    ours = [s for s in _subclasses(Schema) if s.__module__.startswith("quanwang.")]
    by_name: dict[str, set[str]] = {}
    for schema in ours:
        by_name.setdefault(schema.__name__, set()).add(f"{schema.__module__}.{schema.__qualname__}")

    # Then no two share a name
    assert ours
    assert {name: where for name, where in by_name.items() if len(where) > 1} == {}
