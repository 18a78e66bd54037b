"""An API client on the API tests' seeded data with the shredders plugin enabled on ``democon``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from export_world import enable, past, running_app, seeded_api
from litestar.testing import TestClient

from boxoffice.kernel.core import Kernel


@pytest.fixture(scope="session")
def shredders_client(
    migrated_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Kernel, TestClient]]:
    with running_app(migrated_url, tmp_path_factory, "shredders") as app:
        yield app


@pytest.fixture
def api(shredders_client: tuple[Kernel, TestClient], empty_tables: Callable[[Kernel], None]) -> Iterator[Any]:
    with seeded_api(shredders_client, empty_tables) as holder:
        enable(holder, "shredders")
        past(holder)
        yield holder
