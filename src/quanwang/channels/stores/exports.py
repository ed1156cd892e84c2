"""The store list as an XLSX workbook (core.tabular), owner and contact masked."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from quanwang.channels.choices import PartnerStage, StoreGrade, StoreType
from quanwang.core.choices import PiiKind
from quanwang.core.masking import mask
from quanwang.core.tabular import append_row, new_workbook, workbook_bytes


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def store_workbook(stores: Any) -> bytes:
    book = new_workbook(write_only=True)
    sheet = book.create_sheet(_("Stores"))
    append_row(
        sheet,
        [
            _("Store ID"),
            _("Name"),
            _("Type"),
            _("Grade"),
            _("Partner stage"),
            _("Org unit"),
            _("Grid ID"),
            _("Latitude"),
            _("Longitude"),
            _("Owner"),
            _("Contact number"),
            _("Opened"),
            _("Still listed"),
        ],
    )
    for store in stores.select_related("org_unit").iterator(chunk_size=2000):
        append_row(
            sheet,
            [
                store.store_id,
                store.name,
                _label(StoreType, store.store_type),
                _label(StoreGrade, store.grade),
                _label(PartnerStage, store.partner_stage),
                store.org_unit.name,
                store.grid_id,
                store.lat,
                store.lon,
                mask(store.owner_name, PiiKind.NAME),
                mask(store.contact_msisdn, PiiKind.MSISDN),
                store.opened_date,
                _("Yes") if store.active else _("No"),
            ],
        )
    return workbook_bytes(book)
