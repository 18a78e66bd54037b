"""Alembic, with one version branch for the kernel (label ``kernel``) and one per plugin.

A plugin's revisions live in its package's ``migrations/versions/`` folder (found through its entry point); its
first revision carries ``branch_labels = ("<plugin name>",)`` and ``depends_on = "kernel_0001"``.
``upgrade`` runs every head, so installing a plugin and running ``boxoffice migrate`` creates its tables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(kernel: Kernel) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # The kernel's own default plugin lives in kernel/, so its folder is listed by the plugin manager too.
    locations = dict.fromkeys(
        p.resolve() for p in [MIGRATIONS_DIR / "versions", *kernel.plugins.migration_dirs().values()]
    )
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    config.attributes["engine"] = kernel.db.engine
    return config


def upgrade(kernel: Kernel, target: str = "heads") -> None:
    command.upgrade(alembic_config(kernel), target)


def downgrade(kernel: Kernel, target: str) -> None:
    command.downgrade(alembic_config(kernel), target)


def pending(kernel: Kernel) -> set[str]:
    """Heads that are not applied yet (empty when the database is current)."""
    script = ScriptDirectory.from_config(alembic_config(kernel))
    with kernel.db.engine.connect() as connection:
        applied = set(MigrationContext.configure(connection).get_current_heads())
    return set(script.get_heads()) - applied
