"""Settings kept in the database: values an administrator changes at run time (and demo facts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.audit.tracking import Audited
from guanxi.db import Base, utcnow


class AppSetting(Audited, Base):
    __tablename__ = "app_settings"
    __audit_entity__ = "app_setting"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def get(session: Session, key: str) -> dict[str, Any] | None:
    setting = session.get(AppSetting, key)
    return dict(setting.value) if setting else None


def put(session: Session, key: str, value: dict[str, Any]) -> None:
    setting = session.get(AppSetting, key)
    if setting is None:
        session.add(AppSetting(key=key, value=value))
    else:
        setting.value = value
    session.flush()
