"""Fixtures for the marketing tests."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.conftest import People
from tests.marketing.support import Book, build_book


@pytest.fixture
def book(session: Session, people: People) -> Book:
    return build_book(session, people)
