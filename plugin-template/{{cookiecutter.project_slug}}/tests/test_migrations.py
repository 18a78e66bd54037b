"""The Alembic revision creates exactly what ``models.py`` declares, and its downgrade removes it again.

Runs the revision's ``upgrade()``/``downgrade()`` directly on an in-memory SQLite database whose kernel tables are
created from the kernel's models, then lets Alembic's autogenerate compare the result with the plugin's model.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from boxoffice.kernel import models as kernel_models
from boxoffice.kernel.db import Base
from sqlalchemy import Connection, create_engine, inspect

from {{ cookiecutter.module_name }} import models

NAME = "{{ cookiecutter.entry_point_name }}"
VERSIONS = Path(models.__file__).parent / "migrations" / "versions"
PLUGIN_TABLES = {table.name for table in Base.metadata.sorted_tables if table.name.startswith(f"{NAME}_")}


def load_revision(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{NAME}_revision_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def connection() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        kernel_tables = [kernel_models.Organizer.__table__, kernel_models.Event.__table__]
        Base.metadata.create_all(connection, tables=kernel_tables)
        yield connection
    engine.dispose()


def only_plugin_tables(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is not None and table.name in PLUGIN_TABLES


def test_initial_revision_is_on_its_own_branch() -> None:
    revision = load_revision(VERSIONS / f"{NAME}_0001_initial.py")
    assert revision.revision == f"{NAME}_0001"
    assert revision.down_revision is None
    assert revision.branch_labels == (NAME,)
    assert revision.depends_on == "kernel_0001"


def test_upgrade_matches_models_and_downgrade_reverts(connection: Connection) -> None:
    assert {models.Note.__tablename__} == PLUGIN_TABLES
    revision = load_revision(VERSIONS / f"{NAME}_0001_initial.py")
    context = MigrationContext.configure(connection, opts={"include_object": only_plugin_tables})

    with Operations.context(context):
        revision.upgrade()
    assert compare_metadata(context, Base.metadata) == []
    foreign_keys = inspect(connection).get_foreign_keys(models.Note.__tablename__)
    assert [(fk["referred_table"], fk["options"].get("ondelete")) for fk in foreign_keys] == [("event", "CASCADE")]

    with Operations.context(context):
        revision.downgrade()
    assert not PLUGIN_TABLES & set(inspect(connection).get_table_names())
