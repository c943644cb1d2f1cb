"""The whole system for end-to-end tests: api + actions + rasa as real processes, once a session.

`stack` starts them with `scripts.run.start_stack` on free ports, against a temporary VAR_DIR
(migrated and seeded) and a temporary Rasa tracker store, so nothing touches var/ or the ports
`make run` uses. Tests talk to it over HTTP and socket.io like any client would.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SERVICE_TOKEN, free_port
from tests.support import missing_prerequisite

RASA_MODEL = ROOT / "models" / "rasa" / "returns-assistant.tar.gz"
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"


@dataclass
class Stack:
    api: str
    rasa: str
    actions: str
    var: Path
    env: dict[str, str]
    log: list[str] = field(default_factory=list)

    def get_json(self, url: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())

    def tracker(self, sender_id: str) -> dict[str, Any]:
        quoted = urllib.parse.quote(sender_id, safe="")
        return dict(self.get_json(f"{self.rasa}/conversations/{quoted}/tracker"))

    def user_turns(self, sender_id: str) -> int:
        return sum(1 for e in self.tracker(sender_id).get("events", []) if e["event"] == "user")

    def wait_for_turn(self, sender_id: str, turns_before: int, timeout: float = 120) -> None:
        """Until Rasa has handled one more user message and listens again (its answers are out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.tracker(sender_id).get("events", [])
            users = sum(1 for e in events if e["event"] == "user")
            if (
                users > turns_before
                and events[-1]["event"] == "action"
                and events[-1]["name"] == "action_listen"
            ):
                return
            time.sleep(0.25)
        raise AssertionError("the bot did not finish its turn; last log lines:\n" + "\n".join(self.log[-60:]))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not RASA_BIN.exists():
        missing_prerequisite("the Rasa venv (.venv-rasa) is not set up: make setup")
    if not RASA_MODEL.exists():
        missing_prerequisite(f"no Rasa model at {RASA_MODEL.relative_to(ROOT)}: run `make rasa-model`")
    from scripts.run import isolated_env, migrate_and_seed, start_stack, stop_stack

    var = tmp_path_factory.mktemp("e2e") / "var"
    var.mkdir()
    api_port, rasa_port, actions_port = free_port(), free_port(), free_port()
    api, rasa = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{rasa_port}"
    env = isolated_env(var, (api_port, rasa_port, actions_port), name="e2e", service_token=SERVICE_TOKEN)
    migrate_and_seed(env)
    log: list[str] = []
    services = start_stack(env, ports=(api_port, rasa_port, actions_port), log_sink=log, timeout=400)
    try:
        yield Stack(api=api, rasa=rasa, actions=f"http://127.0.0.1:{actions_port}", var=var, env=env, log=log)
    finally:
        stop_stack(services)
