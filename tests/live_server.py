"""Real processes: ``boxoffice serve`` for the tests that race requests at a server (no test client in between), and
Celery workers (``boxoffice worker``) for the tests of jobs run out of process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

POSTGRES = bool(os.environ.get("BOXOFFICE_TEST_DATABASE_URL"))
# Several processes on PostgreSQL; on SQLite two share the database file, which is what the embedded default allows.
WORKERS = 4 if POSTGRES else 2
BOXOFFICE = Path(sys.executable).with_name("boxoffice")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(database_url: str, data_dir: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BOXOFFICE_")}
    environment.update(BOXOFFICE_DATABASE_URL=database_url, BOXOFFICE_DATA_DIR=str(data_dir))
    return environment


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    # Generous: on a busy machine several worker processes take a while to import and start.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not come up:\n{log.read_text()}")


@contextmanager
def live_server(database_url: str, data_dir: Path, workers: int = WORKERS) -> Iterator[str]:
    """Run ``boxoffice serve`` on ``database_url`` with ``workers`` processes; yields its base URL."""
    port = free_port()
    log = data_dir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BOXOFFICE), "serve", "--no-demo", "--workers", str(workers), "--port", str(port)],
            env=_environment(database_url, data_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, url, log)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_worker(
    database_url: str, redis_url: str, data_dir: Path, queue: str, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """A one-process ``boxoffice worker`` on ``queue``; stop it with :func:`stop_worker`."""
    env = {
        **os.environ,
        "BOXOFFICE_DATABASE_URL": database_url,
        "BOXOFFICE_REDIS_URL": redis_url,
        "BOXOFFICE_DATA_DIR": str(data_dir),
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "boxoffice.apps.cli", "worker", "-c", "1", "-Q", queue],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopping it takes the pool child too
    )


def stop_worker(worker: subprocess.Popen[str]) -> str:
    """Stop the worker (if it still runs) and return what it printed."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
    try:
        output, _ = worker.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        output, _ = worker.communicate()
    return output or ""


def wait_for_job(kernel: Any, job_id: str, seconds: float = 60) -> Any:
    """The job's record once it stopped waiting and running (or when ``seconds`` have passed)."""
    deadline = time.monotonic() + seconds
    record = kernel.jobs.status(job_id)
    while record.status in ("waiting", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        record = kernel.jobs.status(job_id)
    return record


def post_at_once(url: str, token: str, path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST every body to ``path`` at the same instant: one thread and connection per request, released together."""
    barrier = threading.Barrier(len(bodies))
    responses: list[httpx.Response | BaseException | None] = [None] * len(bodies)
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    with httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=60, limits=limits) as client:

        def send(index: int) -> None:
            barrier.wait()
            try:
                responses[index] = client.post(path, json=bodies[index])
            except BaseException as problem:
                responses[index] = problem

        threads = [threading.Thread(target=send, args=(index,)) for index in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    failures = [response for response in responses if not isinstance(response, httpx.Response)]
    assert not failures, failures[:3]
    return responses  # type: ignore[return-value]
