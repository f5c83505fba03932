"""A saved segment: a named customer filter, kept as the customer list's URL parameters so it
stays dynamic (who belongs is worked out whenever it is used, under the user's visibility)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.audit.tracking import Audited
from guanxi.db import Base, BigId, Timestamped, Versioned


class Segment(Timestamped, Versioned, Audited, Base):
    """``definition`` is ``{"params": [[name, value], ...]}``, the parameters of
    ``customers.search.filter_from_query`` (profile fields, tags, scores, orders)."""

    __tablename__ = "segments"
    __audit_entity__ = "segment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
