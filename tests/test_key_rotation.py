"""Rotating the field-encryption key re-encrypts every sealed value and keeps lookups working."""

from __future__ import annotations

from pathlib import Path

from guanxi import crypto, key_rotation, schema
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database


def test_rotation_reencrypts_and_lookups_survive(fresh_database_url: str, tmp_path: Path):
    settings = Settings(data_dir=tmp_path, database_url=fresh_database_url, secret_key="k" * 40)
    crypto.configure(settings)
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with db.unit_of_work() as session:
        tracking.set_actor(session, AuditActor(None, "test"))
        owner = auth_service.create_user(
            session=session, user_in=UserCreate(username="owner", password="p" * 12, role="admin")
        )
        for number in ("110105194912310021", "31010119800101001X"):
            customer_service.create(
                session=session,
                actor=owner,
                customer_in=CustomerCreate(name=f"C{number[-4:]}", id_number=number),
            )
        old_token = session.query(Customer).first().id_number_encrypted
    assert old_token.startswith("v1:k1:")

    keys = key_rotation.add_key(settings)
    assert keys.current == "k2" and set(keys.keys) == {"k1", "k2"}
    with db.unit_of_work() as session:
        stale = key_rotation.count_stale(session)
    assert stale["customers.id_number"] == 2 and stale["subject_keys.wrapped_key"] >= 2

    done = key_rotation.reencrypt(db)
    assert done == sum(stale.values())
    with db.unit_of_work() as session:
        assert key_rotation.count_stale(session) == {name: 0 for name in stale}
        tokens = [c.id_number_encrypted for c in session.query(Customer)]
        assert all(t.startswith("v1:k2:") for t in tokens)
        owner = auth_service.get_user_by_username(session=session, username="owner")
        found = customer_service.find_by_id_number(
            session=session, actor=owner, id_number="31010119800101001x"
        )
        assert [c.name for c in found] == ["C001X"]
        # the audit log's sealed personal values still open after their keys were re-wrapped
        from guanxi.audit import service as audit_service

        entry = audit_service.list_entries(session=session, entity_type="customer").items[-1]
        assert audit_service.readable_changes(session=session, entry=entry)["name"]["after"] in (
            "C0021",
            "C001X",
        )
    # running it again finds nothing left to do
    assert key_rotation.reencrypt(db) == 0
    db.dispose()
