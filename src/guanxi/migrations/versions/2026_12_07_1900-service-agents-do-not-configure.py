"""The built-in service role works tickets but no longer sets up the service desk: "manage" on
tickets (SLA policies, the business calendar, queues, stations, routing rules) is for managers and
administrators. It meant nothing before the service desk existed, so taking it away from the
built-in role changes no one's work; a role an administrator made keeps what they gave it.

Revision ID: 20261207_1900
Revises: 20261207_1800
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_1900"
down_revision: str | None = "20261207_1800"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM role_permissions WHERE resource = 'tickets' AND action = 'manage' "
            "AND role_id IN (SELECT id FROM roles WHERE name = 'service' AND is_builtin)"
        )
    )


def downgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO role_permissions (role_id, resource, action) "
            "SELECT id, 'tickets', 'manage' FROM roles WHERE name = 'service' AND is_builtin"
        )
    )
