"""`make run-prod-local`: the production topology on one machine, switched by settings only.

    nginx (public :8080, internal :8081 actions, :8082 Rasa HTTP API)
      -> 2 Rasa instances (PostgreSQL tracker store, Redis lock store, HTTP API behind a token)
      -> 2 action servers (damage model loaded once per process)
      -> the API under gunicorn with uvicorn workers (PostgreSQL, photos in S3-compatible storage)

PostgreSQL and Redis are the machine's own services (127.0.0.1:5432 and :6379); nginx is Debian's
(`make nginx`). The S3 endpoint is moto's server on loopback (no S3 service runs here; point
S3_ENDPOINT_URL at MinIO or AWS in a real deployment). Secrets are generated once into
var/prod/secrets.env. docs/deploy.md describes the topology; scripts/loadtest.py drives it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import string
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.make_secrets import ensure_secrets
from scripts.run import (
    ROOT,
    Service,
    free_port,
    launch,
    migrate_and_seed,
    spawn,
    stop_stack,
    supervise,
    wait_healthy,
)

PY = str(ROOT / ".venv" / "bin" / "python")
RASA = str(ROOT / ".venv-rasa" / "bin" / "rasa")
RASA_MODEL = ROOT / "models" / "rasa" / "returns-assistant.tar.gz"
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "local.conf.template"
SECRET_NAMES = ("SECRET_KEY", "SERVICE_TOKEN", "CARRIER_WEBHOOK_SECRET", "RASA_TOKEN", "S3_SECRET_ACCESS_KEY")
POSTGRES = "postgresql://postgres@127.0.0.1:5432"


@dataclass
class Ports:
    public: int = 8080
    actions_lb: int = 8081
    rasa_lb: int = 8082
    api: int = 8100
    rasa: tuple[int, ...] = (5105, 5106)
    actions: tuple[int, ...] = (5155, 5156)
    s3: int = 9000

    @classmethod
    def free(cls) -> Ports:
        """Ports nothing listens on now (tests and the load test run beside `run-prod-local`)."""
        return cls(
            public=free_port(),
            actions_lb=free_port(),
            rasa_lb=free_port(),
            api=free_port(),
            rasa=(free_port(), free_port()),
            actions=(free_port(), free_port()),
            s3=free_port(),
        )


@dataclass
class Topology:
    """Everything `run-prod-local` starts, and the environment each process reads."""

    var: Path = ROOT / "var" / "prod"
    ports: Ports = field(default_factory=Ports)
    database_url: str = f"{POSTGRES}/returns_prod"
    tracker_url: str = f"{POSTGRES}/rasa_prod"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    api_workers: int = 3
    bucket: str = "returns-photos"
    access_log: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.public}"

    @property
    def rasa_api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa_lb}"

    def secrets(self) -> dict[str, str]:
        return ensure_secrets(self.var / "secrets.env", SECRET_NAMES)

    def env(self) -> dict[str, str]:
        secrets = self.secrets()
        env = {
            **os.environ,
            "ENVIRONMENT": "production",
            "DAMAGE_MODEL_PRELOAD": "1",
            "VAR_DIR": str(self.var),
            "DATABASE_URL": self.database_url,
            "PUBLIC_BASE_URL": self.public_url,
            "PUBLIC_RASA_URL": self.public_url,
            "API_BASE_URL": self.public_url,
            "CORS_ORIGINS": self.public_url,
            "RASA_URL": self.rasa_api_url,
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.ports.actions_lb}/webhook",
            "RASA_TRACKER_DB_URL": self.tracker_url,
            "RASA_LOCK_STORE": "redis",
            "RASA_LOCK_STORE_URL": self.redis_host,
            # A Rasa instance that dies holding a conversation's lock blocks that conversation
            # until the ticket expires: a turn takes seconds, so 20 s instead of Rasa's 60 s.
            "TICKET_LOCK_LIFETIME": "20",
            # Proactive notices reach a widget's socket whichever Rasa instance it is on.
            "SOCKETIO_REDIS_URL": f"redis://{self.redis_host}:{self.redis_port}/0",
            "SOCKETIO_REDIS_CHANNEL": f"returns-socketio-{self.ports.public}",
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.ports.s3}",
            "S3_ACCESS_KEY_ID": "returns-local",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            **{name: secrets[name] for name in SECRET_NAMES},
            **self.extra_env,
        }
        # moto's server accepts any key pair; boto3 signs with these.
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = (
            "returns-local",
            secrets["S3_SECRET_ACCESS_KEY"],
        )
        return env

    def services(self, rasa_token: str) -> list[Service]:
        p = self.ports
        rasa_args = [
            "run",
            "--enable-api",
            # one argument: a generated token may start with "-", which argparse would take for
            # an option and refuse ("--auth-token: expected one argument")
            f"--auth-token={rasa_token}",
            "--interface",
            "127.0.0.1",
            "--model",
            str(RASA_MODEL),
            "--endpoints",
            "bot/endpoints.yml",
            "--credentials",
            "bot/credentials.yml",
        ]
        stack = [
            Service(
                "api",
                [
                    str(ROOT / ".venv" / "bin" / "gunicorn"),
                    "api.main:app",
                    "--worker-class",
                    "uvicorn_worker.UvicornWorker",
                    "--workers",
                    str(self.api_workers),
                    "--bind",
                    f"127.0.0.1:{p.api}",
                    "--graceful-timeout",
                    "10",
                    "--timeout",
                    "120",
                    "--forwarded-allow-ips",
                    "127.0.0.1",
                ],
                f"http://127.0.0.1:{p.api}/healthz",
            ),
        ]
        for index, port in enumerate(p.actions, 1):
            stack.append(
                Service(
                    f"actions-{index}",
                    [PY, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
                    f"http://127.0.0.1:{port}/health",
                )
            )
        for index, port in enumerate(p.rasa, 1):
            stack.append(
                Service(f"rasa-{index}", [RASA, *rasa_args, "--port", str(port)], f"http://127.0.0.1:{port}/")
            )
        stack.append(
            Service(
                "nginx",
                [
                    "nginx",
                    "-p",
                    str(self.var / "nginx"),
                    "-c",
                    str(self.var / "nginx" / "nginx.conf"),
                    "-g",
                    "daemon off;",
                ],
                f"{self.public_url}/healthz",
            )
        )
        return stack

    def s3_service(self) -> Service:
        return Service(
            "s3",
            [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(self.ports.s3)],
            f"http://127.0.0.1:{self.ports.s3}/",
        )

    def render_nginx(self) -> Path:
        folder = self.var / "nginx"
        # nginx's workers run as `nobody` when the master runs as root: they write the temp files.
        temp = folder / "tmp"
        for path in [temp] + [temp / sub for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi")]:
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o777)

        def servers(ports: tuple[int, ...] | list[int]) -> str:
            return "\n".join(
                f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in ports
            )

        text = string.Template(NGINX_TEMPLATE.read_text()).substitute(
            var=str(folder),
            access_log=f"{folder}/access.log" if self.access_log else "off",
            public_port=self.ports.public,
            actions_port=self.ports.actions_lb,
            rasa_port=self.ports.rasa_lb,
            api_servers=servers([self.ports.api]),
            rasa_servers=servers(self.ports.rasa),
            actions_servers=servers(self.ports.actions),
        )
        conf = folder / "nginx.conf"
        conf.write_text(text)
        return conf


def check_prerequisites(topology: Topology) -> list[str]:
    """What is missing, each with the command that fixes it."""
    problems = []
    if shutil.which("nginx") is None:
        problems.append("nginx is not installed: make nginx (Debian's package)")
    for path, fix in (
        (Path(RASA), "make setup"),
        (RASA_MODEL, "make rasa-model"),
        (ROOT / ".venv" / "bin" / "gunicorn", "make setup"),
        (ROOT / ".venv" / "bin" / "moto_server", "make setup"),
    ):
        if not path.exists():
            problems.append(f"{path.relative_to(ROOT)} is missing: {fix}")
    if not _tcp_answers("127.0.0.1", 5432) and topology.database_url.startswith(POSTGRES):
        problems.append(
            "PostgreSQL does not answer on 127.0.0.1:5432 (start it: pg_ctlcluster 15 main start)"
        )
    if not _redis_answers(topology.redis_host, topology.redis_port):
        problems.append(f"Redis does not answer on {topology.redis_host}:{topology.redis_port}")
    return problems


def _tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _redis_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _admin_url(url: str) -> tuple[str, str]:
    """(URL of the server's `postgres` database, the database name of `url`)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def prepare_databases(topology: Topology, *, fresh: bool = False) -> None:
    """Create the backend's and Rasa's PostgreSQL databases (drop them first when `fresh`)."""
    import psycopg

    for url in (topology.database_url, topology.tracker_url):
        admin, name = _admin_url(url)
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists and fresh:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')


def s3_client(env: dict[str, str]) -> Any:
    """A boto3 client for the topology's S3 endpoint, with its credentials."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def create_bucket(topology: Topology, env: dict[str, str]) -> None:
    s3 = s3_client(env)
    names = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if topology.bucket not in names:
        s3.create_bucket(Bucket=topology.bucket)


@dataclass
class Running:
    topology: Topology
    env: dict[str, str]
    stack: list[Service]
    log_sink: list[str] | None = None
    colour: bool = False

    def service(self, name: str) -> Service:
        return next(s for s in self.stack if s.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL, no goodbye: what a crashed process or a lost machine looks like."""
        service = self.service(name)
        assert service.proc is not None
        os.killpg(service.proc.pid, 9)
        service.proc.wait(timeout=10)

    def restart(self, name: str, timeout: float = 300.0) -> float:
        """Start a stopped service again; returns the seconds until it was healthy."""
        service = self.service(name)
        started = time.monotonic()
        spawn(service, self.env, self.log_sink, self.colour)
        wait_healthy([service], timeout)
        return time.monotonic() - started

    def stop(self) -> None:
        stop_stack(self.stack)


def start(
    topology: Topology,
    *,
    fresh: bool = False,
    seed: bool = True,
    log_sink: list[str] | None = None,
    colour: bool = False,
    timeout: float = 400.0,
) -> Running:
    """Bring the whole topology up and wait until nginx answers for the API."""
    problems = check_prerequisites(topology)
    if problems:
        raise RuntimeError("cannot start the production topology:\n  " + "\n  ".join(problems))
    topology.var.mkdir(parents=True, exist_ok=True)
    env = topology.env()
    prepare_databases(topology, fresh=fresh)
    topology.render_nginx()
    s3 = launch([topology.s3_service()], env, log_sink=log_sink, colour=colour, timeout=60)
    try:
        create_bucket(topology, env)
        seeded = migrate_and_seed(env, seed=seed)
        if seeded and log_sink is None:
            print(seeded, flush=True)
        stack = topology.services(env["RASA_TOKEN"])
        launch(stack, env, log_sink=log_sink, colour=colour, timeout=timeout)
    except BaseException:
        stop_stack(s3)
        raise
    return Running(topology, env, s3 + stack, log_sink, colour)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fresh", action="store_true", help="drop and recreate both databases first")
    parser.add_argument("--api-workers", type=int, default=3, help="gunicorn workers (default 3)")
    args = parser.parse_args(argv)
    topology = Topology(api_workers=args.api_workers)
    try:
        running = start(topology, fresh=args.fresh, colour=sys.stdout.isatty())
    except (RuntimeError, TimeoutError) as exc:
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    login = ROOT / "var" / "prod" / "demo-login.txt"
    user, password = login.read_text().split("\n")[:2] if login.exists() else ("?", "?")
    url = topology.public_url
    print(
        f"\n  Production topology is running (one machine):\n"
        f"    Shop + widget, API, dashboard   {url}/   {url}/merchant   ({user} / {password})\n"
        f"    Rasa x2 behind nginx            {url}/webhooks/rest/webhook  {url}/socket.io/\n"
        f"    Rasa HTTP API (token)           {topology.rasa_api_url}/status?token=..."
        "  (RASA_TOKEN in var/prod/secrets.env)\n"
        f"    Action servers x2 behind nginx  http://127.0.0.1:{topology.ports.actions_lb}/health\n"
        f"    PostgreSQL {topology.database_url} + {topology.tracker_url}\n"
        f"    Redis lock store {topology.redis_host}:{topology.redis_port}, "
        f"photos in s3://{topology.bucket} at http://127.0.0.1:{topology.ports.s3}\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )
    return supervise(running.stack)


if __name__ == "__main__":
    sys.exit(main())
