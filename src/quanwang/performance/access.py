"""Who may read which KPI value, target, board, grade or statement: the one rule every part of
the performance app asks, read off the permission table (core.permissions).

Every value belongs to an org unit: a unit's own value to the unit, a store's to its grid, an
enterprise account's to its unit, a staff member's (their personal figures) to the unit the
staff record is held at. A grant of Reach.SUBTREE reads the values of the units below where
the role is held; Reach.OWN reads the user's own staff record's values only. So a grid manager
reads their grid, its stores and the staff held in it, and gets nothing of another grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.permissions import reach
from quanwang.core.querysets import active_assignments
from quanwang.performance.choices import Grain


@dataclass(frozen=True)
class Reader:
    """What one user may read of one resource with one action."""

    #: Subtree paths the user reaches ("/GD/GZ/"); None: everything (a superuser).
    paths: tuple[str, ...] | None
    #: Employee numbers of the user's own staff record(s), readable under Reach.OWN.
    own_employee_nos: frozenset[str] = field(default_factory=frozenset)
    _unit_paths: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def reaches_anything(self) -> bool:
        return self.paths is None or bool(self.paths) or bool(self.own_employee_nos)

    def reaches_path(self, path: str) -> bool:
        return self.paths is None or any(path.startswith(p) for p in self.paths)

    def reaches_unit(self, code: str) -> bool:
        """Whether the unit `code` lies in the user's subtrees."""
        if self.paths is None:
            return True
        path = self._path_of(code)
        return path is not None and self.reaches_path(path)

    def may_read(self, *, grain: Grain | str, key: str, org_unit: str) -> bool:
        """Whether the user may read the value of `key` at `grain`, held at unit `org_unit`
        (for Grain.ORG_UNIT the key itself)."""
        if Grain(grain) is Grain.STAFF and key in self.own_employee_nos:
            return True
        return self.reaches_unit(org_unit or key)

    def unit_codes(self) -> set[str] | None:
        """Codes of every unit in reach (None: all); for filtering a table of values."""
        if self.paths is None:
            return None
        self._load_paths()
        return {code for code, path in self._unit_paths.items() if self.reaches_path(path)}

    def _path_of(self, code: str) -> str | None:
        if code not in self._unit_paths:
            self._load_paths()
        return self._unit_paths.get(code)

    def _load_paths(self) -> None:
        if not self._unit_paths:
            self._unit_paths.update(OrgUnit.objects.values_list("code", "path"))


def reader(user: Any, *, resource: Resource = Resource.KPI, action: Action = Action.VIEW) -> Reader:
    """The `Reader` of `user` for `resource`/`action` (a fresh one per request: it caches the
    org tree's paths)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Reader(paths=())
    if getattr(user, "is_superuser", False):
        return Reader(paths=None)
    paths: list[str] = []
    own = False
    for assignment in active_assignments(user):
        granted = reach(role=assignment.role, resource=resource, action=action)
        if granted is Reach.SUBTREE:
            paths.append(assignment.org_unit.path)
        elif granted is Reach.OWN:
            own = True
    employee_nos: frozenset[str] = frozenset()
    if own:
        employee_nos = frozenset(
            Staff.objects.filter(user_id=user.pk).values_list("employee_no", flat=True)
        )
    return Reader(paths=tuple(sorted(set(paths))), own_employee_nos=employee_nos)
