from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from boxoffice.kernel.db import Base
from boxoffice.kernel.migrations import alembic_config, downgrade, pending, upgrade


def test_upgrade_creates_the_model_and_downgrade_removes_it(fresh_kernel):
    heads = set(ScriptDirectory.from_config(alembic_config(fresh_kernel)).get_heads())
    assert "kernel_0001" not in heads
    assert pending(fresh_kernel) == heads
    upgrade(fresh_kernel)
    assert pending(fresh_kernel) == set()
    tables = set(inspect(fresh_kernel.db.engine).get_table_names())
    assert {table.name for table in Base.metadata.sorted_tables} <= tables
    downgrade(fresh_kernel, "kernel@base")
    assert set(inspect(fresh_kernel.db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(fresh_kernel)
    assert pending(fresh_kernel) == set()


def test_models_and_migrations_agree(fresh_kernel):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(fresh_kernel)
    with fresh_kernel.db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
