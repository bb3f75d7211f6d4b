"""casefiles: attachments of case files (卷宗) and hotline calls. The owner is polymorphic
(owner_type, owner_id: a case, a follow-up, a session or a hotline call), so only `cases` and
`units` are referenced by foreign keys; the sessions and hotline tables are not needed.

Revision ID: 0009
Revises: 0001 (depends on 0003: attachments reference cases)
Create Date: 2026-11-26 14:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('owner_type', sa.Enum('case', 'follow_up', 'session', 'hotline_call', name='attachment_owner_type', native_enum=False, length=40), nullable=False),
    sa.Column('owner_id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=True),
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.Column('unit_path', sa.String(length=400), nullable=False),
    sa.Column('category', sa.Enum('intake_registration', 'rights_notice', 'application', 'evidence', 'minutes', 'agreement', 'performance_proof', 'follow_up_record', 'judicial_confirmation', 'recording', 'other', name='attachment_category', native_enum=False, length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_type', sa.Enum('pdf', 'jpeg', 'png', 'docx', 'mp3', 'wav', 'm4a', 'amr', 'ogg', name='attachment_file_type', native_enum=False, length=40), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('declared_type', sa.String(length=100), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_backend', sa.String(length=10), nullable=False),
    sa.Column('storage_key', sa.String(length=300), nullable=False),
    sa.Column('recording_consent', sa.Boolean(), nullable=False),
    sa.Column('consent_note', sa.String(length=500), nullable=True),
    sa.Column('uploaded_by_kind', sa.String(length=10), nullable=False),
    sa.Column('uploaded_by_id', sa.UUID(), nullable=False),
    sa.Column('uploaded_by_person_id', sa.UUID(), nullable=True),
    sa.Column('uploaded_by_name', sa.String(length=200), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_name', sa.String(length=200), nullable=True),
    sa.Column('delete_reason', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attachments_case_id_cases')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_attachments_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_attachments_storage_key'))
    )
    op.create_index('ix_attachments_case_id_id', 'attachments', ['case_id', 'id'], unique=False, postgresql_where=sa.text('case_id IS NOT NULL'))
    op.create_index('ix_attachments_owner', 'attachments', ['owner_type', 'owner_id', 'id'], unique=False)
    op.create_index(op.f('ix_attachments_sha256'), 'attachments', ['sha256'], unique=False)
    op.create_index('ix_attachments_unit_path_prefix', 'attachments', ['unit_path'], unique=False, postgresql_ops={'unit_path': 'text_pattern_ops'})


def downgrade() -> None:
    op.drop_index('ix_attachments_unit_path_prefix', table_name='attachments', postgresql_ops={'unit_path': 'text_pattern_ops'})
    op.drop_index(op.f('ix_attachments_sha256'), table_name='attachments')
    op.drop_index('ix_attachments_owner', table_name='attachments')
    op.drop_index('ix_attachments_case_id_id', table_name='attachments', postgresql_where=sa.text('case_id IS NOT NULL'))
    op.drop_table('attachments')
