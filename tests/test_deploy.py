"""The image, compose.yaml and the Kubernetes manifests, checked offline (no Docker daemon, no cluster): the
overlays rendered by kubectl's kustomize and validated against the Kubernetes schemas of kubernetes-validate,
compose.yaml against the Compose specification's, the Dockerfile parsed and linted, and all of them held to what a
deployment relies on: probes, non-root read-only containers, secrets only referenced, settings that exist."""

from __future__ import annotations

import ast
import copy
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from django.conf import settings
from dockerfile_parse import DockerfileParser

from genesys_app.serving import UVICORN_OPTIONS, uvicorn_args

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = ["base", "overlays/production"]
# The oldest and the newest Kubernetes the manifests are meant for.
SCHEMA_VERSIONS = ["1.31.0", "1.37.0"]
PORT = 8000
SECRET_SETTINGS = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "METRICS_TOKEN"}
OUR_IMAGE = "screenpop"
# The server's drain after SIGTERM, until genesys_app/serving.py bounds it with --timeout-graceful-shutdown (issue 23,
# graceful shutdown): an assumption, two Freshdesk calls at their timeouts (3.05 s connect + 10 s read), rounded up.
DRAIN_SECONDS_WITHOUT_TIMEOUT = 30
SECRET_SHAPES = {
    "credentials in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:(?!\$\{)[^@\s/]+@"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a Fernet key": re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}="),
    "a long random token": re.compile(r"(?<![\w/.-])(?=[\w-]*\d)(?=[\w-]*[A-Z])(?=[\w-]*[a-z])[\w-]{32,}(?![\w/.-])"),
}


