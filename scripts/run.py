"""Start rasa + actions + api together, each log line prefixed by its process; Ctrl-C stops all.

Used by `make run` (after set-up, migrations, seed and the Rasa model are in place) and by the
end-to-end tests (`scripts.run.start_stack`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLOURS = {"rasa": "35", "actions": "36", "api": "32", "nginx": "33", "s3": "34"}


@dataclass
class Service:
    name: str
    argv: list[str]
    health_url: str
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def load_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip()
    return env


def services(
    api_port: int = 8000, rasa_port: int = 5005, actions_port: int = 5055, host: str = "127.0.0.1"
) -> list[Service]:
    py = str(ROOT / ".venv" / "bin" / "python")
    rasa = str(ROOT / ".venv-rasa" / "bin" / "rasa")
    return [
        Service(
            "api",
            [py, "-m", "uvicorn", "api.main:app", "--host", host, "--port", str(api_port), "--no-access-log"],
            f"http://127.0.0.1:{api_port}/healthz",
        ),
        Service(
            "actions",
            [py, "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
            f"http://127.0.0.1:{actions_port}/health",
        ),
        Service(
            "rasa",
            [
                rasa,
                "run",
                "--enable-api",
                "--cors",
                "*",
                "--port",
                str(rasa_port),
                "--interface",
                host,
                "--model",
                str(ROOT / "models" / "rasa" / "returns-assistant.tar.gz"),
                "--endpoints",
                "bot/endpoints.yml",
                "--credentials",
                "bot/credentials.yml",
            ],
            f"http://127.0.0.1:{rasa_port}/status",
        ),
    ]


def _pump(service: Service, sink: list[str] | None, colour: bool) -> None:
    assert service.proc is not None and service.proc.stdout is not None
    prefix = f"{service.name:>9} | "
    if colour:
        prefix = f"\033[{COLOURS.get(service.name.split('-')[0], '37')}m{prefix}\033[0m"
    for raw in iter(service.proc.stdout.readline, b""):
        line = raw.decode(errors="replace").rstrip()
        if sink is not None:
            sink.append(f"{service.name} | {line}")
        else:
            print(prefix + line, flush=True)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(200 <= resp.status < 300)
    except OSError:
        return False


def isolated_env(var: Path, ports: tuple[int, int, int], *, name: str, service_token: str) -> dict[str, str]:
    """Settings for a throw-away stack (tests, benchmarks): its own VAR_DIR (SQLite database,
    uploads, Rasa's tracker store) and ports, nothing shared with `make run`."""
    api_port, rasa_port, actions_port = ports
    api = f"http://127.0.0.1:{api_port}"
    return {
        "VAR_DIR": str(var),
        "DATABASE_URL": "",
        "ENVIRONMENT": "test",
        "SECRET_KEY": f"{name}-secret-key-" + "k" * 24,
        "SERVICE_TOKEN": service_token,
        "CARRIER_WEBHOOK_SECRET": f"{name}-carrier-secret",
        "API_BASE_URL": api,
        "PUBLIC_BASE_URL": api,
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "RASA_TRACKER_DB_URL": f"sqlite:///{var}/rasa-tracker.db",
        "RASA_LOCK_STORE": "in_memory",
        "RASA_LOCK_STORE_URL": "",
    }


def migrate_and_seed(env: dict[str, str], *, seed: bool = True) -> str:
    """`python -m api.migrate upgrade` (and `api.seed`) with `env`; their output, or RuntimeError."""
    steps = [["-m", "api.migrate", "upgrade"]] + ([["-m", "api.seed"]] if seed else [])
    output = []
    for step in steps:
        done = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), *step],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(step[1:])} failed:\n{done.stdout}{done.stderr}")
        output.append(done.stdout.strip())
    return "\n".join(line for line in output if line)


