"""An API client on the API tests' seeded data with the shredders plugin enabled on ``democon``."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from export_world import enable, past
from litestar.testing import TestClient

from boxoffice.apps.api import create_app
from boxoffice.kernel.config import Config
from boxoffice.kernel.core import Kernel


def _api_helpers() -> Any:
    path = Path(__file__).resolve().parents[2] / "apps" / "api" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_shredders_api_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


HELPERS = _api_helpers()


@pytest.fixture(scope="session")
def shredders_client(
    migrated_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Kernel, TestClient]]:
    kernel = Kernel(Config(database_url=migrated_url, data_dir=tmp_path_factory.mktemp("shredders-data")))
    with TestClient(app=create_app(kernel)) as client:
        yield kernel, client
    kernel.close()


@pytest.fixture
def api(shredders_client: tuple[Kernel, TestClient], empty_tables: Callable[[Kernel], None]) -> Iterator[Any]:
    kernel, client = shredders_client
    HELPERS.seed(kernel)
    holder = HELPERS.Api(kernel, client, "")
    holder.token = holder.make_token()
    enable(holder, "shredders")
    past(holder)
    try:
        yield holder
    finally:
        empty_tables(kernel)
