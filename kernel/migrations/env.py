"""Alembic environment: runs against the kernel's engine (passed in by ``boxoffice.kernel.migrations``)."""

from alembic import context

from boxoffice.kernel import models  # noqa: F401  (registers the kernel tables on the metadata)
from boxoffice.kernel.db import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
