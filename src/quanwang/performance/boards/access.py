"""Who sees which board, and whose figures behind an entry: the one rule (tested as such).

- A board is looked at within a unit (its entries are those under the unit). A user may look
  at any board within a unit of their subtree (Resource.LEADERBOARD, VIEW), and at the peer
  board of a unit where they hold their role: the board of the same level's entries within
  the unit's parent (PEER_LEVELS: a grid manager sees the grids and the grid managers of
  their county, the board posted to the team's WeChat group).
- An entry's figures behind its score (drill-down) follow performance.access (Resource.KPI):
  a peer grid's figures, or another grid manager's personal figures, answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from quanwang.core.choices import Action, OrgLevel, Resource
from quanwang.core.models import OrgUnit
from quanwang.core.permissions import reach
from quanwang.core.querysets import active_assignments
from quanwang.performance.access import Reader, reader
from quanwang.performance.boards.choices import LEVEL_GRAIN, PEER_LEVELS, BoardLevel


@dataclass(frozen=True)
class Scope:
    """A unit a user may look at boards within, and the levels they may see there (None:
    every level)."""

    unit: OrgUnit
    levels: frozenset[BoardLevel] | None
    #: A peer board (the parent of the user's own unit), not the user's subtree.
    peer: bool

    def allows(self, level: BoardLevel) -> bool:
        return self.levels is None or level in self.levels


def scopes(user: Any) -> list[Scope]:
    """The units `user` may look at boards within: peer boards first (the board a team looks
    at each morning), then the units where their roles are held."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if getattr(user, "is_superuser", False):
        top = OrgUnit.objects.filter(parent__isnull=True).order_by("path")
        return [Scope(unit=u, levels=None, peer=False) for u in top]
    own: list[Scope] = []
    peers: dict[str, set[BoardLevel]] = {}
    for assignment in active_assignments(user):
        if reach(role=assignment.role, resource=Resource.LEADERBOARD, action=Action.VIEW) is None:
            continue
        unit = assignment.org_unit
        own.append(Scope(unit=unit, levels=None, peer=False))
        levels = PEER_LEVELS.get(unit.level)
        if levels and unit.parent_id is not None:
            peers.setdefault(str(unit.parent_id), set()).update(levels)
    found: list[Scope] = []
    if peers:
        parents = OrgUnit.objects.filter(pk__in=[int(p) for p in peers]).order_by("path")
        for parent in parents:
            if any(parent.path.startswith(s.unit.path) for s in own):
                continue  # already in the user's subtree
            found.append(Scope(unit=parent, levels=frozenset(peers[str(parent.pk)]), peer=True))
    seen: set[str] = set()
    for scope in own:
        if scope.unit.path not in seen:
            seen.add(scope.unit.path)
            found.append(scope)
    return found


def default_unit(found: list[Scope], *, level: BoardLevel | str | None) -> OrgUnit:
    """The unit a board opens within when none is asked for: the first of `found` (the
    user's scopes, not empty) that shows `level` (a county manager asking for the grids gets
    their county, not the city's peer board of counties)."""
    if level in BoardLevel.values:
        for scope in found:
            if scope.allows(BoardLevel(level)):
                return scope.unit
    return found[0].unit


def may_view(user: Any, *, level: BoardLevel | str, within: OrgUnit) -> bool:
    """Whether `user` may look at the board of `level` within `within`."""
    level = BoardLevel(level)
    for scope in scopes(user):
        if scope.peer:
            if scope.unit.pk == within.pk and scope.allows(level):
                return True
        elif within.path.startswith(scope.unit.path):
            return True
    return False


#: The units whose team holds a morning meeting (晨会): a county's and a grid's.
TEAM_LEVELS = (OrgLevel.COUNTY, OrgLevel.GRID)


def sheet_team(user: Any, *, code: str) -> OrgUnit | None:
    """The unit `code` if `user` may open its team's morning sheet: within their own subtree
    only (a peer board is visible, a peer team's sheet is not); else None."""
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None:
        return None
    own = (s for s in scopes(user) if not s.peer)
    return unit if any(unit.path.startswith(s.unit.path) for s in own) else None


def sheet_teams(user: Any, *, limit: int = 300) -> list[OrgUnit] | None:
    """The counties and grids whose morning sheets `user` may open, by path (at most
    `limit`); None when they may open none (only peer boards, or no board at all)."""
    own = [s for s in scopes(user) if not s.peer]
    if not own:
        return None
    within = Q(pk__in=[])
    for scope in own:
        within |= Q(path__startswith=scope.unit.path)
    return list(OrgUnit.objects.filter(within, level__in=TEAM_LEVELS).order_by("path")[:limit])


def may_drill(
    user: Any, *, level: BoardLevel | str, key: str, org_unit: str, using: Reader | None = None
) -> bool:
    """Whether `user` may open the figures behind the entry `key` of `level` (held at
    `org_unit`): performance.access's rule for KPI values. `using`: the user's KPI reader,
    when the caller asks for many entries (a reader caches the tree's paths)."""
    grain = LEVEL_GRAIN[BoardLevel(level)]
    found = using or reader(user, resource=Resource.KPI)
    return found.may_read(grain=grain, key=key, org_unit=org_unit)
