"""deploy/ validated offline: Kubernetes manifests against the bundled Kubernetes schemas, the
compose file against the compose-spec schema and by the docker compose binary, nginx.conf by
`nginx -t`, the Dockerfiles by hadolint; then the invariants that matter for this topology.

The validators are dev dependencies (pyproject.toml); a missing one fails these tests.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.manifests import (
    COMPOSE_DIR,
    COMPOSE_ENV_EXAMPLE,
    COMPOSE_FILE,
    DOCKERFILES,
    IMAGE_ENV,
    K8S,
    NGINX_CONF,
    RASA_ENTRYPOINT,
    ROOT,
    SECRET_NAME,
    SECRET_TEMPLATE,
    Directive,
    by_kind,
    compose_config,
    compose_env,
    compose_raw,
    containers,
    endpoints_env_names,
    env_example,
    k8s_files,
    kustomization,
    load_documents,
    nginx_test,
    parse_nginx,
    pod_specs,
    rasa_env_names,
    render_kustomization,
    run,
    settings_env_names,
    tool,
)
from tests.support import run_in_rasa_venv

# The oldest Kubernetes minor still in common managed support, and the newest the validator knows.
K8S_VERSIONS = ("1.30", "latest")
SCALED = ("api", "actions", "rasa")
APP_SERVICES = ("api", "actions", "migrate", "bucket-init")  # processes that read api/settings.py
RASA_API_PATHS = ("/conversations", "/model", "/status", "/version", "/domain")


@pytest.fixture(scope="module")
def k8s_validate() -> Any:
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate is missing: `make setup` installs it (pyproject.toml dev extras)")
    return kubernetes_validate


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render_kustomization()


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compose_config(tmp_path_factory.mktemp("compose-home"))


@pytest.fixture(scope="module")
def nginx() -> Directive:
    return parse_nginx(NGINX_CONF.read_text())


def _k8s_version(module: Any, version: str) -> str:
    return str(module.latest_version()) if version == "latest" else version


def _k8s_errors(module: Any, doc: dict[str, Any], version: str) -> str | None:
    try:
        module.validate(doc, _k8s_version(module, version), strict=True)
    except module.ValidationError as exc:
        where = ".".join(str(part) for part in exc.path)
        return f"{doc['kind']}/{doc['metadata']['name']}: {where}: {exc.message}"
    return None


# --- the validators themselves ---------------------------------------------------------------------


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", k8s_files(), ids=lambda p: p.name)
def test_k8s_manifest_matches_the_kubernetes_schema(k8s_validate: Any, path: Path, version: str) -> None:
    docs = load_documents(path)
    assert docs, f"{path} holds no object"
    errors = [e for doc in docs if (e := _k8s_errors(k8s_validate, doc, version))]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_rendered_kustomization_matches_the_kubernetes_schema(
    k8s_validate: Any, rendered: list[dict[str, Any]], version: str
) -> None:
    errors = [e for doc in rendered if (e := _k8s_errors(k8s_validate, doc, version))]
    assert not errors, "\n".join(errors)


def test_k8s_validator_rejects_a_broken_manifest(k8s_validate: Any) -> None:
    deployment = by_kind(load_documents(K8S / "rasa.yaml"), "Deployment")["rasa"]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSecond"] = 10
    assert _k8s_errors(k8s_validate, broken, "latest"), "strict validation accepted an unknown field"
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["replicas"] = "two"
    assert _k8s_errors(k8s_validate, broken, "latest")


def test_compose_file_matches_the_compose_spec_schema() -> None:
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_config_accepts_the_file_with_the_example_env(tmp_path: Path) -> None:
    result = run(
        [
            tool("docker-compose"),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(COMPOSE_ENV_EXAMPLE),
            "config",
            "-q",
        ],
        env=compose_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_the_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run(
        [tool("docker-compose"), "-f", str(COMPOSE_FILE), "--env-file", str(empty), "config", "-q"],
        env=compose_env(tmp_path),
    )
    assert result.returncode != 0
    for name in (
        "POSTGRES_PASSWORD",
        "SECRET_KEY",
        "SERVICE_TOKEN",
        "RASA_TOKEN",
        "MINIO_ROOT_PASSWORD",
        "CARRIER_WEBHOOK_SECRET",
    ):
        assert name in result.stderr, result.stderr


def test_compose_validator_rejects_a_dangling_dependency(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace(
            "      migrate:\n        condition:", "      migrat:\n        condition:", 1
        )
    )
    result = run(
        [tool("docker-compose"), "-f", str(broken), "--env-file", str(COMPOSE_ENV_EXAMPLE), "config", "-q"],
        env=compose_env(tmp_path),
    )
    assert result.returncode != 0 and "migrat" in result.stderr, result.stderr


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    result = nginx_test(NGINX_CONF.read_text(), tmp_path)
    assert result.returncode == 0, result.stderr


def test_nginx_validator_rejects_a_broken_config(tmp_path: Path) -> None:
    result = nginx_test(
        NGINX_CONF.read_text().replace("client_max_body_size 12m;", "client_max_body_size;"), tmp_path
    )
    assert result.returncode != 0, result.stderr


def test_dockerfiles_pass_hadolint() -> None:
    result = run([tool("hadolint"), "--no-color", *map(str, DOCKERFILES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN cd /tmp && pip install rasa\n")
    assert run([tool("hadolint"), "--no-color", str(bad)]).returncode != 0


# --- Kubernetes invariants ----------------------------------------------------------------------------


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    listed = kustomization()["resources"]
    on_disk = {p.name for p in k8s_files()}
    assert set(listed) == on_disk - {SECRET_TEMPLATE.name}, (listed, on_disk)
    assert len(listed) == len(set(listed))


def test_rendered_objects_are_namespaced_and_images_tagged(rendered: list[dict[str, Any]]) -> None:
    namespace = kustomization()["namespace"]
    assert by_kind(rendered, "Namespace")[namespace]
    for doc in rendered:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, doc["metadata"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "returns-assistant"
        for container in containers(doc):
            assert re.fullmatch(r"returns-assistant/(app|rasa):[\w.-]+", container["image"]), container[
                "image"
            ]


def test_every_deployment_has_probes_and_resources(rendered: list[dict[str, Any]]) -> None:
    deployments = by_kind(rendered, "Deployment")
    assert set(deployments) == set(SCALED)
    for name, doc in deployments.items():
        for container in containers(doc, init=False):
            for probe in ("readinessProbe", "livenessProbe"):
                assert container.get(probe), f"{name}/{container['name']} has no {probe}"
        for container in containers(doc):
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(part, {})), f"{name}/{container['name']} {part}"
    for job in by_kind(rendered, "Job").values():
        for container in containers(job):
            assert {"requests", "limits"} <= set(container.get("resources", {}))


def _http_probe(container: dict[str, Any], probe: str) -> tuple[str, Any]:
    get = container[probe]["httpGet"]
    return get["path"], get["port"]


def test_probes_use_each_process_health_endpoint(rendered: list[dict[str, Any]]) -> None:
    deployments = by_kind(rendered, "Deployment")
    api = deployments["api"]["spec"]["template"]["spec"]["containers"][0]
    assert _http_probe(api, "readinessProbe")[0] == "/healthz"
    actions = deployments["actions"]["spec"]["template"]["spec"]["containers"][0]
    rasa = deployments["rasa"]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert _http_probe(actions, probe)[0] == "/health"
        assert _http_probe(rasa, probe)[0] == "/"
    # Rasa loads its model before the port opens: the startup probe must allow minutes.
    startup = rasa["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 180


def test_replicas_disruption_budgets_and_autoscalers(rendered: list[dict[str, Any]]) -> None:
    deployments = by_kind(rendered, "Deployment")
    pdbs = by_kind(rendered, "PodDisruptionBudget")
    hpas = by_kind(rendered, "HorizontalPodAutoscaler")
    for name in SCALED:
        doc = deployments[name]
        assert doc["spec"]["replicas"] >= 2, name
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items()
        budget = [p for p in pdbs.values() if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert budget and budget[0]["spec"].get("minAvailable", 0) >= 1, name
    for name in ("actions", "rasa"):
        hpa = hpas[name]
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]


def test_services_reach_their_pods(rendered: list[dict[str, Any]]) -> None:
    deployments = by_kind(rendered, "Deployment")
    services = by_kind(rendered, "Service")
    ports = {"api": 8000, "actions": 5055, "rasa": 5005}
    for name, port in ports.items():
        service = services[name]
        pod = deployments[name]["spec"]["template"]
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        (service_port,) = service["spec"]["ports"]
        assert service_port["port"] == port
        container_ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
        assert container_ports[service_port["targetPort"]] == port


def test_commands_and_images(rendered: list[dict[str, Any]]) -> None:
    deployments = by_kind(rendered, "Deployment")
    api = deployments["api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["image"].startswith("returns-assistant/app:")
    assert api["command"][:2] == ["gunicorn", "api.main:app"]
    command = " ".join(api["command"])
    assert "-w 4" in command and "-b 0.0.0.0:8000" in command and "UvicornWorker" in command
    actions = deployments["actions"]["spec"]["template"]["spec"]["containers"][0]
    assert actions["image"].startswith("returns-assistant/app:")
    assert actions["command"] == ["python", "-m", "rasa_sdk", "--actions", "actions", "--port", "5055"]
    rasa = deployments["rasa"]["spec"]["template"]["spec"]["containers"][0]
    assert rasa["image"].startswith("returns-assistant/rasa:") and "command" not in rasa  # the entrypoint
    (job,) = by_kind(rendered, "Job").values()
    (migrate,) = containers(job)
    assert migrate["command"] == ["python", "-m", "api.migrate", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"].get("parallelism", 1) == 1


def test_pods_run_unprivileged(rendered: list[dict[str, Any]]) -> None:
    for doc in rendered:
        for spec in pod_specs(doc):
            assert spec["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
            assert spec["automountServiceAccountToken"] is False
            for container in spec.get("containers", []) + spec.get("initContainers", []):
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False
                assert context["capabilities"]["drop"] == ["ALL"]


def test_api_waits_for_the_migration_job(rendered: list[dict[str, Any]]) -> None:
    api = by_kind(rendered, "Deployment")["api"]["spec"]["template"]["spec"]
    (init,) = api["initContainers"]
    assert init["command"][:2] == ["python", "-c"] and "get_current_heads" in init["command"][2]
    assert api["containers"][0]["image"] == init["image"]
    assert by_kind(rendered, "Deployment")["api"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def _wait_for_schema_script() -> str:
    api = by_kind(load_documents(K8S / "api.yaml"), "Deployment")["api"]
    return str(api["spec"]["template"]["spec"]["initContainers"][0]["command"][2])


def test_wait_for_schema_passes_on_a_migrated_database_and_waits_on_an_empty_one(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path / "var"),
        "ENVIRONMENT": "test",
        "STORAGE_BACKEND": "local",
        "PYTHONPATH": str(ROOT),
    }
    migrated = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'migrated.db'}"}
    upgrade = run([sys.executable, "-m", "api.migrate", "upgrade"], env=migrated)
    assert upgrade.returncode == 0, upgrade.stderr
    waited = run([sys.executable, "-c", _wait_for_schema_script()], env=migrated, timeout=60)
    assert waited.returncode == 0 and "database schema at" in waited.stdout, waited.stdout + waited.stderr

    empty = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _wait_for_schema_script()],
        cwd=ROOT,
        env=empty,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(4)
        assert proc.poll() is None, "the api started on a database the migrate Job has not migrated"
    finally:
        proc.kill()
        output = proc.communicate()[0]
    assert "waiting for the migrate Job" in output, output


def test_ingress_routes_only_the_chat_paths_to_rasa(rendered: list[dict[str, Any]]) -> None:
    ingresses = by_kind(rendered, "Ingress")
    config = by_kind(rendered, "ConfigMap")["returns-assistant-config"]["data"]
    host = urlsplit(config["PUBLIC_BASE_URL"]).hostname
    assert urlsplit(config["PUBLIC_RASA_URL"]).hostname == host
    routes: dict[str, tuple[str, dict[str, str]]] = {}
    for ingress in ingresses.values():
        assert ingress["spec"]["ingressClassName"] == "nginx"
        annotations = ingress["metadata"].get("annotations", {})
        assert annotations.get("nginx.ingress.kubernetes.io/proxy-body-size") == "12m"
        assert "nginx.ingress.kubernetes.io/proxy-read-timeout" in annotations
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] == host
            for path in rule["http"]["paths"]:
                assert path["pathType"] == "Prefix"
                routes[path["path"]] = (path["backend"]["service"]["name"], annotations)
    rasa_pods = by_kind(rendered, "Deployment")["rasa"]["spec"]["template"]["metadata"]["labels"]
    services = by_kind(rendered, "Service")
    to_rasa = {
        path
        for path, (svc, _) in routes.items()
        if services[svc]["spec"]["selector"].items() <= rasa_pods.items()
    }
    assert to_rasa == {"/socket.io/", "/webhooks/"}
    # Stickiness belongs to an upstream (a Service) in ingress-nginx: socket.io has its own.
    assert routes["/socket.io/"][0] != routes["/webhooks/"][0]
    assert routes["/"][0] == "api"
    assert not [p for p in routes if p.startswith(RASA_API_PATHS)]
    socket_annotations = routes["/socket.io/"][1]
    sticky = socket_annotations.get("nginx.ingress.kubernetes.io/upstream-hash-by") or socket_annotations.get(
        "nginx.ingress.kubernetes.io/affinity"
    )
    assert sticky, "socket.io needs sticky sessions"
    assert int(socket_annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600


def test_in_cluster_addresses_match_the_services(rendered: list[dict[str, Any]]) -> None:
    config = by_kind(rendered, "ConfigMap")["returns-assistant-config"]["data"]
    assert config["ACTION_SERVER_URL"] == "http://actions:5055/webhook"
    assert config["RASA_URL"] == "http://rasa:5005"
    assert config["API_BASE_URL"] == "http://api:8000"
    assert config["ENVIRONMENT"] == "production"
    assert config["RASA_LOCK_STORE"] == "redis" and config["RASA_LOCK_STORE_URL"]
    assert config["STORAGE_BACKEND"] == "s3" and config["S3_BUCKET"]


# --- environment variables: drift and secrets --------------------------------------------------------


def _container_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def test_k8s_env_names_are_read_by_the_code(rendered: list[dict[str, Any]]) -> None:
    settings, rasa = settings_env_names(), rasa_env_names()
    config = by_kind(rendered, "ConfigMap")["returns-assistant-config"]["data"]
    unknown = sorted(set(config) - settings - rasa)
    assert not unknown, f"ConfigMap keys no process reads (api/settings.py, bot/): {unknown}"
    secret_keys = set(load_documents(SECRET_TEMPLATE)[0]["stringData"])
    unknown = sorted(secret_keys - settings - rasa)
    assert not unknown, f"Secret keys no process reads: {unknown}"
    for doc in rendered:
        for container in containers(doc):
            known = rasa if container["image"].startswith("returns-assistant/rasa") else settings
            unknown = sorted(set(_container_env(container)) - known)
            assert not unknown, f"{doc['metadata']['name']}/{container['name']} sets unread {unknown}"
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] == "returns-assistant-config"
            for entry in _container_env(container).values():
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "returns-assistant-secrets"
                    assert ref["key"] in secret_keys, f"{ref['key']} is not in {SECRET_TEMPLATE.name}"


def test_k8s_processes_get_what_they_need(rendered: list[dict[str, Any]]) -> None:
    config = set(by_kind(rendered, "ConfigMap")["returns-assistant-config"]["data"])
    deployments = by_kind(rendered, "Deployment")

    def provided(name: str) -> set[str]:
        (container,) = containers(deployments[name], init=False)
        return config | set(_container_env(container))

    # Rasa has no defaults for the endpoints' variables: a missing one stops it from starting.
    assert endpoints_env_names() | {"RASA_TOKEN", "API_BASE_URL"} <= provided("rasa")
    assert {"API_BASE_URL", "SERVICE_TOKEN"} <= provided("actions")
    assert {
        "DATABASE_URL",
        "SECRET_KEY",
        "SERVICE_TOKEN",
        "CARRIER_WEBHOOK_SECRET",
        "RASA_TOKEN",
        "RASA_URL",
        "PUBLIC_BASE_URL",
        "PUBLIC_RASA_URL",
        "STORAGE_BACKEND",
        "S3_BUCKET",
        "ENVIRONMENT",
    } <= provided("api")


def test_k8s_commits_no_secret_values(rendered: list[dict[str, Any]]) -> None:
    config = by_kind(rendered, "ConfigMap")["returns-assistant-config"]["data"]
    assert not [k for k in config if SECRET_NAME.search(k)], "secrets belong in the Secret"
    for key, value in config.items():
        assert urlsplit(str(value)).password is None, f"{key} carries a password"
    assert not by_kind(rendered, "Secret"), (
        "the base must not ship a Secret (secret.example.yaml is a template)"
    )
    for doc in rendered:
        for container in containers(doc):
            for name, entry in _container_env(container).items():
                if SECRET_NAME.search(name) or name.endswith("_DB_URL") or name == "DATABASE_URL":
                    assert "valueFrom" in entry, f"{name} must come from the Secret"
    template = SECRET_TEMPLATE.read_text()
    assert template.startswith("# TEMPLATE")
    for key, value in load_documents(SECRET_TEMPLATE)[0]["stringData"].items():
        assert "CHANGE-ME" in value, f"{key} in {SECRET_TEMPLATE.name} must be a placeholder"


def _interpolation_only(value: str) -> bool:
    """A compose value that is nothing but ${VAR}, ${VAR:?message} or ${VAR:-} (empty default)."""
    return bool(re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*(:\?[^}]*|:-)?\}", value))


def test_compose_commits_no_secret_values() -> None:
    raw = compose_raw()
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            text = "" if value is None else str(value)
            if SECRET_NAME.search(key):
                assert _interpolation_only(text), f"{name}: {key} must come from deploy/compose/.env"
            password = urlsplit(text).password if "://" in text else None
            if password is not None:
                assert _interpolation_only(password), f"{name}: {key} has a literal password"
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", COMPOSE_FILE.read_text()))
    for key, value in env_example().items():
        if key in required:
            assert value.startswith("change-me"), f".env.example: {key} must be a change-me placeholder"
        elif SECRET_NAME.search(key):
            assert value == "" or value.startswith("change-me"), f".env.example: {key} must be empty"


def test_no_local_secret_is_in_deploy() -> None:
    secrets_file = ROOT / "var" / "secrets.env"
    values = [
        line.split("=", 1)[1].strip()
        for line in (secrets_file.read_text().splitlines() if secrets_file.exists() else [])
        if "=" in line
    ]
    for path in (ROOT / "deploy").rglob("*"):
        if path.is_file() and path.name != ".env":  # a deployment's own, git-ignored
            text = path.read_text(errors="replace")
            assert not [v for v in values if len(v) >= 12 and v in text], (
                f"{path} holds a value of var/secrets.env"
            )


def test_compose_env_names_are_read_by_the_code(compose: dict[str, Any]) -> None:
    settings, rasa = settings_env_names(), rasa_env_names()
    for name, service in compose["services"].items():
        names = set(service.get("environment") or {})
        if name in APP_SERVICES:
            known = settings
        elif name == "rasa":
            known = rasa
        else:
            known = IMAGE_ENV[name]
        assert not sorted(names - known), f"{name} sets variables nothing reads: {sorted(names - known)}"
    rasa_env = set(compose["services"]["rasa"]["environment"])
    assert endpoints_env_names() | {"RASA_TOKEN", "API_BASE_URL"} <= rasa_env
    assert {"API_BASE_URL", "SERVICE_TOKEN"} <= set(compose["services"]["actions"]["environment"])
    api_env = compose["services"]["api"]["environment"]
    assert {
        "DATABASE_URL",
        "SECRET_KEY",
        "SERVICE_TOKEN",
        "CARRIER_WEBHOOK_SECRET",
        "RASA_TOKEN",
        "RASA_URL",
        "PUBLIC_BASE_URL",
        "PUBLIC_RASA_URL",
        "S3_BUCKET",
        "S3_ENDPOINT_URL",
    } <= set(api_env)
    assert api_env["ENVIRONMENT"] == "production" and api_env["STORAGE_BACKEND"] == "s3"
    assert urlsplit(api_env["DATABASE_URL"]).scheme == "postgresql"
    assert urlsplit(compose["services"]["rasa"]["environment"]["RASA_TRACKER_DB_URL"]).path == "/rasa"
    assert compose["services"]["rasa"]["environment"]["RASA_LOCK_STORE"] == "redis"


def test_compose_variables_are_documented_in_the_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    documented = set(env_example())
    assert not sorted(used - documented), f"not in .env.example: {sorted(used - documented)}"
    assert not sorted(documented - used), (
        f".env.example sets what compose never reads: {sorted(documented - used)}"
    )


# --- compose invariants ---------------------------------------------------------------------------------

ONE_SHOT = {"migrate", "bucket-init"}


def test_compose_services_have_healthchecks_limits_and_conditions(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "minio", "bucket-init", "migrate", "api", "actions", "rasa", "nginx"} <= set(
        services
    )
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
        else:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        if name not in ONE_SHOT:
            assert limits.get("memory") and limits.get("cpus"), f"{name} has no resource limits"
        for dependency, condition in (service.get("depends_on") or {}).items():
            wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition["condition"] == wanted, (name, dependency, condition)


def test_compose_migrates_before_the_api(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["python", "-m", "api.migrate", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["api"]["depends_on"]["bucket-init"]["condition"] == "service_completed_successfully"
    assert services["bucket-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["migrate"]["image"] == services["api"]["image"]


def test_compose_replicas_ports_and_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("actions", "rasa"):
        assert services[name]["deploy"]["replicas"] >= 2, name
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}, "only nginx faces browsers"
    assert [p["target"] for p in services["nginx"]["ports"]] == [80]
    named = set(compose.get("volumes", {}))
    for name in ("postgres", "minio"):
        assert [v for v in services[name]["volumes"] if v["type"] == "volume" and v["source"] in named], name
    command = " ".join(services["api"]["command"])
    assert command.startswith("gunicorn api.main:app") and "-w 4" in command and "-b 0.0.0.0:8000" in command
    assert services["actions"]["command"] == [
        "python",
        "-m",
        "rasa_sdk",
        "--actions",
        "actions",
        "--port",
        "5055",
    ]
    env = services["rasa"]["environment"]
    assert env["ACTION_SERVER_URL"] == "http://actions-lb:5055/webhook"
    assert services["api"]["environment"]["RASA_URL"] == "http://rasa-lb:5005"
    assert {"actions-lb", "rasa-lb"} <= set(services["nginx"]["networks"]["default"]["aliases"])


# --- nginx invariants -------------------------------------------------------------------------------------


def _servers_of(http: Directive, upstream: str) -> list[str]:
    (block,) = [u for u in http.all("upstream") if u.args == [upstream]]
    return [args[0] for args in block.values("server")]


def _public_server(http: Directive) -> Directive:
    (server,) = [s for s in http.all("server") if ["80"] in s.values("listen")]
    return server


def test_nginx_routes_socketio_and_webhooks_to_rasa_and_the_rest_to_the_api(nginx: Directive) -> None:
    http = nginx.one("http")
    server = _public_server(http)
    locations = {tuple(loc.args): loc for loc in server.all("location")}
    assert set(locations) == {("/socket.io/",), ("/webhooks/",), ("/",)}, (
        "the public server serves nothing else"
    )

    def upstream(location: Directive) -> str:
        (target,) = location.one("proxy_pass").args
        return target.removeprefix("http://")

    socket = locations[("/socket.io/",)]
    assert _servers_of(http, upstream(socket)) == ["rasa:5005"]
    headers = {args[0].lower(): args[1] for args in socket.values("proxy_set_header")}
    assert headers["upgrade"] == "$http_upgrade" and headers["connection"] == "$connection_upgrade"
    (sticky,) = [u for u in http.all("upstream") if u.args == [upstream(socket)]]
    assert sticky.all("ip_hash") or sticky.all("hash") or sticky.all("sticky"), "socket.io must be sticky"
    assert _servers_of(http, upstream(locations[("/webhooks/",)])) == ["rasa:5005"]
    assert _servers_of(http, upstream(locations[("/",)])) == ["api:8000"]
    for path in RASA_API_PATHS:
        assert not [loc for loc in locations if loc[-1].startswith(path)]


def test_nginx_limits_and_timeouts(nginx: Directive) -> None:
    http = nginx.one("http")
    assert http.values("client_max_body_size") == [["12m"]]
    for name in ("proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout", "client_body_timeout"):
        assert http.values(name), f"{name} is not set"
    socket = next(loc for loc in _public_server(http).all("location") if loc.args == ["/socket.io/"])
    read_timeout = socket.values("proxy_read_timeout")[0][0]
    assert read_timeout.endswith("h") or int(read_timeout.rstrip("s")) >= 600
    # The API throttles by the first X-Forwarded-For hop: the edge must set it, not append to it.
    for location in _public_server(http).all("location"):
        headers = {args[0].lower(): args[1] for args in location.values("proxy_set_header")}
        assert headers.get("x-forwarded-for") == "$remote_addr", location.args


def test_nginx_internal_balancers(nginx: Directive) -> None:
    http = nginx.one("http")
    internal = {tuple(s.values("listen")[0]): s for s in http.all("server")}
    actions = internal[("5055",)].one("location")
    assert _servers_of(http, actions.one("proxy_pass").args[0].removeprefix("http://")) == ["actions:5055"]
    rasa = internal[("5005",)].one("location")
    assert _servers_of(http, rasa.one("proxy_pass").args[0].removeprefix("http://")) == ["rasa:5005"]
    # Every upstream follows the replicas through Docker's DNS.
    assert http.values("resolver")[0][0] == "127.0.0.11"
    for upstream in http.all("upstream"):
        assert all("resolve" in args for args in upstream.values("server")), upstream.args


# --- images ---------------------------------------------------------------------------------------------


def _dockerfile(name: str) -> str:
    return (ROOT / "deploy" / "docker" / name).read_text()


def test_app_image() -> None:
    text = _dockerfile("app.Dockerfile")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    assert re.search(r"^ARG TORCH_VERSION=2\.13\.0$", text, re.M)
    assert "-c constraints.txt" in text
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert "gunicorn" in text and "api.main:app" in text


def test_rasa_image() -> None:
    text = _dockerfile("rasa.Dockerfile")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.10-slim", text, re.M)
    assert "pip install -c /tmp/constraints-rasa.txt rasa==3.6.21" in text
    makefile = (ROOT / "Makefile").read_text()
    assert "--domain bot/domain --data nlu_data bot/data --config config.yml" in text
    assert "--domain bot/domain --data nlu_data bot/data --config config.yml" in makefile
    assert "--fixed-model-name returns-assistant" in text
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert 'ENTRYPOINT ["/usr/local/bin/rasa-entrypoint"]' in text


def _dockerignore_patterns() -> list[tuple[str, bool]]:
    out = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((line.lstrip("!"), line.startswith("!")))
    return out


def _ignored(path: str) -> bool:
    from fnmatch import fnmatch

    ignored = False
    for pattern, negated in _dockerignore_patterns():
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch(p, pattern) or fnmatch(p, pattern.removeprefix("**/")) for p in prefixes):
            ignored = not negated
    return ignored


def test_dockerignore_keeps_state_out_and_what_the_images_copy_in() -> None:
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        ".venv-rasa/bin/rasa",
        "var/secrets.env",
        "var/returns.db",
        "api/web/node_modules/x.js",
        ".pytest_cache/v",
        ".ruff_cache/x",
        ".mypy_cache/x",
        "api/__pycache__/x.pyc",
        ".env",
        "deploy/compose/.env",
        "tests/conftest.py",
    ):
        assert _ignored(path), f"{path} would enter the build context"
    copied: list[str] = []
    for dockerfile in DOCKERFILES:
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                copied += [a for a in line.split()[1:-1] if not a.startswith("--")]
    assert "models/rasa/returns-assistant.tar.gz" in copied and "models/damage" in copied
    for source in copied:
        assert not _ignored(source), f"{source} is copied by a Dockerfile but .dockerignore drops it"
        assert (ROOT / source).exists() or source.startswith("models/rasa/"), source


def test_rasa_entrypoint(tmp_path: Path) -> None:
    fake = tmp_path / "rasa"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    assert RASA_ENTRYPOINT.stat().st_mode & stat.S_IXUSR, "the entrypoint must be executable"
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    missing = run(["sh", str(RASA_ENTRYPOINT)], env=env)
    assert missing.returncode != 0 and "RASA_TOKEN" in missing.stderr
    ok = run(
        ["sh", str(RASA_ENTRYPOINT), "--debug"],
        env={**env, "RASA_TOKEN": "t0ken", "CORS_ORIGINS": "https://a.example,https://b.example"},
    )
    assert ok.returncode == 0, ok.stderr
    args = ok.stdout.splitlines()
    assert args[:5] == ["run", "--enable-api", "--auth-token=t0ken", "--port", "5005"]
    for pair in (
        ["--model", "models/rasa/returns-assistant.tar.gz"],
        ["--endpoints", "bot/endpoints.yml"],
        ["--credentials", "bot/credentials.yml"],
    ):
        index = args.index(pair[0])
        assert args[index : index + 2] == pair
    assert "--debug" in args
    assert args[args.index("--cors") :] == ["--cors", "https://a.example", "https://b.example"]
    # a token may start with "-" (token_urlsafe does 1 time in 64): Rasa's own parser must read it
    dashed = run(["sh", str(RASA_ENTRYPOINT)], env={**env, "RASA_TOKEN": "-Xy_dash"})
    assert rasa_reads_token(dashed.stdout.splitlines()) == "-Xy_dash"


RASA_PARSE = r"""
import json, sys
from rasa.__main__ import create_argument_parser
print(json.dumps(create_argument_parser().parse_args(sys.argv[1:]).auth_token))
"""


def rasa_reads_token(argv: list[str]) -> str | None:
    """The --auth-token value Rasa's CLI parser gets from this argv (after `rasa`)."""
    done = run_in_rasa_venv(RASA_PARSE, *argv)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_prod_local_rasa_takes_a_token_that_starts_with_a_dash(tmp_path: Path) -> None:
    from scripts.prod_local import Topology

    services = Topology(var=tmp_path / "var").services("-Xy_dash")
    rasa = [s for s in services if s.name.startswith("rasa")]
    assert len(rasa) == 2
    for service in rasa:
        assert rasa_reads_token(service.argv[1:]) == "-Xy_dash"


def test_readme_lists_every_file() -> None:
    readme = (ROOT / "deploy" / "README.md").read_text()
    for path in [*K8S.glob("*.yaml"), *COMPOSE_DIR.iterdir(), *(ROOT / "deploy" / "docker").iterdir()]:
        if path.name == ".env":
            continue
        assert path.name in readme, f"deploy/README.md does not mention {path.name}"
