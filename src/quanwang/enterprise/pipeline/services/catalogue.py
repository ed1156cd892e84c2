"""The industry product catalogue (业务服务产品化): packaged offers per industry.

Province-wide (Resource.ENTERPRISE_RULES): any VIEW grant reads it; saving needs ADD/CHANGE
held at the root of the org tree. A product is never deleted once an opportunity names it:
it is made inactive, and new opportunities cannot pick it.

Campaigns sell a product through the campaigns' own offer catalogue: `publish_offer` creates
(once) the root unit's offer of type 配销 (bundled sale) with the product's code, name and
price, and links it (IndustryProduct.offer). Campaigns then use it like any offer, and their
estimate and evaluation read its terms; campaigns/ is not changed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.services.orgs import units_granting
from quanwang.enterprise.models import IndustryProduct
from quanwang.enterprise.pipeline.choices import ProductLine

CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
NAME_MAX = 100
INDUSTRY_MAX = 40
PRICE_MAX_FEN = 10_000_000_000
# A published offer runs for this long unless the campaigns' catalogue changes it.
OFFER_YEARS = 3


@dataclass(frozen=True)
class ProductTerms:
    code: str
    industry: str
    name: str
    product_lines: tuple[str, ...]
    list_price_fen: int = 0
    description: str = ""
    active: bool = True


def may_set_catalogue(user: Any, action: Action = Action.CHANGE) -> bool:
    """Whether `user` holds `action` on ENTERPRISE_RULES at the root (the province)."""
    if user is None:
        return True  # the system: the CLI and the demo
    units = units_granting(user=user, resource=Resource.ENTERPRISE_RULES, action=action)
    return units.filter(parent__isnull=True).exists()


def products(*, user: Any, industry: str | None = None, active_only: bool = False) -> Any:
    found = IndustryProduct.objects.restrict(user, Action.VIEW)
    if industry:
        found = found.filter(industry=industry)
    if active_only:
        found = found.filter(active=True)
    return found.order_by("industry", "code")


def industries(*, user: Any) -> list[str]:
    rows = IndustryProduct.objects.restrict(user, Action.VIEW).values_list("industry", flat=True)
    return sorted(set(rows))


def _check(terms: ProductTerms) -> dict[str, Any]:
    code = terms.code.strip().upper()
    if not CODE_PATTERN.fullmatch(code):
        raise ServiceError(
            _("Use 1 to 40 letters, digits, - or _ for the code, starting with a letter or digit."),
            field="code",
        )
    if not terms.name.strip() or len(terms.name) > NAME_MAX:
        raise ServiceError(_("The name is 1 to %(n)s characters.") % {"n": NAME_MAX}, field="name")
    if not terms.industry.strip() or len(terms.industry) > INDUSTRY_MAX:
        raise ServiceError(
            _("The industry is 1 to %(n)s characters.") % {"n": INDUSTRY_MAX}, field="industry"
        )
    lines = list(dict.fromkeys(terms.product_lines))
    unknown = [line for line in lines if line not in ProductLine.values]
    if unknown or not lines:
        raise ServiceError(
            _("Choose the product lines it packages from: %(lines)s.")
            % {"lines": "、".join(ProductLine.values)},
            field="product_lines",
        )
    price = terms.list_price_fen
    if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price <= PRICE_MAX_FEN:
        raise ServiceError(_("The list price is from 0 to 100,000,000 yuan."), field="price")
    return {
        "industry": terms.industry.strip(),
        "name": terms.name.strip(),
        "description": terms.description.strip(),
        "product_lines": lines,
        "list_price_fen": price,
        "active": terms.active,
    } | {"code": code}


def save_product(*, user: Any, terms: ProductTerms) -> IndustryProduct:
    """Create the product of `terms.code`, or change it when it exists (same code)."""
    values = _check(terms)
    code = values.pop("code")
    existing = IndustryProduct.objects.filter(code=code).exists()
    if not may_set_catalogue(user, Action.CHANGE if existing else Action.ADD):
        raise NotFound
    actor = user if getattr(user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            product, _created = IndustryProduct.objects.update_or_create(
                code=code, defaults=values | {"updated_by": actor}
            )
    except IntegrityError:  # created at the same moment by the same form posted twice
        product = IndustryProduct.objects.get(code=code)
    return product


def publish_offer(*, user: Any, product_id: int, today: dt.date) -> IndustryProduct:
    """Put the product into the campaigns' offer catalogue (the root unit's offers) once."""
    from quanwang.campaigns.choices import OfferType
    from quanwang.campaigns.services.offers import OfferTerms, create_offer

    if not may_set_catalogue(user, Action.CHANGE):
        raise NotFound
    with transaction.atomic():
        product = IndustryProduct.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise NotFound
        if product.offer_id is not None:
            return product
        root = OrgUnit.objects.filter(parent__isnull=True).order_by("pk").first()
        if root is None:
            raise ServiceError(_("The org tree has no root unit yet."))
        offer = create_offer(
            actor=user,
            org_unit=root,
            code=f"IP-{product.code}"[:40],
            terms=OfferTerms(
                name=product.name,
                offer_type=OfferType.BUNDLED_SALE,
                cost_per_taker=Decimal(0),
                monthly_revenue_change=Decimal(product.list_price_fen) / 100,
                valid_from=today,
                valid_until=dt.date(today.year + OFFER_YEARS, today.month, min(today.day, 28)),
                description=product.description,
                eligibility=_("Enterprise accounts of the %(industry)s industry")
                % {"industry": product.industry},
            ),
        )
        product.offer = offer
        product.save(update_fields=["offer", "updated_at"])
    return product


def catalogue_for_campaigns(*, user: Any) -> QuerySet[IndustryProduct]:
    """The products a campaign may offer: active and published."""
    return products(user=user, active_only=True).filter(offer__isnull=False)
