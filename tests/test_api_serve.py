"""``followthrough serve`` end to end: the demo workspace into a fresh database, a token, the server.

The way a person checks it: run the demo, create a token, start the server;
no token or a wrong one is 401, the token lists open commitments, and a PATCH
to done sticks (the server says so, and so does the CLI after it stops).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_support import BACKENDS, database
from tests.clirunner import CliResult, followthrough
from tests.conftest import DEMO

CLI = [sys.executable, "-c", "from followthrough.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(db: str, *args: str) -> CliResult:
    return followthrough("--db", db, "--as-of", "2026-03-16", *args)


@pytest.fixture(params=BACKENDS)
def demo_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, "test_api_serve", tmp_path) as url:
        run = _cli(url, "--quiet", "run", str(DEMO))
        assert run.returncode == 0, run.stderr
        yield url


@pytest.mark.slow
def test_serve_the_demo_workspace(demo_db: str, tmp_path: Path) -> None:
    created = _cli(demo_db, "tokens", "create", "--name", "checker")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [*CLI, "--db", demo_db, "--as-of", "2026-03-16", "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

        assert httpx.get(base + "/v1/commitments").status_code == 401
        wrong = httpx.get(base + "/v1/commitments", headers={"Authorization": "Bearer ft_wrong"})
        assert wrong.status_code == 401

        auth = {"Authorization": f"Bearer {token}"}
        page = httpx.get(base + "/v1/commitments", params={"status": "open"}, headers=auth)
        assert page.status_code == 200
        items = page.json()["items"]
        assert items and all(i["status"] == "open" for i in items)

        target = items[0]["id"]
        done = httpx.patch(base + f"/v1/commitments/{target}", json={"status": "done"}, headers=auth)
        assert done.status_code == 200 and done.json()["status"] == "done"
        assert httpx.get(base + f"/v1/commitments/{target}", headers=auth).json()["status"] == "done"
        still_open = {i["id"] for i in httpx.get(base + "/v1/commitments", headers=auth).json()["items"]}
        assert target not in still_open
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    shown = _cli(demo_db, "commitments", "show", str(target), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "done"
    logged = log.read_text()
    assert "GET /v1/commitments" in logged and token not in logged
