"""The relationship map of an account (关系图): its key persons as nodes (sized by influence,
coloured by attitude, from the rating in force), who influences whom as edges. Names are
masked: the map is for seeing the shape of the account, not for reading personal data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models import Account
from quanwang.enterprise.models.persons import Attitude, Influence, KeyPerson, PersonRating
from quanwang.enterprise.persons.pii import masked_name
from quanwang.enterprise.persons.services.people import current_ratings, roles_at

ATTITUDE_COLOURS = {
    Attitude.SUPPORT.value: "#2e7d32",
    Attitude.NEUTRAL.value: "#9e9e9e",
    Attitude.OPPOSE.value: "#c62828",
    "": "#bdbdbd",
}


@dataclass
class PersonRow:
    person: KeyPerson
    name: str
    roles: list[str]
    titles: list[str]
    rating: PersonRating | None


def person_rows(*, account: Account) -> list[PersonRow]:
    ratings = current_ratings(account=account)
    rows: dict[int, PersonRow] = {}
    order = list(PersonRole.values)
    for role in sorted(roles_at(account=account), key=lambda r: (order.index(r.role), r.pk)):
        row = rows.get(role.person_id)
        if row is None:
            row = rows[role.person_id] = PersonRow(
                person=role.person,
                name=masked_name(role.person),
                roles=[],
                titles=[],
                rating=ratings.get(role.person_id),
            )
        row.roles.append(str(PersonRole(role.role).label))
        if role.title and role.title not in row.titles:
            row.titles.append(role.title)
    return list(rows.values())


def relationship_map(*, account: Account, rows: list[PersonRow]) -> dict[str, Any]:
    """The ECharts graph's data (nodes and links), plain JSON."""
    nodes = []
    for row in rows:
        rating = row.rating
        influence = rating.influence if rating else 1
        attitude = rating.attitude if rating else ""
        nodes.append(
            {
                "id": str(row.person.pk),
                "name": row.name,
                "value": " / ".join(row.roles + row.titles),
                "symbolSize": 18 + 8 * influence,
                "itemStyle": {"color": ATTITUDE_COLOURS.get(attitude, "#bdbdbd")},
            }
        )
    links = [
        {
            "source": str(edge.source_id),
            "target": str(edge.target_id),
            "value": edge.strength,
            "lineStyle": {"width": edge.strength},
        }
        for edge in Influence.objects.filter(account=account)
    ]
    return {"nodes": nodes, "links": links}


def influence_rows(*, account: Account) -> list[tuple[str, str, int]]:
    edges = Influence.objects.filter(account=account).select_related("source", "target")
    return [(masked_name(e.source), masked_name(e.target), e.strength) for e in edges]