def tool(name: str) -> str:
    """A command installed into the virtualenv by `make install` (requirements-dev.txt)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is missing from {path.parent}: run `make install` (requirements-dev.txt pins it)")
    return str(path)


def settings_env_names() -> set[str]:
    """Every environment variable genesys_app/settings.py reads, found in its source so that a rename shows here."""
    readers = {"env_str", "env_bool", "env_int", "env_float", "env_list", "required_secret"}
    tree = ast.parse((ROOT / "genesys_app" / "settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in readers
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> tuple[str, list[dict]]:
    """(the YAML text, the objects) that `kubectl apply -k` would apply for one overlay."""
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(KUBERNETES / request.param)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def one(objects: list[dict], kind: str) -> dict:
    found = [obj for obj in objects if obj["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[dict]) -> dict[str, dict]:
    return {obj["kind"]: obj["spec"]["template"]["spec"] for obj in objects if obj["kind"] in ("Deployment", "Job")}


def all_containers(pod: dict) -> list[dict]:
    return pod.get("initContainers", []) + pod["containers"]


def server(objects: list[dict]) -> dict:
    return one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def config_map(objects: list[dict]) -> dict[str, str]:
    return one(objects, "ConfigMap")["data"]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def our_compose_services() -> dict[str, dict]:
    return {name: svc for name, svc in compose()["services"].items() if OUR_IMAGE in svc["image"]}


def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(ROOT / "Dockerfile"))


def final_stage(parser: DockerfileParser) -> list[dict]:
    instructions = [item for item in parser.structure if item["instruction"] != "COMMENT"]
    last_from = max(i for i, item in enumerate(instructions) if item["instruction"] == "FROM")
    return instructions[last_from:]


def uvicorn_drain_seconds() -> float:
    if "--timeout-graceful-shutdown" in UVICORN_OPTIONS:
        return float(UVICORN_OPTIONS[UVICORN_OPTIONS.index("--timeout-graceful-shutdown") + 1])
    return DRAIN_SECONDS_WITHOUT_TIMEOUT


# Kubernetes


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schema(rendered, version):
    _, objects = rendered
    kinds = {obj["kind"] for obj in objects}
    assert kinds >= {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job"}
    assert kinds >= {"NetworkPolicy", "ConfigMap", "ServiceAccount"}
    errors = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")
    assert errors == []


def test_the_schema_check_catches_a_misspelled_field(rendered):
    """The strict schemas reject what a cluster would silently drop (so the test above can fail)."""
    deployment = copy.deepcopy(one(rendered[1], "Deployment"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, SCHEMA_VERSIONS[-1], strict=True)


def test_probes_ask_the_server_port_for_readyz_and_healthz_as_an_allowed_host(rendered):
    _, objects = rendered
    container = server(objects)
    assert container["ports"] == [{"name": "http", "containerPort": PORT}]
    probes = {name: container[name]["httpGet"] for name in ("readinessProbe", "livenessProbe", "startupProbe")}
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == probes["startupProbe"]["path"] == "/healthz"
    allowed_hosts = config_map(objects)["ALLOWED_HOSTS"].split(",")
    for probe in probes.values():
        assert probe["port"] in ("http", PORT)
        hosts = [header["value"] for header in probe.get("httpHeaders", []) if header["name"] == "Host"]
        assert hosts, "the pod's own address is not an allowed host: the probe must name one"
        assert hosts[0] in allowed_hosts, "Django answers 400 to a Host not in ALLOWED_HOSTS"


def test_every_container_runs_non_root_on_a_read_only_root_with_a_scratch_tmp(rendered):
    for kind, pod in pod_specs(rendered[1]).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, kind
        assert pod["securityContext"]["runAsUser"] != 0, kind
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, kind
        assert pod["automountServiceAccountToken"] is False, kind
        empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
        for container in all_containers(pod):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, container["name"]
            assert context["allowPrivilegeEscalation"] is False, container["name"]
            assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert mounts.get("/tmp") in empty_dirs, container["name"]
            assert {"requests", "limits"} <= container["resources"].keys(), container["name"]


def test_secrets_are_referenced_never_inlined(rendered):
    _, objects = rendered
    assert not [obj for obj in objects if obj["kind"] == "Secret"], "the operator creates the Secret"
    assert not SECRET_SETTINGS & config_map(objects).keys()
    example = yaml.safe_load((KUBERNETES / "secret.example.yaml").read_text())
    for kind, pod in pod_specs(objects).items():
        for container in all_containers(pod):
            env = {item["name"]: item for item in container["env"]}
            assert all("valueFrom" in item for item in env.values()), "settings come from the ConfigMap or the Secret"
            for name in SECRET_SETTINGS & env.keys():
                reference = env[name]["valueFrom"]["secretKeyRef"]
                assert reference["name"] == example["metadata"]["name"], (kind, name)
                assert reference["key"] in example["stringData"], (kind, name)
            assert {"DATABASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY"} <= env.keys(), container["name"]


def test_the_example_secret_is_empty_and_applied_by_no_kustomization():
    example = yaml.safe_load((KUBERNETES / "secret.example.yaml").read_text())
    assert set(example["stringData"].values()) == {""}
    assert set(example["stringData"]) == SECRET_SETTINGS
    for kustomization in KUBERNETES.rglob("kustomization.yaml"):
        assert "secret.example" not in kustomization.read_text(), kustomization


def test_nothing_secret_shaped_in_the_manifests_the_dockerfile_or_compose(rendered):
    texts = {"rendered manifests": rendered[0]}
    for name in ("Dockerfile", ".dockerignore", "compose.yaml"):
        texts[name] = (ROOT / name).read_text()
    texts["secret.example.yaml"] = (KUBERNETES / "secret.example.yaml").read_text()
    found = [
        f"{shape} in {where}: {match.group(0)!r}"
        for where, text in texts.items()
        for shape, pattern in SECRET_SHAPES.items()
        for match in pattern.finditer(text)
    ]
    assert found == []


def test_the_secret_shapes_catch_real_looking_secrets():
    samples = {
        "credentials in a URL": "postgres://screenpop:hunter2@db:5432/screenpop",
        "a private key": "-----BEGIN RSA PRIVATE KEY-----",
        "a Fernet key": "FIELD_ENCRYPTION_KEY=" + "q" * 43 + "=",
        "a long random token": "SECRET_KEY: Xk2v9Qp4Lm7Rt8Wy1Zb3Nc5Hd6Jf0GsE4",
    }
    for shape, sample in samples.items():
        assert SECRET_SHAPES[shape].search(sample), shape
    assert not SECRET_SHAPES["credentials in a URL"].search("postgres://screenpop:${POSTGRES_PASSWORD:?x}@db")


def test_the_ingress_terminates_tls_and_keeps_websockets_open(rendered):
    _, objects = rendered
    ingress, service = one(objects, "Ingress"), one(objects, "Service")
    annotations = ingress["metadata"]["annotations"]
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{name}"]) >= 3600, name
    tls_hosts = {host for entry in ingress["spec"]["tls"] for host in entry["hosts"]}
    assert all(entry["secretName"] for entry in ingress["spec"]["tls"])
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} == {"http"}
    labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_public_url_allowed_hosts_and_ingress_name_one_host(rendered):
    _, objects = rendered
    config = config_map(objects)
    public_host = config["PUBLIC_BASE_URL"].removeprefix("https://")
    assert config["PUBLIC_BASE_URL"].startswith("https://")
    assert public_host in config["ALLOWED_HOSTS"].split(",")
    assert [rule["host"] for rule in one(objects, "Ingress")["spec"]["rules"]] == [public_host]


def test_the_job_migrates_with_the_servers_image_and_settings_and_new_pods_wait_for_it(rendered):
    _, objects = rendered
    job, deployment = one(objects, "Job")["spec"]["template"]["spec"], one(objects, "Deployment")
    migrate = job["containers"][0]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["restartPolicy"] == "Never"
    assert migrate["image"] == server(objects)["image"]
    assert migrate["envFrom"] == server(objects)["envFrom"]
    required = [item for item in server(objects)["env"] if not item["valueFrom"]["secretKeyRef"].get("optional")]
    assert required == migrate["env"]
    waiting = deployment["spec"]["template"]["spec"]["initContainers"][0]
    assert "migrate --check" in " ".join(waiting["command"])
    assert waiting["image"] == server(objects)["image"]


def test_the_autoscaler_owns_the_deployment_and_the_budget_covers_its_pods(rendered):
    _, objects = rendered
    deployment, hpa = one(objects, "Deployment"), one(objects, "HorizontalPodAutoscaler")
    pdb = one(objects, "PodDisruptionBudget")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2
    assert "replicas" not in deployment["spec"], "an apply would reset what the autoscaler chose"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    job_labels = one(objects, "Job")["spec"]["template"]["metadata"]["labels"]
    selector = pdb["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert not selector.items() <= job_labels.items()
    assert pdb["spec"]["maxUnavailable"] < hpa["spec"]["minReplicas"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_the_network_policy_selects_the_pods_and_admits_the_server_port(rendered):
    _, objects = rendered
    policy = one(objects, "NetworkPolicy")["spec"]
    selector = policy["podSelector"]["matchLabels"]
    for pod_template in (one(objects, kind)["spec"]["template"] for kind in ("Deployment", "Job")):
        assert selector.items() <= pod_template["metadata"]["labels"].items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    admitted = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert admitted <= {"http", PORT}
    egress_ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
    assert egress_ports == {53, 5432, 6379, 443}


def test_the_grace_period_covers_the_pre_stop_pause_and_the_servers_drain(rendered):
    pod = one(rendered[1], "Deployment")["spec"]["template"]["spec"]
    pause = int(pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][-1])
    # SIGTERM: uvicorn waits for the requests in flight, then the lifespan gives the running lookups their drain.
    drain = uvicorn_drain_seconds() + settings.SCREENPOP_SHUTDOWN_DRAIN_SECONDS
    assert pod["terminationGracePeriodSeconds"] >= pause + drain + 5
    assert compose()["services"]["app"]["stop_grace_period"] == f"{pod['terminationGracePeriodSeconds']}s"


def test_every_variable_the_manifests_set_is_a_setting(rendered):
    _, objects = rendered
    names = set(config_map(objects))
    for pod in pod_specs(objects).values():
        for container in all_containers(pod):
            names |= {item["name"] for item in container["env"]}
    unknown = names - settings_env_names()
    assert unknown == set(), "set in the manifests, read nowhere in genesys_app/settings.py"


# Dockerfile


def test_the_dockerfile_is_multi_stage_and_its_final_stage_runs_non_root():
    parser = dockerfile()
    assert parser.is_multistage
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", parser.baseimage)
    users = [item["value"] for item in final_stage(parser) if item["instruction"] == "USER"]
    assert users, "the final stage must name its user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "numeric, so that Kubernetes' runAsNonRoot can check it"
    assert int(uid) != 0
    pod_user = yaml.safe_load((KUBERNETES / "base" / "deployment.yaml").read_text())["spec"]["template"]["spec"]
    assert pod_user["securityContext"]["runAsUser"] == int(uid)


def test_the_dockerfile_checks_healthz_and_starts_the_production_server():
    stage = final_stage(dockerfile())
    by_instruction = {item["instruction"]: item["value"] for item in stage}
    assert "/healthz" in by_instruction["HEALTHCHECK"]
    assert "Host': 'localhost'" in by_instruction["HEALTHCHECK"]
    assert by_instruction["EXPOSE"] == str(PORT)
    assert json.loads(by_instruction["CMD"]) == ["python", *uvicorn_args(host="0.0.0.0", port=PORT)]


def test_the_final_stage_has_no_compilers_and_the_image_no_secrets():
    parser = dockerfile()
    stage_text = " ".join(item["value"] for item in final_stage(parser))
    for compiler in ("build-essential", "gcc", "g++", "clang", "libpq-dev", "python3-dev", "npm "):
        assert compiler not in stage_text, compiler
    assert "COPY --from=build /app /app" in " ".join(
        f"{item['instruction']} {item['value']}" for item in final_stage(parser)
    )
    builds = [item["value"] for item in parser.structure if item["instruction"] == "RUN"]
    assert any("collectstatic" in run for run in builds), "static files are collected at build"
    declared = [item["value"] for item in parser.structure if item["instruction"] in ("ENV", "ARG")]
    assert not [name for name in SECRET_SETTINGS if any(name in value for value in declared)]


def test_hadolint_finds_nothing_in_the_dockerfile():
    result = subprocess.run([tool("hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_docker_context_is_an_allow_list_of_what_the_dockerfile_copies():
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert patterns[0] == "*", "everything else (.env, .local/, db.sqlite3, .venv) stays out"
    allowed = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    assert not allowed & {".env", ".local", ".venv", "node_modules", "db.sqlite3", "static_build", ".git"}
    copied = set()
    for item in dockerfile().structure:
        if item["instruction"] == "COPY" and not item["value"].startswith("--from"):
            copied |= {source.rstrip("/") for source in item["value"].split()[:-1]}
    assert copied <= allowed


# compose.yaml


def test_compose_validates_against_the_compose_specification():
    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(compose())]
    assert errors == []


def test_compose_runs_two_replicas_after_a_one_shot_migrate_on_healthy_services():
    services = compose()["services"]
    app, migrate = services["app"], services["migrate"]
    assert app["deploy"]["replicas"] == 2
    assert app["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    volume = services["postgres"]["volumes"][0].split(":")[0]
    assert volume in compose()["volumes"]
    assert "healthcheck" not in app, "the servers keep the image's HEALTHCHECK on /healthz"


def test_compose_runs_our_image_read_only_with_a_scratch_tmp_and_settings_that_exist():
    services = our_compose_services()
    assert set(services) == {"app", "migrate"}
    for name, service in services.items():
        assert service["read_only"] is True, name
        assert service["tmpfs"] == ["/tmp"], name
        assert service["cap_drop"] == ["ALL"], name
        environment = service["environment"]
        assert set(environment) - settings_env_names() == set(), name
        # Redis on compose's private network has no password: its URL holds nothing secret (the scan checks).
        for secret in (SECRET_SETTINGS - {"REDIS_URL"}) & set(environment):
            assert "${" in environment[secret], f"{secret} comes from the operator's environment"
        assert "localhost" in environment["ALLOWED_HOSTS"].split(","), "the image's health check asks for it"


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0,
    reason="the docker compose plugin is not installed: compose.yaml is checked against its schema instead",
)
def test_docker_compose_accepts_the_file(tmp_path):
    environment = {**os.environ, "POSTGRES_PASSWORD": "x", "SECRET_KEY": "x", "FIELD_ENCRYPTION_KEY": "x"}
    environment["SCREENPOP_HOST"] = "screenpop.example.com"
    result = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        capture_output=True, text=True, env=environment, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


# The operator's documentation


def test_the_production_docs_name_every_setting_and_every_variable_compose_reads():
    docs = (ROOT / "docs" / "production.md").read_text()
    compose_reads = set(re.findall(r"\$\{(\w+)", (ROOT / "compose.yaml").read_text()))
    missing = sorted(name for name in settings_env_names() | compose_reads if f"`{name}`" not in docs)
    assert missing == []
