"""Customer service: owned items, tickets with history, messages and attachments, queues and
agents, service stations, routing rules, business calendars, SLA policies, satisfaction surveys
and the self-service portal's sign-in; seeds the default calendar and SLA policies.

Revision ID: 20261207_1800
Revises: 20261207_1000
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_1800"
down_revision: str | None = "20261207_1000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


WORKING_DAY = [["09:00", "12:00"], ["13:00", "18:00"]]
# (priority, first response, resolution) in business minutes; a working day has 480
TARGETS = [("urgent", 30, 240), ("high", 60, 480), ("normal", 240, 1440), ("low", 480, 2400)]
# value tiers served faster than the rest (屈从型 VIP first, then 关怀型 key customers)
TIER_FACTORS = [("vip", 0.25), ("key", 0.5)]


def _seed_calendar_and_policies() -> None:
    """A Monday-to-Friday calendar in Shanghai time and SLA policies by priority, tighter for
    VIP and key customers; administrators change both as data."""
    now = sa.func.now()
    calendars = sa.table(
        "business_calendars",
        sa.column("id", ID),
        sa.column("name", sa.String),
        sa.column("timezone", sa.String),
        sa.column("week", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("version", sa.Integer),
    )
    op.execute(
        calendars.insert().values(
            id=1,
            name="default",
            timezone="Asia/Shanghai",
            week={str(day): WORKING_DAY if day < 5 else [] for day in range(7)},
            created_at=now,
            updated_at=now,
            version=1,
        )
    )
    policies = sa.table(
        "sla_policies",
        sa.column("name", sa.String),
        sa.column("position", sa.Integer),
        sa.column("priority", sa.String),
        sa.column("tier", sa.String),
        sa.column("first_response_minutes", sa.Integer),
        sa.column("resolution_minutes", sa.Integer),
        sa.column("warn_before_minutes", sa.Integer),
        sa.column("calendar_id", ID),
        sa.column("is_active", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("version", sa.Integer),
    )
    rows: list[dict[str, object]] = []
    for tier, factor in [*TIER_FACTORS, (None, 1.0)]:
        for priority, response, resolution in TARGETS:
            rows.append(
                {
                    "name": f"{tier or 'all'} {priority}",
                    "position": len(rows),
                    "priority": priority,
                    "tier": tier,
                    "first_response_minutes": max(15, round(response * factor)),
                    "resolution_minutes": max(60, round(resolution * factor)),
                    "warn_before_minutes": max(10, round(min(response, 60) * factor)),
                }
            )
    for row in rows:
        op.execute(
            policies.insert().values(
                **row,
                calendar_id=1,
                is_active=True,
                created_at=now,
                updated_at=now,
                version=1,
            )
        )


def upgrade() -> None:
    op.create_table(
        "business_calendars",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("week", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_business_calendars_name")),
    )
    op.create_table(
        "portal_login_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_login_requests")),
    )
    with op.batch_alter_table("portal_login_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_portal_login_requests_address", ["address_hash", "at"], unique=False
        )
        batch_op.create_index("ix_portal_login_requests_ip", ["ip_address", "at"], unique=False)

    op.create_table(
        "calendar_days",
        sa.Column("calendar_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["business_calendars.id"],
            name=op.f("fk_calendar_days_calendar_id_business_calendars"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("calendar_id", "day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("warn_before_minutes", sa.Integer(), nullable=False),
        sa.Column("calendar_id", ID, nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["business_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_business_calendars"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_policies_name")),
    )
    op.create_table(
        "service_queues",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("manager_id", ID, nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["users.id"],
            name=op.f("fk_service_queues_manager_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_service_queues_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_queues")),
        sa.UniqueConstraint("name", name=op.f("uq_service_queues_name")),
    )
    with op.batch_alter_table("service_queues", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_queues_manager_id"), ["manager_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_service_queues_team_id"), ["team_id"], unique=False)

    op.create_table(
        "portal_login_links",
        sa.Column("id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("email_address", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_portal_login_links_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_login_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_login_links_token_hash")),
    )
    with op.batch_alter_table("portal_login_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_login_links_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "portal_sessions",
        sa.Column("id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("email_address", sa.String(length=320), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_portal_sessions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sessions_token_hash")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "queue_members",
        sa.Column("queue_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["service_queues.id"],
            name=op.f("fk_queue_members_queue_id_service_queues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_queue_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("queue_id", "user_id", name=op.f("pk_queue_members")),
    )
    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "routing_rules",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("queue_id", ID, nullable=False),
        sa.Column("skill", sa.String(length=60), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["service_queues.id"],
            name=op.f("fk_routing_rules_queue_id_service_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
    )
    with op.batch_alter_table("routing_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routing_rules_position"), ["position"], unique=False)
        batch_op.create_index(batch_op.f("ix_routing_rules_queue_id"), ["queue_id"], unique=False)

    op.create_table(
        "service_stations",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("region", sa.String(length=60), nullable=False),
        sa.Column("city", sa.String(length=60), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("queue_id", ID, nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["service_queues.id"],
            name=op.f("fk_service_stations_queue_id_service_queues"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_stations")),
        sa.UniqueConstraint("name", name=op.f("uq_service_stations_name")),
    )
    with op.batch_alter_table("service_stations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_stations_is_active"), ["is_active"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_stations_queue_id"), ["queue_id"], unique=False
        )

    op.create_table(
        "owned_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=True),
        sa.Column("order_id", ID, nullable=True),
        sa.Column("serial_number", sa.String(length=80), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("purchased_on", sa.Date(), nullable=True),
        sa.Column("retailer", sa.String(length=200), nullable=False),
        sa.Column("warranty_until", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_owned_items_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_owned_items_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_owned_items_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owned_items")),
    )
    with op.batch_alter_table("owned_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_owned_items_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_owned_items_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_owned_items_product_id"), ["product_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_owned_items_serial_number"), ["serial_number"], unique=False
        )

    op.create_table(
        "tickets",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("root_cause", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("product_id", ID, nullable=True),
        sa.Column("order_id", ID, nullable=True),
        sa.Column("owned_item_id", ID, nullable=True),
        sa.Column("queue_id", ID, nullable=True),
        sa.Column("assignee_id", ID, nullable=True),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("station_id", ID, nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("sla_policy_id", ID, nullable=True),
        sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_left_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_left_minutes", sa.Integer(), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("merged_into_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_tickets_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_tickets_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_tickets_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_tickets_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["tickets.id"],
            name=op.f("fk_tickets_merged_into_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_tickets_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owned_item_id"],
            ["owned_items.id"],
            name=op.f("fk_tickets_owned_item_id_owned_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_tickets_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["service_queues.id"],
            name=op.f("fk_tickets_queue_id_service_queues"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sla_policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_tickets_sla_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["service_stations.id"],
            name=op.f("fk_tickets_station_id_service_stations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_assignee_status", ["assignee_id", "status", "id"], unique=False
        )
        batch_op.create_index("ix_tickets_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_tickets_customer_created", ["customer_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_merged_into_id"), ["merged_into_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tickets_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tickets_owned_item_id"), ["owned_item_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tickets_product_id"), ["product_id"], unique=False)
        batch_op.create_index("ix_tickets_queue_status", ["queue_id", "status", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_station_id"), ["station_id"], unique=False)
        batch_op.create_index(
            "ix_tickets_status_resolution_due", ["status", "resolution_due"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_status_response_due", ["status", "first_response_due"], unique=False
        )

    op.create_table(
        "surveys",
        sa.Column("id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("email_address", sa.String(length=320), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_surveys_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_surveys_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_surveys_ticket_id")),
    )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index("ix_surveys_answered", ["answered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "ticket_changes",
        sa.Column("id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("actor_label", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.String(length=200), nullable=False),
        sa.Column("new_value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_ticket_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_changes_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_changes")),
    )
    with op.batch_alter_table("ticket_changes", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_changes_ticket", ["ticket_id", "at", "id"], unique=False)

    op.create_table(
        "ticket_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", ID, nullable=True),
        sa.Column("interaction_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_ticket_messages_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_ticket_messages_interaction_id_interactions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
    )
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_messages_ticket", ["ticket_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "ticket_attachments",
        sa.Column("id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["ticket_messages.id"],
            name=op.f("fk_ticket_attachments_message_id_ticket_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_attachments_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_ticket_attachments_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
    )
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_attachments_ticket_id"), ["ticket_id"], unique=False
        )
    for table, column in (
        ("sla_policies", "calendar_id"),
        ("tickets", "contact_id"),
        ("tickets", "sla_policy_id"),
        ("ticket_messages", "interaction_id"),
        ("ticket_attachments", "message_id"),
    ):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)
    _seed_calendar_and_policies()


def downgrade() -> None:
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_attachments_ticket_id"))

    op.drop_table("ticket_attachments")
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_messages_ticket")

    op.drop_table("ticket_messages")
    with op.batch_alter_table("ticket_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_changes_ticket")

    op.drop_table("ticket_changes")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_surveys_customer_id"))
        batch_op.drop_index("ix_surveys_answered")

    op.drop_table("surveys")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_status_response_due")
        batch_op.drop_index("ix_tickets_status_resolution_due")
        batch_op.drop_index(batch_op.f("ix_tickets_station_id"))
        batch_op.drop_index("ix_tickets_queue_status")
        batch_op.drop_index(batch_op.f("ix_tickets_product_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_owned_item_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_order_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_merged_into_id"))
        batch_op.drop_index("ix_tickets_customer_created")
        batch_op.drop_index("ix_tickets_created")
        batch_op.drop_index("ix_tickets_assignee_status")

    op.drop_table("tickets")
    with op.batch_alter_table("owned_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_owned_items_serial_number"))
        batch_op.drop_index(batch_op.f("ix_owned_items_product_id"))
        batch_op.drop_index(batch_op.f("ix_owned_items_order_id"))
        batch_op.drop_index(batch_op.f("ix_owned_items_customer_id"))

    op.drop_table("owned_items")
    with op.batch_alter_table("service_stations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_stations_queue_id"))
        batch_op.drop_index(batch_op.f("ix_service_stations_is_active"))

    op.drop_table("service_stations")
    with op.batch_alter_table("routing_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_rules_queue_id"))
        batch_op.drop_index(batch_op.f("ix_routing_rules_position"))

    op.drop_table("routing_rules")
    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_members_user_id"))

    op.drop_table("queue_members")
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sessions_customer_id"))

    op.drop_table("portal_sessions")
    with op.batch_alter_table("portal_login_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_login_links_customer_id"))

    op.drop_table("portal_login_links")
    with op.batch_alter_table("service_queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_queues_team_id"))
        batch_op.drop_index(batch_op.f("ix_service_queues_manager_id"))

    op.drop_table("service_queues")
    op.drop_table("sla_policies")
    op.drop_table("calendar_days")
    with op.batch_alter_table("portal_login_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_login_requests_ip")
        batch_op.drop_index("ix_portal_login_requests_address")

    op.drop_table("portal_login_requests")
    op.drop_table("business_calendars")
