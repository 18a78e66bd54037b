import uuid

import pytest
from conftest import POSTGRES_URL, with_search_path
from sqlalchemy import create_engine, inspect, text

from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.db import Base, normalise_url
from boxoffice.kernel.migrations import downgrade, pending, upgrade


@pytest.fixture
def fresh_kernel(tmp_path):
    """A kernel on an empty database of its own (a new schema on PostgreSQL)."""
    if POSTGRES_URL:
        schema = f"boxoffice_mig_{uuid.uuid4().hex[:10]}"
        admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = with_search_path(POSTGRES_URL, schema)
    else:
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    kernel = Kernel(Config(database_url=url, data_dir=tmp_path))
    yield kernel
    kernel.close()
    if POSTGRES_URL:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_upgrade_creates_the_model_and_downgrade_removes_it(fresh_kernel):
    assert pending(fresh_kernel) == {"kernel_0001"}
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
