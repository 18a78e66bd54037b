"""Alembic, with one version branch for the kernel (label ``kernel``) and one per plugin.

A plugin's revisions live in its package's ``migrations/versions/`` folder (found through its entry point); its
first revision carries ``branch_labels = ("<plugin name>",)`` and ``depends_on = "kernel_0001"``.
``upgrade`` runs every head, so installing a plugin and running ``boxoffice migrate`` creates its tables.
"""

from __future__ import annotations

import importlib.util
import os
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from boxoffice.hookspecs import ENTRY_POINT_GROUP

if TYPE_CHECKING:
    from boxoffice.kernel.core import Kernel

MIGRATIONS_DIR = Path(__file__).parent


def _unloaded_plugin_dirs(kernel: Kernel) -> list[Path]:
    """Version folders of installed plugins that are not loaded (disabled, or failing to import).

    Their revisions may already be applied; Alembic must still know them or it cannot place the database.
    """
    found = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in kernel.plugins.plugins:
            continue
        try:
            spec = importlib.util.find_spec(entry_point.module)
        except Exception:
            continue
        if spec is not None and spec.origin:
            versions = Path(spec.origin).parent / "migrations" / "versions"
            if versions.is_dir():
                found.append(versions)
    return found


def alembic_config(kernel: Kernel) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # The kernel's own default plugin lives in kernel/, so its folder is listed by the plugin manager too.
    locations = dict.fromkeys(
        p.resolve()
        for p in [
            MIGRATIONS_DIR / "versions",
            *kernel.plugins.migration_dirs().values(),
            *_unloaded_plugin_dirs(kernel),
        ]
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
