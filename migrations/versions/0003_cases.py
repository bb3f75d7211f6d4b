"""cases

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-26 14:02:04.102099+00:00
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The seed rows are literal data, so this migration never changes with the application code.
CALENDAR_SOURCE = "chinese-calendar 1.11.0"
CALENDAR_YEARS = (2020, 2026)
# Named days (holidays and moved working days), 2020-2026, as chinese-calendar 1.11.0 has them;
# every other day is a working day from Monday to Friday and a rest day at the weekend.
CALENDAR_NAMED_DAYS: list[tuple[str, bool, str]] = [
    ("2020-01-01", False, "元旦"),
    ("2020-01-19", True, "春节调休上班"),
    ("2020-01-24", False, "春节"),
    ("2020-01-25", False, "春节"),
    ("2020-01-26", False, "春节"),
    ("2020-01-27", False, "春节"),
    ("2020-01-28", False, "春节"),
    ("2020-01-29", False, "春节"),
    ("2020-01-30", False, "春节"),
    ("2020-01-31", False, "春节"),
    ("2020-02-01", False, "春节"),
    ("2020-02-02", False, "春节"),
    ("2020-04-04", False, "清明"),
    ("2020-04-05", False, "清明"),
    ("2020-04-06", False, "清明"),
    ("2020-04-26", True, "劳动节调休上班"),
    ("2020-05-01", False, "劳动节"),
    ("2020-05-02", False, "劳动节"),
    ("2020-05-03", False, "劳动节"),
    ("2020-05-04", False, "劳动节"),
    ("2020-05-05", False, "劳动节"),
    ("2020-05-09", True, "劳动节调休上班"),
    ("2020-06-25", False, "端午"),
    ("2020-06-26", False, "端午"),
    ("2020-06-27", False, "端午"),
    ("2020-06-28", True, "端午调休上班"),
    ("2020-09-27", True, "国庆节调休上班"),
    ("2020-10-01", False, "国庆节"),
    ("2020-10-02", False, "国庆节"),
    ("2020-10-03", False, "国庆节"),
    ("2020-10-04", False, "国庆节"),
    ("2020-10-05", False, "国庆节"),
    ("2020-10-06", False, "国庆节"),
    ("2020-10-07", False, "国庆节"),
    ("2020-10-08", False, "国庆节"),
    ("2020-10-10", True, "国庆节调休上班"),
    ("2021-01-01", False, "元旦"),
    ("2021-01-02", False, "元旦"),
    ("2021-01-03", False, "元旦"),
    ("2021-02-07", True, "春节调休上班"),
    ("2021-02-11", False, "春节"),
    ("2021-02-12", False, "春节"),
    ("2021-02-13", False, "春节"),
    ("2021-02-14", False, "春节"),
    ("2021-02-15", False, "春节"),
    ("2021-02-16", False, "春节"),
    ("2021-02-17", False, "春节"),
    ("2021-02-20", True, "春节调休上班"),
    ("2021-04-03", False, "清明"),
    ("2021-04-04", False, "清明"),
    ("2021-04-05", False, "清明"),
    ("2021-04-25", True, "劳动节调休上班"),
    ("2021-05-01", False, "劳动节"),
    ("2021-05-02", False, "劳动节"),
    ("2021-05-03", False, "劳动节"),
    ("2021-05-04", False, "劳动节"),
    ("2021-05-05", False, "劳动节"),
    ("2021-05-08", True, "劳动节调休上班"),
    ("2021-06-12", False, "端午"),
    ("2021-06-13", False, "端午"),
    ("2021-06-14", False, "端午"),
    ("2021-09-18", True, "中秋调休上班"),
    ("2021-09-19", False, "中秋"),
    ("2021-09-20", False, "中秋"),
    ("2021-09-21", False, "中秋"),
    ("2021-09-26", True, "国庆节调休上班"),
    ("2021-10-01", False, "国庆节"),
    ("2021-10-02", False, "国庆节"),
    ("2021-10-03", False, "国庆节"),
    ("2021-10-04", False, "国庆节"),
    ("2021-10-05", False, "国庆节"),
    ("2021-10-06", False, "国庆节"),
    ("2021-10-07", False, "国庆节"),
    ("2021-10-09", True, "国庆节调休上班"),
    ("2022-01-01", False, "元旦"),
    ("2022-01-02", False, "元旦"),
    ("2022-01-03", False, "元旦"),
    ("2022-01-29", True, "春节调休上班"),
    ("2022-01-30", True, "春节调休上班"),
    ("2022-01-31", False, "春节"),
    ("2022-02-01", False, "春节"),
    ("2022-02-02", False, "春节"),
    ("2022-02-03", False, "春节"),
    ("2022-02-04", False, "春节"),
    ("2022-02-05", False, "春节"),
    ("2022-02-06", False, "春节"),
    ("2022-04-02", True, "清明调休上班"),
    ("2022-04-03", False, "清明"),
    ("2022-04-04", False, "清明"),
    ("2022-04-05", False, "清明"),
    ("2022-04-24", True, "劳动节调休上班"),
    ("2022-04-30", False, "劳动节"),
    ("2022-05-01", False, "劳动节"),
    ("2022-05-02", False, "劳动节"),
    ("2022-05-03", False, "劳动节"),
    ("2022-05-04", False, "劳动节"),
    ("2022-05-07", True, "劳动节调休上班"),
    ("2022-06-03", False, "端午"),
    ("2022-06-04", False, "端午"),
    ("2022-06-05", False, "端午"),
    ("2022-09-10", False, "中秋"),
    ("2022-09-11", False, "中秋"),
    ("2022-09-12", False, "中秋"),
    ("2022-10-01", False, "国庆节"),
    ("2022-10-02", False, "国庆节"),
    ("2022-10-03", False, "国庆节"),
    ("2022-10-04", False, "国庆节"),
    ("2022-10-05", False, "国庆节"),
    ("2022-10-06", False, "国庆节"),
    ("2022-10-07", False, "国庆节"),
    ("2022-10-08", True, "国庆节调休上班"),
    ("2022-10-09", True, "国庆节调休上班"),
    ("2022-12-31", False, "元旦"),
    ("2023-01-01", False, "元旦"),
    ("2023-01-02", False, "元旦"),
    ("2023-01-21", False, "春节"),
    ("2023-01-22", False, "春节"),
    ("2023-01-23", False, "春节"),
    ("2023-01-24", False, "春节"),
    ("2023-01-25", False, "春节"),
    ("2023-01-26", False, "春节"),
    ("2023-01-27", False, "春节"),
    ("2023-01-28", True, "春节调休上班"),
    ("2023-01-29", True, "春节调休上班"),
    ("2023-04-05", False, "清明"),
    ("2023-04-23", True, "劳动节调休上班"),
    ("2023-04-29", False, "劳动节"),
    ("2023-04-30", False, "劳动节"),
    ("2023-05-01", False, "劳动节"),
    ("2023-05-02", False, "劳动节"),
    ("2023-05-03", False, "劳动节"),
    ("2023-05-06", True, "劳动节调休上班"),
    ("2023-06-22", False, "端午"),
    ("2023-06-23", False, "端午"),
    ("2023-06-24", False, "端午"),
    ("2023-06-25", True, "端午调休上班"),
    ("2023-09-29", False, "中秋"),
    ("2023-09-30", False, "国庆节"),
    ("2023-10-01", False, "国庆节"),
    ("2023-10-02", False, "国庆节"),
    ("2023-10-03", False, "国庆节"),
    ("2023-10-04", False, "国庆节"),
    ("2023-10-05", False, "国庆节"),
    ("2023-10-06", False, "国庆节"),
    ("2023-10-07", True, "国庆节调休上班"),
    ("2023-10-08", True, "国庆节调休上班"),
    ("2023-12-30", False, "元旦"),
    ("2023-12-31", False, "元旦"),
    ("2024-01-01", False, "元旦"),
    ("2024-02-04", True, "春节调休上班"),
    ("2024-02-10", False, "春节"),
    ("2024-02-11", False, "春节"),
    ("2024-02-12", False, "春节"),
    ("2024-02-13", False, "春节"),
    ("2024-02-14", False, "春节"),
    ("2024-02-15", False, "春节"),
    ("2024-02-16", False, "春节"),
    ("2024-02-17", False, "春节"),
    ("2024-02-18", True, "春节调休上班"),
    ("2024-04-04", False, "清明"),
    ("2024-04-05", False, "清明"),
    ("2024-04-06", False, "清明"),
    ("2024-04-07", True, "清明调休上班"),
    ("2024-04-28", True, "劳动节调休上班"),
    ("2024-05-01", False, "劳动节"),
    ("2024-05-02", False, "劳动节"),
    ("2024-05-03", False, "劳动节"),
    ("2024-05-04", False, "劳动节"),
    ("2024-05-05", False, "劳动节"),
    ("2024-05-11", True, "劳动节调休上班"),
    ("2024-06-10", False, "端午"),
    ("2024-09-14", True, "中秋调休上班"),
    ("2024-09-15", False, "中秋"),
    ("2024-09-16", False, "中秋"),
    ("2024-09-17", False, "中秋"),
    ("2024-09-29", True, "国庆节调休上班"),
    ("2024-10-01", False, "国庆节"),
    ("2024-10-02", False, "国庆节"),
    ("2024-10-03", False, "国庆节"),
    ("2024-10-04", False, "国庆节"),
    ("2024-10-05", False, "国庆节"),
    ("2024-10-06", False, "国庆节"),
    ("2024-10-07", False, "国庆节"),
    ("2024-10-12", True, "国庆节调休上班"),
    ("2025-01-01", False, "元旦"),
    ("2025-01-26", True, "春节调休上班"),
    ("2025-01-28", False, "春节"),
    ("2025-01-29", False, "春节"),
    ("2025-01-30", False, "春节"),
    ("2025-01-31", False, "春节"),
    ("2025-02-01", False, "春节"),
    ("2025-02-02", False, "春节"),
    ("2025-02-03", False, "春节"),
    ("2025-02-04", False, "春节"),
    ("2025-02-08", True, "春节调休上班"),
    ("2025-04-04", False, "清明"),
    ("2025-04-05", False, "清明"),
    ("2025-04-06", False, "清明"),
    ("2025-04-27", True, "劳动节调休上班"),
    ("2025-05-01", False, "劳动节"),
    ("2025-05-02", False, "劳动节"),
    ("2025-05-03", False, "劳动节"),
    ("2025-05-04", False, "劳动节"),
    ("2025-05-05", False, "劳动节"),
    ("2025-05-31", False, "端午"),
    ("2025-06-01", False, "端午"),
    ("2025-06-02", False, "端午"),
    ("2025-09-28", True, "国庆节调休上班"),
    ("2025-10-01", False, "国庆节"),
    ("2025-10-02", False, "国庆节"),
    ("2025-10-03", False, "国庆节"),
    ("2025-10-04", False, "国庆节"),
    ("2025-10-05", False, "国庆节"),
    ("2025-10-06", False, "中秋"),
    ("2025-10-07", False, "国庆节"),
    ("2025-10-08", False, "国庆节"),
    ("2025-10-11", True, "国庆节调休上班"),
    ("2026-01-01", False, "元旦"),
    ("2026-01-02", False, "元旦"),
    ("2026-01-03", False, "元旦"),
    ("2026-01-04", True, "元旦调休上班"),
    ("2026-02-14", True, "春节调休上班"),
    ("2026-02-15", False, "春节"),
    ("2026-02-16", False, "春节"),
    ("2026-02-17", False, "春节"),
    ("2026-02-18", False, "春节"),
    ("2026-02-19", False, "春节"),
    ("2026-02-20", False, "春节"),
    ("2026-02-21", False, "春节"),
    ("2026-02-22", False, "春节"),
    ("2026-02-23", False, "春节"),
    ("2026-02-28", True, "春节调休上班"),
    ("2026-04-04", False, "清明"),
    ("2026-04-05", False, "清明"),
    ("2026-04-06", False, "清明"),
    ("2026-05-01", False, "劳动节"),
    ("2026-05-02", False, "劳动节"),
    ("2026-05-03", False, "劳动节"),
    ("2026-05-04", False, "劳动节"),
    ("2026-05-05", False, "劳动节"),
    ("2026-05-09", True, "劳动节调休上班"),
    ("2026-06-19", False, "端午"),
    ("2026-06-20", False, "端午"),
    ("2026-06-21", False, "端午"),
    ("2026-09-20", True, "国庆节调休上班"),
    ("2026-09-25", False, "中秋"),
    ("2026-09-26", False, "中秋"),
    ("2026-09-27", False, "中秋"),
    ("2026-10-01", False, "国庆节"),
    ("2026-10-02", False, "国庆节"),
    ("2026-10-03", False, "国庆节"),
    ("2026-10-04", False, "国庆节"),
    ("2026-10-05", False, "国庆节"),
    ("2026-10-06", False, "国庆节"),
    ("2026-10-07", False, "国庆节"),
    ("2026-10-10", True, "国庆节调休上班"),
]
DEADLINE_RULES: list[tuple[str, str, str, int]] = [
    ("first_response", "simple", "working_days", 1),
    ("first_response", "complex", "working_days", 1),
    ("first_response", "difficult", "working_days", 1),
    ("mediation", "simple", "working_days", 3),
    ("mediation", "complex", "working_days", 5),
    ("mediation", "difficult", "calendar_days", 30),
    ("follow_up", "simple", "working_days", 10),
    ("follow_up", "complex", "working_days", 10),
    ("follow_up", "difficult", "working_days", 10),
]


def calendar_rows() -> list[dict[str, object]]:
    named = {date.fromisoformat(d): (working, name) for d, working, name in CALENDAR_NAMED_DAYS}
    rows: list[dict[str, object]] = []
    day, last = date(CALENDAR_YEARS[0], 1, 1), date(CALENDAR_YEARS[1], 12, 31)
    while day <= last:
        working, name = named.get(day, (day.weekday() < 5, None))
        rows.append({"day": day, "is_working_day": working, "name": name,
                     "provisional": False, "source": CALENDAR_SOURCE})
        day += timedelta(days=1)
    return rows


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_working_day', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    op.create_table('deadline_rules',
    sa.Column('stage', sa.Enum('first_response', 'mediation', 'follow_up', name='deadline_stage', native_enum=False, length=40), nullable=False),
    sa.Column('complexity', sa.Enum('simple', 'complex', 'difficult', name='complexity', native_enum=False, length=40), nullable=False),
    sa.Column('unit', sa.Enum('working_days', 'calendar_days', 'hours', name='deadline_unit', native_enum=False, length=40), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('stage', 'complexity', name=op.f('pk_deadline_rules'))
    )
    op.create_table('idempotency_keys',
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('owner', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_index('ix_idempotency_keys_expires_at', 'idempotency_keys', ['expires_at'], unique=False)
    op.create_table('case_number_counters',
    sa.Column('district_id', sa.UUID(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['units.id'], name=op.f('fk_case_number_counters_district_id_units')),
    sa.PrimaryKeyConstraint('district_id', 'year', name=op.f('pk_case_number_counters'))
    )
    op.create_table('cases',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('number_ascii', sa.String(length=40), nullable=False),
    sa.Column('district_id', sa.UUID(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('claims', sa.Text(), nullable=True),
    sa.Column('search_text', sa.Text(), sa.Computed("title || ' ' || facts || ' ' || coalesce(claims, '')", persisted=True), nullable=False),
    sa.Column('party_names', sa.Text(), nullable=False),
    sa.Column('category_code', sa.String(length=60), nullable=False),
    sa.Column('source', sa.Enum('grid_report', 'hotline', 'walk_in', 'police_referral', 'court_referral', 'petition_office', 'other_system', 'online', name='case_source', native_enum=False, length=40), nullable=False),
    sa.Column('complexity', sa.Enum('simple', 'complex', 'difficult', name='complexity', native_enum=False, length=40), nullable=False),
    sa.Column('risk_colour', sa.Enum('red', 'orange', 'yellow', name='risk_colour', native_enum=False, length=40), nullable=False),
    sa.Column('status', sa.Enum('received', 'accepted', 'rejected', 'assigned', 'in_mediation', 'resolved', 'failed', 'followed_up', 'closed', 'withdrawn', name='case_status', native_enum=False, length=40), nullable=False),
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.Column('unit_path', sa.String(length=400), nullable=False),
    sa.Column('building_id', sa.UUID(), nullable=True),
    sa.Column('handling_unit_id', sa.UUID(), nullable=False),
    sa.Column('handling_unit_path', sa.String(length=400), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('amount_involved', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('prevent_criminal', sa.Integer(), nullable=True),
    sa.Column('prevent_group_petition', sa.Integer(), nullable=True),
    sa.Column('prevent_suicide', sa.Integer(), nullable=True),
    sa.Column('prevent_group_fight', sa.Integer(), nullable=True),
    sa.Column('channels', postgresql.ARRAY(sa.String(length=30)), nullable=False),
    sa.Column('handler_person_ids', postgresql.ARRAY(sa.Uuid()), nullable=False),
    sa.Column('external_client_id', sa.UUID(), nullable=True),
    sa.Column('external_ref', sa.String(length=100), nullable=True),
    sa.Column('reported_by_kind', sa.String(length=10), nullable=False),
    sa.Column('reported_by_id', sa.UUID(), nullable=False),
    sa.Column('reported_by_name', sa.String(length=200), nullable=False),
    sa.Column('is_repeat', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mediation_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('followed_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('referral_target', sa.Enum('litigation', 'arbitration', 'administrative', 'other_department', 'none', name='referral_target', native_enum=False, length=40), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pause_reason', sa.String(length=500), nullable=True),
    sa.Column('current_stage', sa.Enum('first_response', 'mediation', 'follow_up', name='deadline_stage', native_enum=False, length=40), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_provisional', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['units.id'], name=op.f('fk_cases_building_id_units')),
    sa.ForeignKeyConstraint(['district_id'], ['units.id'], name=op.f('fk_cases_district_id_units')),
    sa.ForeignKeyConstraint(['handling_unit_id'], ['units.id'], name=op.f('fk_cases_handling_unit_id_units')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_cases_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('district_id', 'year', 'seq', name=op.f('uq_cases_district_id_year_seq')),
    sa.UniqueConstraint('external_client_id', 'external_ref', name=op.f('uq_cases_external_client_id_external_ref')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number')),
    sa.UniqueConstraint('number_ascii', name=op.f('uq_cases_number_ascii'))
    )
    op.create_index('ix_cases_building_received', 'cases', ['building_id', 'received_at'], unique=False, postgresql_where=sa.text('building_id IS NOT NULL'))
    op.create_index(op.f('ix_cases_category_code'), 'cases', ['category_code'], unique=False)
    op.create_index('ix_cases_channels', 'cases', ['channels'], unique=False, postgresql_using='gin')
    op.create_index('ix_cases_closed_at', 'cases', ['closed_at'], unique=False, postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.create_index('ix_cases_due_at', 'cases', ['due_at', 'id'], unique=False, postgresql_where=sa.text('due_at IS NOT NULL'))
    op.create_index('ix_cases_handler_person_ids', 'cases', ['handler_person_ids'], unique=False, postgresql_using='gin')
    op.create_index(op.f('ix_cases_handling_unit_id'), 'cases', ['handling_unit_id'], unique=False)
    op.create_index('ix_cases_party_names_trgm', 'cases', ['party_names'], unique=False, postgresql_using='gin', postgresql_ops={'party_names': 'gin_trgm_ops'})
    op.create_index('ix_cases_received_at_id', 'cases', ['received_at', 'id'], unique=False)
    op.create_index('ix_cases_search_text_trgm', 'cases', ['search_text'], unique=False, postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
    op.create_index(op.f('ix_cases_status'), 'cases', ['status'], unique=False)
    op.create_index('ix_cases_unit_path_prefix', 'cases', ['unit_path'], unique=False, postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.create_table('agreement_performances',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('performed_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'partial', 'full', 'none', name='performance_status', native_enum=False, length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_agreement_performances_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_performances'))
    )
    op.create_index(op.f('ix_agreement_performances_case_id'), 'agreement_performances', ['case_id'], unique=False)
    op.create_table('case_agreements',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('form', sa.Enum('oral', 'written', name='agreement_form', native_enum=False, length=40), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('performance_method', sa.Text(), nullable=False),
    sa.Column('performance_due_on', sa.Date(), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('signed_by_parties', sa.Boolean(), nullable=False),
    sa.Column('mediator_person_ids', postgresql.ARRAY(sa.Uuid()), nullable=False),
    sa.Column('judicial_confirmation_until', sa.Date(), nullable=False),
    sa.Column('judicial_confirmation_requested_on', sa.Date(), nullable=True),
    sa.Column('judicial_confirmation_court', sa.String(length=200), nullable=True),
    sa.Column('performance_status', sa.Enum('pending', 'partial', 'full', 'none', name='performance_status', native_enum=False, length=40), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_agreements_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_agreements')),
    sa.UniqueConstraint('case_id', name=op.f('uq_case_agreements_case_id'))
    )
    op.create_table('case_deadlines',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('stage', sa.Enum('first_response', 'mediation', 'follow_up', name='deadline_stage', native_enum=False, length=40), nullable=False),
    sa.Column('unit', sa.Enum('working_days', 'calendar_days', 'hours', name='deadline_unit', native_enum=False, length=40), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('extended_by', sa.Integer(), nullable=False),
    sa.Column('paused_by', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('paused_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('met_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_deadlines_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_deadlines'))
    )
    op.create_index(op.f('ix_case_deadlines_case_id'), 'case_deadlines', ['case_id'], unique=False)
    op.create_index('ix_case_deadlines_open', 'case_deadlines', ['case_id'], unique=False, postgresql_where=sa.text('met_at IS NULL AND cancelled_at IS NULL'))
    op.create_table('case_events',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('type', sa.Enum('created', 'accepted', 'rejected', 'assigned', 'transferred', 'escalated', 'mediation_started', 'resolved', 'failed', 'withdrawn', 'followed_up', 'closed', 'reopened', 'paused', 'resumed', 'deadline_extended', 'deadline_recomputed', 'updated', 'party_added', 'party_updated', 'party_removed', 'commented', 'performance_recorded', 'judicial_confirmation', 'repeat_detected', name='case_event_type', native_enum=False, length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_kind', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.UUID(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.String(length=80), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('from_status', sa.Enum('received', 'accepted', 'rejected', 'assigned', 'in_mediation', 'resolved', 'failed', 'followed_up', 'closed', 'withdrawn', name='from_status', native_enum=False, length=40), nullable=True),
    sa.Column('to_status', sa.Enum('received', 'accepted', 'rejected', 'assigned', 'in_mediation', 'resolved', 'failed', 'followed_up', 'closed', 'withdrawn', name='to_status', native_enum=False, length=40), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    op.create_index('ix_case_events_case_id_id', 'case_events', ['case_id', 'id'], unique=False)
    op.create_table('case_follow_ups',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.Enum('visit', 'phone', 'online', name='follow_up_method', native_enum=False, length=40), nullable=False),
    sa.Column('performance', sa.Enum('pending', 'partial', 'full', 'none', name='performance_status', native_enum=False, length=40), nullable=False),
    sa.Column('satisfaction', sa.Enum('very_satisfied', 'satisfied', 'neutral', 'dissatisfied', name='satisfaction', native_enum=False, length=40), nullable=False),
    sa.Column('flare_up_risk', sa.Enum('low', 'medium', 'high', name='flare_up_risk', native_enum=False, length=40), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.UUID(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_follow_ups_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_follow_ups'))
    )
    op.create_index(op.f('ix_case_follow_ups_case_id'), 'case_follow_ups', ['case_id'], unique=False)
    op.create_table('case_handlers',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('channel', sa.Enum('people', 'police_joint', 'judicial', 'psychological', name='mediation_channel', native_enum=False, length=40), nullable=False),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('assumed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('renounced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assigned_by_id', sa.UUID(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_handlers_case_id_cases')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_case_handlers_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_handlers'))
    )
    op.create_index(op.f('ix_case_handlers_case_id'), 'case_handlers', ['case_id'], unique=False)
    op.create_index('ix_case_handlers_person_active', 'case_handlers', ['person_id'], unique=False, postgresql_where=sa.text('renounced_at IS NULL'))
    op.create_table('case_links',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('related_case_id', sa.UUID(), nullable=False),
    sa.Column('reason', sa.Enum('same_phone', 'same_id_number', 'same_building', name='repeat_reason', native_enum=False, length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_links_case_id_cases')),
    sa.ForeignKeyConstraint(['related_case_id'], ['cases.id'], name=op.f('fk_case_links_related_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_links')),
    sa.UniqueConstraint('case_id', 'related_case_id', 'reason', name=op.f('uq_case_links_case_id_related_case_id_reason'))
    )
    op.create_index(op.f('ix_case_links_related_case_id'), 'case_links', ['related_case_id'], unique=False)
    op.create_table('case_parties',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('person', 'organisation', name='party_kind', native_enum=False, length=40), nullable=False),
    sa.Column('side', sa.Enum('applicant', 'respondent', 'third_party', name='party_side', native_enum=False, length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('org_code', sa.String(length=30), nullable=True),
    sa.Column('is_minor', sa.Boolean(), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('guardian_name', sa.String(length=200), nullable=True),
    sa.Column('guardian_phone', sa.String(length=30), nullable=True),
    sa.Column('guardian_id_number', sa.String(length=18), nullable=True),
    sa.Column('guardian_relation', sa.String(length=40), nullable=True),
    sa.Column('phone_hash', sa.String(length=64), nullable=True),
    sa.Column('id_hash', sa.String(length=64), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_parties_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_parties'))
    )
    op.create_index(op.f('ix_case_parties_case_id'), 'case_parties', ['case_id'], unique=False)
    op.create_index(op.f('ix_case_parties_id_hash'), 'case_parties', ['id_hash'], unique=False)
    op.create_index(op.f('ix_case_parties_phone_hash'), 'case_parties', ['phone_hash'], unique=False)
    # ### end Alembic commands ###
    # Seed: the official calendar of the years chinese-calendar knew, and the default rules.
    calendar = sa.table('calendar_days', sa.column('day', sa.Date()),
                        sa.column('is_working_day', sa.Boolean()), sa.column('name', sa.String()),
                        sa.column('provisional', sa.Boolean()), sa.column('source', sa.String()))
    op.bulk_insert(calendar, calendar_rows())
    rules = sa.table('deadline_rules', sa.column('stage', sa.String()),
                     sa.column('complexity', sa.String()), sa.column('unit', sa.String()),
                     sa.column('amount', sa.Integer()), sa.column('version', sa.Integer()),
                     sa.column('updated_by', sa.String()))
    op.bulk_insert(rules, [
        {"stage": stage, "complexity": complexity, "unit": unit, "amount": amount, "version": 1,
         "updated_by": "migration"}
        for stage, complexity, unit, amount in DEADLINE_RULES
    ])


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f('ix_case_parties_phone_hash'), table_name='case_parties')
    op.drop_index(op.f('ix_case_parties_id_hash'), table_name='case_parties')
    op.drop_index(op.f('ix_case_parties_case_id'), table_name='case_parties')
    op.drop_table('case_parties')
    op.drop_index(op.f('ix_case_links_related_case_id'), table_name='case_links')
    op.drop_table('case_links')
    op.drop_index('ix_case_handlers_person_active', table_name='case_handlers', postgresql_where=sa.text('renounced_at IS NULL'))
    op.drop_index(op.f('ix_case_handlers_case_id'), table_name='case_handlers')
    op.drop_table('case_handlers')
    op.drop_index(op.f('ix_case_follow_ups_case_id'), table_name='case_follow_ups')
    op.drop_table('case_follow_ups')
    op.drop_index('ix_case_events_case_id_id', table_name='case_events')
    op.drop_table('case_events')
    op.drop_index('ix_case_deadlines_open', table_name='case_deadlines', postgresql_where=sa.text('met_at IS NULL AND cancelled_at IS NULL'))
    op.drop_index(op.f('ix_case_deadlines_case_id'), table_name='case_deadlines')
    op.drop_table('case_deadlines')
    op.drop_table('case_agreements')
    op.drop_index(op.f('ix_agreement_performances_case_id'), table_name='agreement_performances')
    op.drop_table('agreement_performances')
    op.drop_index('ix_cases_unit_path_prefix', table_name='cases', postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.drop_index(op.f('ix_cases_status'), table_name='cases')
    op.drop_index('ix_cases_search_text_trgm', table_name='cases', postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
    op.drop_index('ix_cases_received_at_id', table_name='cases')
    op.drop_index('ix_cases_party_names_trgm', table_name='cases', postgresql_using='gin', postgresql_ops={'party_names': 'gin_trgm_ops'})
    op.drop_index(op.f('ix_cases_handling_unit_id'), table_name='cases')
    op.drop_index('ix_cases_handler_person_ids', table_name='cases', postgresql_using='gin')
    op.drop_index('ix_cases_due_at', table_name='cases', postgresql_where=sa.text('due_at IS NOT NULL'))
    op.drop_index('ix_cases_closed_at', table_name='cases', postgresql_where=sa.text('closed_at IS NOT NULL'))
    op.drop_index('ix_cases_channels', table_name='cases', postgresql_using='gin')
    op.drop_index(op.f('ix_cases_category_code'), table_name='cases')
    op.drop_index('ix_cases_building_received', table_name='cases', postgresql_where=sa.text('building_id IS NOT NULL'))
    op.drop_table('cases')
    op.drop_table('case_number_counters')
    op.drop_index('ix_idempotency_keys_expires_at', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_table('deadline_rules')
    op.drop_table('calendar_days')
    # ### end Alembic commands ###
