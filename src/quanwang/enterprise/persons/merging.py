"""The persons part's step in a merge of one account into another (enterprise.accounts.merging):
roles, ratings, influence edges and care moments on the merged account move to the survivor,
history kept. A role or edge the survivor already has stays the survivor's and the merged one's
copy is dropped (the unique constraints allow one); ratings all move, so the history in force is
the newest of both. Running it twice moves nothing the second time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef

from quanwang.enterprise.models.persons import CareMoment, Influence, KeyPersonRole, PersonRating

if TYPE_CHECKING:
    from quanwang.enterprise.models import Account


def on_merge(*, survivor: Account, merged: Account) -> dict[str, int]:
    if survivor.pk == merged.pk:
        return {}
    same_role = KeyPersonRole.objects.filter(
        account=survivor, person=OuterRef("person"), role=OuterRef("role")
    )
    dropped_roles, _ = (
        KeyPersonRole.objects.filter(account=merged).filter(Exists(same_role)).delete()
    )
    roles = KeyPersonRole.objects.filter(account=merged).update(account=survivor)
    same_edge = Influence.objects.filter(
        account=survivor, source=OuterRef("source"), target=OuterRef("target")
    )
    Influence.objects.filter(account=merged).filter(Exists(same_edge)).delete()
    edges = Influence.objects.filter(account=merged).update(account=survivor)
    ratings = PersonRating.objects.filter(account=merged).update(account=survivor)
    moments = CareMoment.objects.filter(account=merged).update(account=survivor)
    return {
        "key_person_roles": roles,
        "key_person_roles_already_there": dropped_roles,
        "influences": edges,
        "person_ratings": ratings,
        "care_moments": moments,
    }