def start_stack(
    env: dict[str, str],
    *,
    ports: tuple[int, int, int] = (8000, 5005, 5055),
    log_sink: list[str] | None = None,
    colour: bool = False,
    timeout: float = 240.0,
) -> list[Service]:
    """Start the three processes and wait until each answers its health check."""
    api_port, rasa_port, actions_port = ports
    defaults = {
        # bot/endpoints.yml reads these; production overrides them (docs/deploy.md).
        "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "RASA_TRACKER_DB_URL": "",
        "RASA_LOCK_STORE": "in_memory",
        "RASA_LOCK_STORE_URL": "",
        "API_BASE_URL": f"http://127.0.0.1:{api_port}",
    }
    full_env = {**defaults, **os.environ, **load_env_file(ROOT / "var" / "secrets.env"), **env}
    # The action server loads the damage model as it starts (the test session turns it off for
    # its own process, not for the stacks it starts).
    full_env["DAMAGE_MODEL_PRELOAD"] = env.get("DAMAGE_MODEL_PRELOAD", "1")
    return launch(
        services(api_port, rasa_port, actions_port),
        full_env,
        log_sink=log_sink,
        colour=colour,
        timeout=timeout,
    )


def spawn(
    service: Service, env: dict[str, str], log_sink: list[str] | None = None, colour: bool = False
) -> Service:
    """Start one process (again, after a restart) with its output pumped to the sink or stdout."""
    full_env = {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    service.proc = subprocess.Popen(
        service.argv,
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    threading.Thread(target=_pump, args=(service, log_sink, colour), daemon=True).start()
    return service


def wait_healthy(stack: list[Service], timeout: float) -> None:
    """Until every service answers its health check; a process that exits fails at once."""
    deadline = time.monotonic() + timeout
    pending = list(stack)
    while pending:
        for service in list(pending):
            assert service.proc is not None
            if service.proc.poll() is not None:
                raise RuntimeError(f"{service.name} exited with code {service.proc.returncode}")
            if healthy(service.health_url):
                pending.remove(service)
        if pending and time.monotonic() > deadline:
            raise TimeoutError("not healthy in time: " + ", ".join(s.name for s in pending))
        if pending:
            time.sleep(0.5)


def launch(
    stack: list[Service],
    env: dict[str, str],
    *,
    log_sink: list[str] | None = None,
    colour: bool = False,
    timeout: float = 240.0,
) -> list[Service]:
    """Start every service of `stack` with `env` and wait for their health checks (or stop all)."""
    for service in stack:
        spawn(service, env, log_sink, colour)
    try:
        wait_healthy(stack, timeout)
    except (RuntimeError, TimeoutError):
        stop_stack(stack)
        raise
    return stack


def stop_stack(stack: list[Service]) -> None:
    for service in reversed(stack):
        if service.proc and service.proc.poll() is None:
            os.killpg(service.proc.pid, signal.SIGTERM)
    for service in stack:
        if service.proc:
            try:
                service.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(service.proc.pid, signal.SIGKILL)


def main() -> int:
    login = ROOT / "var" / "demo-login.txt"
    try:
        stack = start_stack({}, colour=sys.stdout.isatty())
    except (RuntimeError, TimeoutError) as exc:
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    user, password = login.read_text().split("\n")[:2] if login.exists() else ("?", "?")
    print(
        "\n  Returns assistant is running:\n"
        "    Demo shop + chat widget   http://127.0.0.1:8000/\n"
        "    Merchant dashboard        http://127.0.0.1:8000/merchant\n"
        f"      login                   {user} / {password}\n"
        "    API docs                  http://127.0.0.1:8000/docs\n"
        "    Rasa                      http://127.0.0.1:5005/status\n"
        "    Action server             http://127.0.0.1:5055/health\n"
        "  Try: order 100232, email raj@example.com, 'my vase arrived broken', send a photo.\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )
    return supervise(stack)


def supervise(stack: list[Service]) -> int:
    """Until Ctrl-C, SIGTERM, SIGHUP or one process exiting; then stop them all."""
    stopping = threading.Event()
    # Explicit handlers: Ctrl-C must stop everything even when the shell started us with SIGINT
    # ignored (a background job), and a closed terminal (SIGHUP) too.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        while not stopping.is_set():
            for service in stack:
                assert service.proc is not None
                if service.proc.poll() is not None:
                    print(
                        f"{service.name} stopped (exit {service.proc.returncode}); stopping all",
                        file=sys.stderr,
                    )
                    stopping.set()
            stopping.wait(1.0)
    except KeyboardInterrupt:
        pass
    print("\nstopping...", flush=True)
    stop_stack(stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
