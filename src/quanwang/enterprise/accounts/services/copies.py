"""The copies of the warehouse the account page reads (enterprise.accounts.services.sync runs
them): AccountProduct from `enterprise_products`, AccountMember from `enterprise_members` with
the subscriber's number, and each account's stored member count."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

from django.db.models import Count

from quanwang.enterprise.models import Account, AccountMember, AccountProduct

BATCH = 2000


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _fen(value: Any) -> int:
    return round(float(value or 0) * 100)


def sync_products(
    rows: list[dict[str, Any]],
    existing: Mapping[str, Account],
    survivor: Mapping[str, str],
    now: dt.datetime,
) -> int:
    """Copy enterprise_products; a product no longer listed becomes inactive (kept)."""
    current = {p.product_instance_id: p for p in AccountProduct.objects.all()}
    new: list[AccountProduct] = []
    changed: list[AccountProduct] = []
    for row in rows:
        eid = row["enterprise_id"]
        if eid not in existing:
            continue  # the importer refuses such rows; an older file may still hold one
        wanted = {
            "account_id": existing[survivor.get(eid, eid)].pk,
            "enterprise_id": eid,
            "product": row["product"] or "",
            "start_date": _date(row["start_date"]),
            "contract_end": _date(row["contract_end"]),
            "monthly_fee_fen": _fen(row["monthly_fee"]),
            "agreement": bool(row["agreement"]),
            "bundled": bool(row["bundled"]),
            "prepaid_fen": _fen(row["prepaid"]),
            "active": True,
        }
        product = current.get(row["product_instance_id"])
        if product is None:
            new.append(
                AccountProduct(
                    product_instance_id=row["product_instance_id"], synced_at=now, **wanted
                )
            )
            continue
        if any(getattr(product, f) != v for f, v in wanted.items()):
            for name, value in wanted.items():
                setattr(product, name, value)
            product.synced_at = now
            changed.append(product)
    AccountProduct.objects.bulk_create(new, batch_size=BATCH)
    AccountProduct.objects.bulk_update(changed, [*wanted_fields(), "synced_at"], batch_size=BATCH)
    listed = {r["product_instance_id"] for r in rows}
    gone = [p.pk for pid, p in current.items() if p.active and pid not in listed]
    AccountProduct.objects.filter(pk__in=gone).update(active=False, synced_at=now)
    return len(rows)


def wanted_fields() -> list[str]:
    return [
        "account",
        "enterprise_id",
        "product",
        "start_date",
        "contract_end",
        "monthly_fee_fen",
        "agreement",
        "bundled",
        "prepaid_fen",
        "active",
    ]


def sync_members(
    rows: list[tuple[str, str, str | None, str | None, dt.date | None]],
    existing: Mapping[str, Account],
    survivor: Mapping[str, str],
) -> tuple[int, list[tuple[str, list[str]]]]:
    """Copy enterprise_members (with the number); a member no longer listed is removed (the
    warehouse keeps its history). A subscriber listed under two enterprises stays on the
    first only and is reported."""
    current = {
        (m[1], m[2]): m
        for m in AccountMember.objects.values_list(
            "pk", "enterprise_id", "subscriber_id", "account_id", "msisdn", "role", "joined_date"
        ).iterator(chunk_size=BATCH)
    }
    where: dict[str, list[str]] = {}
    new: list[AccountMember] = []
    changed: list[AccountMember] = []
    keep: set[tuple[str, str]] = set()
    for eid, subscriber, msisdn, role, joined in rows:
        if eid not in existing:
            continue
        where.setdefault(subscriber, []).append(eid)
        if len(where[subscriber]) > 1:
            continue
        key = (eid, subscriber)
        keep.add(key)
        wanted = (existing[survivor.get(eid, eid)].pk, msisdn or "", role or "", _date(joined))
        found = current.get(key)
        if found is None:
            new.append(
                AccountMember(
                    account_id=wanted[0],
                    enterprise_id=eid,
                    subscriber_id=subscriber,
                    msisdn=wanted[1],
                    role=wanted[2],
                    joined_date=wanted[3],
                )
            )
        elif tuple(found[3:]) != wanted:
            changed.append(
                AccountMember(
                    pk=found[0],
                    account_id=wanted[0],
                    enterprise_id=eid,
                    subscriber_id=subscriber,
                    msisdn=wanted[1],
                    role=wanted[2],
                    joined_date=wanted[3],
                )
            )
    gone = [m[0] for key, m in current.items() if key not in keep]
    for start in range(0, len(gone), BATCH):
        AccountMember.objects.filter(pk__in=gone[start : start + BATCH]).delete()
    AccountMember.objects.bulk_create(new, batch_size=BATCH)
    AccountMember.objects.bulk_update(
        changed, ["account", "msisdn", "role", "joined_date"], batch_size=BATCH
    )
    doubles = sorted((s, e) for s, e in where.items() if len(e) > 1)
    return len(keep), doubles


def count_members() -> None:
    """Store each account's member count (the page and the list read it, never count)."""
    counts = Counter(
        dict(
            AccountMember.objects.values("account_id")
            .annotate(n=Count("pk"))
            .values_list("account_id", "n")
        )
    )
    stale = [
        a
        for a in Account.objects.only("pk", "member_count")
        if a.member_count != counts.get(a.pk, 0)
    ]
    for account in stale:
        account.member_count = counts.get(account.pk, 0)
    Account.objects.bulk_update(stale, ["member_count"], batch_size=BATCH)
