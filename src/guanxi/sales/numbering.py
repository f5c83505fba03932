"""How sales documents are numbered, in one place: the services, the ERP upsert and the demo all
call these, so an order looks the same whichever way it arrived.

Order, invoice, credit-note and shipment numbers are a prefix, the document's date and its row
id (``SO-20261123-000123``): readable over the phone, sortable, and unique without a counter
that concurrent writers would fight over. Contract numbers are per year (``HT-2026-000042``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

ORDER: Final = "SO"
INVOICE: Final = "INV"
CREDIT_NOTE: Final = "CN"
SHIPMENT: Final = "SH"
CONTRACT: Final = "HT"  # 合同


def document_number(prefix: str, day: date | datetime, record_id: int) -> str:
    """``day`` is the document's date; a moment (an order's time) counts by its UTC date, so
    the number is the same whatever offset a client sent the time with."""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date()
    return f"{prefix}-{day:%Y%m%d}-{record_id:06d}"


def contract_prefix(year: int) -> str:
    return f"{CONTRACT}-{year}-"


def contract_number(year: int, serial: int) -> str:
    return f"{contract_prefix(year)}{serial:06d}"
