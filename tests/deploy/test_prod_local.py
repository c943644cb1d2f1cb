"""The production topology on one machine (scripts/prod_local.py), as real processes.

nginx in front of two Rasa instances (PostgreSQL tracker store, Redis lock store, HTTP API
behind a token), two action servers and the API under gunicorn, photos in S3. A shopper's
conversation survives the Rasa instance and the action server it was using being killed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.prod_local import (
    POSTGRES,
    RASA,
    Ports,
    Running,
    Topology,
    check_prerequisites,
    s3_client,
    start,
    stop_stack,
)
from tests.support import missing_prerequisite

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    suffix = f"{os.getpid()}"
    ports = Ports.free()
    topology = Topology(
        var=tmp_path_factory.mktemp("prod") / "var",
        ports=ports,
        database_url=f"{POSTGRES}/returns_t{suffix}",
        tracker_url=f"{POSTGRES}/rasa_t{suffix}",
        api_workers=2,
    )
    problems = check_prerequisites(topology)
    if problems:
        missing_prerequisite("; ".join(problems))
    log: list[str] = []
    try:
        handle = start(topology, fresh=True, log_sink=log, timeout=600)
    except (RuntimeError, TimeoutError) as exc:
        raise AssertionError(f"the topology did not start: {exc}\n" + "\n".join(log[-80:])) from exc
    try:
        yield handle
    finally:
        stop_stack(handle.stack)
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            for name in (f"returns_t{suffix}", f"rasa_t{suffix}"):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_return_completes_while_its_rasa_instance_and_action_server_die(running: Running) -> None:
    from scripts.bench import dataset_photos
    from scripts.loadtest import OPENING, Samples, Shopper, converse, say

    base = running.topology.public_url
    shopper = Shopper(0, "100232", "raj@example.com", "prod-" + os.urandom(4).hex())
    samples = Samples()

    async def talk() -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            url = f"{base}/webhooks/rest/webhook"
            await say(client, url, shopper, OPENING, samples)
            replies = await say(client, url, shopper, "it's #100232", samples)
            # Both Rasa instances have served this conversation by now (round robin); kill one,
            # and one action server, without warning.
            running.kill("rasa-1")
            running.kill("actions-1")
            photos = dataset_photos(3, usable_only=True)
            await converse(client, base, shopper, photos, samples, replies=replies)

    asyncio.run(talk())
    transcript = "\n".join(shopper.transcript)
    assert shopper.outcome == "completed", transcript + "\n" + "\n".join((running.log_sink or [])[-60:])
    assert shopper.rma and shopper.rma.startswith("RMA-")

    # The return is in PostgreSQL with its decision and pickup, once.
    from scripts.loadtest import check_backend, check_trackers

    backend = check_backend([shopper], running.topology.database_url)
    assert backend["returns_in_database"] == 1 and not backend["lost"] and not backend["duplicated"]
    assert not backend["without_decision"] and not backend["approved_without_pickup"]
    # The conversation kept every answered turn (tracker in PostgreSQL, read with the token);
    # Rasa's HTTP API refuses a caller without the token and is not behind the public port.
    trackers = check_trackers([shopper], running)
    assert trackers["conversations_missing_turns"] == [] and trackers["conversations_missing_rma"] == []
    assert trackers["tracker_without_token_status"] in (401, 403)
    assert trackers["tracker_on_public_port_status"] == 404

    # The photo went to the S3 bucket, not to the local disk.
    s3 = s3_client(running.env)
    objects = s3.list_objects_v2(Bucket=running.topology.bucket).get("Contents", [])
    assert objects, "no photo in the bucket"
    uploads = running.topology.var / "uploads"
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))

    # The killed instances come back and serve again.
    running.restart("rasa-1")
    running.restart("actions-1")
    for port in running.topology.ports.rasa:
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200


def test_nginx_serves_the_shop_and_the_api_through_gunicorn(running: Running) -> None:
    base = running.topology.public_url
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
    page = httpx.get(f"{base}/", timeout=10)
    assert page.status_code == 200 and "widget.js" in page.text
    # Production: the demo orders page is not served.
    assert httpx.get(f"{base}/orders", timeout=10).status_code == 404
    # An upload bigger than nginx allows gets a clear 413, not a dropped connection.
    too_big = httpx.post(
        f"{base}/api/v1/uploads", files={"file": ("x.jpg", b"\xff" * (13 * 1024 * 1024))}, timeout=30
    )
    assert too_big.status_code == 413
    assert "at most 10 MB" in too_big.json()["detail"]


def test_a_notice_reaches_a_widget_connected_to_the_other_rasa_instance(running: Running) -> None:
    """The backend's trigger_intent lands on rasa-2; the shopper's socket is on rasa-1. The
    Redis client manager (SOCKETIO_REDIS_URL) carries the message across."""
    import json
    import subprocess
    import sys
    import threading
    import time

    for name in ("rasa-1", "rasa-2"):
        service = running.service(name)
        if service.proc is None or service.proc.poll() is not None:
            running.restart(name)
    first, second = running.topology.ports.rasa
    session = "notice-" + os.urandom(4).hex()
    python = str(Path(RASA).parent / "python")
    listener = subprocess.Popen(
        [python, str(Path(__file__).parent / "socketio_listener.py"), f"http://127.0.0.1:{first}", session],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
    )
    lines: list[dict[str, object]] = []
    threading.Thread(
        target=lambda: [lines.append(json.loads(line)) for line in listener.stdout or []], daemon=True
    ).start()

    def wait_for(predicate: object, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(predicate(line) for line in list(lines)):  # type: ignore[operator]
                return True
            time.sleep(0.2)
        return False

    try:
        assert wait_for(lambda line: "bot_uttered" in line, 90), f"no greeting over socket.io: {lines}"
        resp = httpx.post(
            f"http://127.0.0.1:{second}/conversations/{session}/trigger_intent",
            params={"output_channel": "latest", "token": running.env["RASA_TOKEN"]},
            json={
                "name": "EXTERNAL_return_update",
                "entities": {"rma": "RMA-NOTICE-1", "return_message": "Your pickup RMA-NOTICE-1 is booked."},
            },
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        assert wait_for(lambda line: "RMA-NOTICE-1" in json.dumps(line.get("bot_uttered", "")), 30), (
            f"the notice did not reach the socket on the other instance: {lines}"
        )
    finally:
        listener.kill()
        listener.wait(timeout=10)
