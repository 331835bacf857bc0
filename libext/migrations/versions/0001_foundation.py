"""foundation: libraries, records, holdings

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('libext_library',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('isil', sa.String(length=64), nullable=True),
    sa.Column('oai_url', sa.String(length=1024), nullable=True),
    sa.Column('oai_prefix', sa.String(length=64), nullable=True),
    sa.Column('oai_set', sa.String(length=255), nullable=True),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_libext_library')),
    sa.UniqueConstraint('code', name=op.f('uq_libext_library_code'))
    )
    op.create_table('libext_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('library_id', sa.Integer(), nullable=False),
    sa.Column('local_id', sa.String(length=255), nullable=False),
    sa.Column('marc', sa.LargeBinary(), nullable=False),
    sa.Column('leader', sa.String(length=24), nullable=False),
    sa.Column('control_number', sa.String(length=64), nullable=True),
    sa.Column('control_org', sa.String(length=64), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('authors', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('isbns', sa.Text(), nullable=False),
    sa.Column('issns', sa.Text(), nullable=False),
    sa.Column('publisher', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=3), nullable=False),
    sa.Column('material_type', sa.String(length=2), nullable=False),
    sa.Column('datestamp', sa.DateTime(), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('origin_base_url', sa.String(length=1024), nullable=True),
    sa.Column('origin_identifier', sa.String(length=512), nullable=True),
    sa.Column('origin_datestamp', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['library_id'], ['libext_library.id'], name=op.f('fk_libext_record_library_id_libext_library'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_libext_record'))
    )
    with op.batch_alter_table('libext_record', schema=None) as batch_op:
        batch_op.create_index('ix_libext_record_datestamp_id', ['datestamp', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_libext_record_deleted'), ['deleted'], unique=False)
        batch_op.create_index('ix_libext_record_library_control', ['library_id', 'control_number'], unique=False)
        batch_op.create_index('uq_libext_record_library_local', ['library_id', 'local_id'], unique=True)

    op.create_table('libext_holding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('library_id', sa.Integer(), nullable=False),
    sa.Column('call_number', sa.String(length=255), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('location', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['library_id'], ['libext_library.id'], name=op.f('fk_libext_holding_library_id_libext_library'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['libext_record.id'], name=op.f('fk_libext_holding_record_id_libext_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_libext_holding'))
    )
    with op.batch_alter_table('libext_holding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_libext_holding_library_id'), ['library_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_libext_holding_record_id'), ['record_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('libext_holding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_libext_holding_record_id'))
        batch_op.drop_index(batch_op.f('ix_libext_holding_library_id'))

    op.drop_table('libext_holding')
    with op.batch_alter_table('libext_record', schema=None) as batch_op:
        batch_op.drop_index('uq_libext_record_library_local')
        batch_op.drop_index('ix_libext_record_library_control')
        batch_op.drop_index(batch_op.f('ix_libext_record_deleted'))
        batch_op.drop_index('ix_libext_record_datestamp_id')

    op.drop_table('libext_record')
    op.drop_table('libext_library')

