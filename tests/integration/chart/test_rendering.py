"""The chart's rules, checked over what the real helm renders (no cluster needed)."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.harness.chart import (
    CHART,
    CI_VALUES,
    HelmError,
    Manifest,
    expand_rules,
    find,
    granted_rules,
    helm,
    one,
    render,
)
from tests.harness.kube.binaries import REPO_ROOT

CI_IDS = [path.stem for path in CI_VALUES]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet")


@pytest.fixture(scope="module", params=CI_VALUES, ids=CI_IDS)
def rendered(request: pytest.FixtureRequest) -> list[Manifest]:
    return render(request.param)


def pod_specs(manifests: list[Manifest]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (m["metadata"]["name"], m["spec"]["template"]["spec"])
        for m in manifests
        if m["kind"] in WORKLOAD_KINDS
    ]


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_lint_strict_passes_with_every_ci_values_file() -> None:
    for path in CI_VALUES:
        output = helm("lint", "--strict", str(CHART), "--values", str(path))
        assert "0 chart(s) failed" in output, output


def test_the_ci_values_files_cover_defaults_ha_everything_and_minimal() -> None:
    assert set(CI_IDS) >= {"default-values", "ha-values", "full-values", "minimal-values"}


def test_every_pod_meets_pod_security_restricted(rendered: list[Manifest]) -> None:
    specs = pod_specs(rendered)
    assert specs
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["runAsUser"] > 0, name
        for container in all_containers(spec):
            context = container["securityContext"]
            where = f"{name}/{container['name']}"
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["runAsNonRoot"] is True, where


def test_every_container_has_requests_limits_and_unique_env_names(
    rendered: list[Manifest],
) -> None:
    for name, spec in pod_specs(rendered):
        for container in all_containers(spec):
            where = f"{name}/{container['name']}"
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
            names = [entry["name"] for entry in container.get("env", [])]
            # Server-side apply rejects a list with a duplicate key.
            assert len(names) == len(set(names)), f"{where}: {names}"


def test_shortlink_containers_probe_the_ops_port_and_drain_on_stop(
    rendered: list[Manifest],
) -> None:
    deployments = find(rendered, "Deployment")
    assert deployments
    for deployment in deployments:
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        ops = next(p for p in container["ports"] if p["name"] == "ops")
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert ops["containerPort"] in {9080, 9081, 8082, 8083}
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        grace = spec["terminationGracePeriodSeconds"]
        if component in ("api", "redirector"):
            # preStop 5 s, then Sanic's 15 s graceful stop and the 5 s event flush.
            assert grace >= container["lifecycle"]["preStop"]["sleep"]["seconds"] + 15 + 5
        else:
            assert "lifecycle" not in container  # no Service sends them traffic
        if component == "analytics":
            assert grace > 30  # the batch in hand is stored before offsets are committed
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert {"checksum/config", "checksum/secret"} <= set(annotations)
        assert container["volumeMounts"][0] == {"name": "tmp", "mountPath": "/tmp"}


def test_a_config_change_changes_the_checksum_so_pods_roll() -> None:
    def checksum(**values: str) -> str:
        manifests = render(set_values={"secretKey.value": "k" * 32, **values})
        api = one(manifests, "Deployment", "sl-shortlink-api")
        return str(api["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum() == checksum()
    assert checksum() != checksum(**{"config.logLevel": "DEBUG"})


def test_names_and_label_values_fit_63_characters_and_keep_their_component() -> None:
    release = "a-release-name-of-fifty-three-characters-long-1234567"
    assert len(release) == 53  # helm's own limit
    manifests = render(CHART / "ci" / "full-values.yaml", release=release)
    names = [m["metadata"]["name"] for m in manifests if m["kind"] != "CustomResourceDefinition"]
    assert all(len(name) <= 63 for name in names), [n for n in names if len(n) > 63]
    assert len(set(names)) == len(names) or _same_name_other_kinds(manifests)
    for component in ("api", "redirector", "analytics", "operator", "postgresql"):
        assert any(name.endswith(f"-{component}") for name in names), component
    for manifest in manifests:
        for value in manifest["metadata"].get("labels", {}).values():
            assert len(str(value)) <= 63


def _same_name_other_kinds(manifests: list[Manifest]) -> bool:
    keys = [(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]) for m in manifests]
    return len(keys) == len(set(keys))


def test_recommended_labels_on_every_resource(rendered: list[Manifest]) -> None:
    recommended = {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/version",
        "app.kubernetes.io/component",
        "app.kubernetes.io/managed-by",
        "helm.sh/chart",
    }
    for manifest in rendered:
        assert recommended <= set(manifest["metadata"]["labels"]), manifest["metadata"]["name"]


def test_the_hpa_owns_the_replica_count_while_it_is_on() -> None:
    off = one(render(), "Deployment", "sl-shortlink-redirector")
    assert off["spec"]["replicas"] == 2
    manifests = render(set_values={"redirector.autoscaling.enabled": "true"})
    on = one(manifests, "Deployment", "sl-shortlink-redirector")
    assert "replicas" not in on["spec"]
    hpa = one(manifests, "HorizontalPodAutoscaler", "sl-shortlink-redirector")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "sl-shortlink-redirector"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)


def test_the_pdb_allows_one_pod_down_by_default() -> None:
    pdb = one(render(), "PodDisruptionBudget", "sl-shortlink-redirector")
    assert pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/name": "shortlink",
                "app.kubernetes.io/instance": "sl",
                "app.kubernetes.io/component": "redirector",
            }
        },
    }


@pytest.mark.parametrize(
    "values",
    [
        {"redirector.replicas": "2", "redirector.pdb.minAvailable": "2"},
        {"redirector.replicas": "1", "redirector.pdb.minAvailable": "1"},
        {
            "redirector.autoscaling.enabled": "true",
            "redirector.autoscaling.minReplicas": "3",
            "redirector.pdb.minAvailable": "3",
        },
    ],
)
def test_a_pdb_that_would_block_every_drain_fails_the_render(values: dict[str, str]) -> None:
    with pytest.raises(HelmError, match=r"redirector.pdb.minAvailable .* must be below"):
        render(set_values=values)


def test_a_pdb_below_the_replicas_renders() -> None:
    manifests = render(set_values={"redirector.replicas": "3", "redirector.pdb.minAvailable": "2"})
    assert (
        one(manifests, "PodDisruptionBudget", "sl-shortlink-redirector")["spec"]["minAvailable"]
        == 2
    )


def test_the_redirector_spreads_over_nodes_and_zones() -> None:
    spec = one(render(), "Deployment", "sl-shortlink-redirector")["spec"]["template"]["spec"]
    keys = [c["topologyKey"] for c in spec["topologySpreadConstraints"]]
    assert keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    assert {c["whenUnsatisfiable"] for c in spec["topologySpreadConstraints"]} == {"ScheduleAnyway"}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("redirector.replica", "replica"),  # a typo of replicas
        ("image.tags", "tags"),
        ("monitoring.serviceMonitor.enable", "enable"),
    ],
)
def test_the_schema_rejects_a_typo(key: str, message: str) -> None:
    with pytest.raises(HelmError, match=rf"(?s)additional properties.*'{message}' not allowed"):
        render(set_values={key: "3"})


def test_the_schema_rejects_a_wrong_type_and_allows_any_global() -> None:
    with pytest.raises(HelmError, match="values don't meet the specifications of the schema"):
        render(set_values={"config.logLevel": "LOUD"})
    manifests = render(set_values={"global.someParentSetting": "x", "global.imageRegistry": "r.io"})
    api = one(manifests, "Deployment", "sl-shortlink-api")
    assert api["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "r.io/shortlink/shortlink:0.1.0"
    )


def test_an_image_digest_pins_every_shortlink_container() -> None:
    digest = "sha256:" + "ab" * 32
    manifests = render(set_values={"image.digest": digest, "image.tag": "ignored"})
    for _, spec in pod_specs(manifests):
        for container in all_containers(spec):
            assert container["image"] == f"ghcr.io/shortlink/shortlink@{digest}"


def crd_sources() -> dict[str, Manifest]:
    crds = {}
    for path in sorted((REPO_ROOT / "crds").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict):
                crds[document["metadata"]["name"]] = document
    return crds


def test_the_chart_crds_are_the_crds_folder_plus_labels_and_keep() -> None:
    rendered = {crd["metadata"]["name"]: crd for crd in find(render(), "CustomResourceDefinition")}
    sources = crd_sources()
    assert set(rendered) == set(sources)
    for name, crd in rendered.items():
        metadata = dict(crd["metadata"])
        assert metadata.pop("annotations") == {"helm.sh/resource-policy": "keep"}
        assert metadata.pop("labels")["app.kubernetes.io/component"] == "crds"
        assert {**crd, "metadata": metadata} == sources[name]


def test_crds_keep_off_and_crds_disabled() -> None:
    for crd in find(render(set_values={"crds.keep": "false"}), "CustomResourceDefinition"):
        assert "helm.sh/resource-policy" not in crd["metadata"].get("annotations", {})
    assert not find(render(set_values={"crds.enabled": "false"}), "CustomResourceDefinition")


def test_the_chart_links_to_the_repository_sources_instead_of_copying_them() -> None:
    link = CHART / "files" / "crds"
    assert link.is_symlink() and link.resolve() == REPO_ROOT / "crds"


def test_a_packaged_chart_carries_the_linked_files(tmp_path: Path) -> None:
    helm("package", str(CHART), "--destination", str(tmp_path))
    (package,) = tmp_path.glob("shortlink-*.tgz")
    with tarfile.open(package) as archive:
        members = {m.name: m for m in archive.getmembers()}
        linked = {
            "crds": REPO_ROOT / "crds",
            "monitoring/rules": REPO_ROOT / "monitoring" / "rules",
            "monitoring/dashboards": REPO_ROOT / "monitoring" / "dashboards",
        }
        for folder, source_dir in linked.items():
            for source in [*source_dir.glob("*.yaml"), *source_dir.glob("*.json")]:
                member = members[f"shortlink/files/{folder}/{source.name}"]
                assert member.isfile()
                extracted = archive.extractfile(member)
                assert extracted is not None and extracted.read() == source.read_bytes()
    # and the package renders the same CRDs as the folder
    from_package = helm("template", "sl", str(package), "--show-only", "templates/crds.yaml")
    from_folder = helm("template", "sl", str(CHART), "--show-only", "templates/crds.yaml")
    assert from_package == from_folder


def test_external_services_by_default_and_existing_secrets_are_referenced() -> None:
    manifests = render(CHART / "ci" / "ha-values.yaml", set_values={"secretsAsFiles": "false"})
    env = {
        e["name"]: e
        for e in one(manifests, "Deployment", "sl-shortlink-api")["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "shortlink-database",
        "key": "DATABASE_URL",
    }
    assert env["CLICKHOUSE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "shortlink-clickhouse"
    assert not find(manifests, "StatefulSet")
    assert not find(manifests, "Secret")  # every secret is an existing one


def test_in_chart_postgresql_lists_every_member_in_database_url() -> None:
    manifests = render(
        set_values={
            "postgresql.enabled": "true",
            "postgresql.instances": "3",
            "secretsAsFiles": "false",
        }
    )
    statefulset = one(manifests, "StatefulSet", "sl-shortlink-postgresql")
    assert statefulset["spec"]["replicas"] == 3
    env = {
        e["name"]: e
        for e in one(manifests, "Deployment", "sl-shortlink-api")["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    hosts = ",".join(
        f"sl-shortlink-postgresql-{i}.sl-shortlink-postgresql-members.shortlink.svc:5432"
        for i in range(3)
    )
    assert env["DATABASE_URL"]["value"] == (
        f"postgresql://shortlink:$(SHORTLINK_DATABASE_PASSWORD)@{hosts}/shortlink"
        "?target_session_attrs=read-write"
    )
    names = [e["name"] for e in env.values()]
    assert names.index("SHORTLINK_DATABASE_PASSWORD") < names.index("DATABASE_URL")
    cluster = one(manifests, "PostgresCluster", "sl-shortlink-postgresql")
    members = cluster["spec"]["members"]
    assert [f"{m['host']}:{m['port']}" for m in members] == hosts.split(",")
    assert [m["name"] for m in members] == [f"sl-shortlink-postgresql-{i}" for i in range(3)]
    secret = one(manifests, "Secret", "sl-shortlink-postgresql")
    assert cluster["spec"]["credentialsSecretRef"] == {"name": "sl-shortlink-postgresql"}
    # The CRD's default keys, and the application's password.
    assert set(secret["data"]) == {
        "superuser",
        "superuser-password",
        "replication-user",
        "replication-password",
        "password",
    }


SECRETS_DIR = "/run/secrets/shortlink"


def secret_files(manifests: list[Manifest], deployment: str) -> tuple[dict[str, Any], list[Any]]:
    """The main container's env by name, and the secret sources of its secrets volume."""
    pod = one(manifests, "Deployment", deployment)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["secrets"] == {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True}
    volume = next(v for v in pod["volumes"] if v["name"] == "secrets")
    sources = [s["secret"] for s in volume["projected"]["sources"]]
    return {e["name"]: e for e in container["env"]}, sources


def test_secrets_are_mounted_as_files_by_default() -> None:
    """checkov CKV_K8S_35: secrets as files, never in the environment."""
    for values in CI_VALUES:
        for name, pod in pod_specs(render(values)):
            if "postgresql" in name:
                continue  # PostgreSQL's own image reads its passwords from the environment
            for container in pod["containers"] + pod.get("initContainers", []):
                for entry in container.get("env", []):
                    where = (values.stem, name, entry["name"])
                    assert "secretKeyRef" not in entry.get("valueFrom", {}), where
    env, sources = secret_files(render(CHART / "ci" / "ha-values.yaml"), "sl-shortlink-api")
    assert env["DATABASE_URL_FILE"] == {
        "name": "DATABASE_URL_FILE",
        "value": f"{SECRETS_DIR}/DATABASE_URL",
    }
    assert env["REDIS_URL_FILE"]["value"] == f"{SECRETS_DIR}/REDIS_URL"
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env
    assert {
        "name": "shortlink-database",
        "items": [{"key": "DATABASE_URL", "path": "DATABASE_URL"}],
    } in sources
    assert {
        "name": "shortlink-clickhouse",
        "items": [{"key": "CLICKHOUSE_URL", "path": "CLICKHOUSE_URL"}],
    } in sources


def test_in_chart_postgresql_password_is_a_file_beside_the_url() -> None:
    manifests = render(set_values={"postgresql.enabled": "true", "postgresql.instances": "2"})
    env, sources = secret_files(manifests, "sl-shortlink-redirector")
    assert env["DATABASE_URL"]["value"].startswith(
        "postgresql://shortlink@sl-shortlink-postgresql-0."
    )
    assert env["SHORTLINK_DATABASE_PASSWORD_FILE"]["value"] == (
        f"{SECRETS_DIR}/SHORTLINK_DATABASE_PASSWORD"
    )
    assert {
        "name": "sl-shortlink-postgresql",
        "items": [{"key": "password", "path": "SHORTLINK_DATABASE_PASSWORD"}],
    } in sources
    assert {
        "name": "sl-shortlink",
        "items": [{"key": "SHORTLINK_SECRET_KEY", "path": "SHORTLINK_SECRET_KEY"}],
    } in sources


def test_analytics_without_kafka_fails_with_a_clear_message() -> None:
    with pytest.raises(HelmError, match=r"analytics\.enabled needs kafka\.bootstrapServers"):
        render(set_values={"analytics.enabled": "true"})


def test_monitoring_is_off_by_default_and_on_without_a_capabilities_check() -> None:
    kinds = {m["kind"] for m in render()}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}
    # `helm template` knows no cluster, so nothing is dropped for a missing API.
    manifests = render(
        set_values={
            "monitoring.serviceMonitor.enabled": "true",
            "monitoring.prometheusRule.enabled": "true",
        }
    )
    monitors = find(manifests, "ServiceMonitor")
    assert sorted(m["metadata"]["name"] for m in monitors) == [
        "sl-shortlink-api",
        "sl-shortlink-operator",
        "sl-shortlink-redirector",
    ]
    for monitor in monitors:
        assert monitor["spec"]["endpoints"] == [
            {"port": "ops", "path": "/metrics", "interval": "30s"}
        ]
    assert find(manifests, "PrometheusRule")
    for template in (CHART / "templates").iterdir():
        assert "Capabilities.APIVersions" not in template.read_text(), template.name


def test_network_policies_off_by_default_and_on_cover_every_component() -> None:
    assert not find(render(), "NetworkPolicy")
    manifests = render(CHART / "ci" / "full-values.yaml")
    policies = {p["metadata"]["name"]: p for p in find(manifests, "NetworkPolicy")}
    assert set(policies) == {
        f"sl-shortlink-{c}" for c in ("api", "redirector", "analytics", "operator", "postgresql")
    }
    for policy in policies.values():
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    # The worker and the operator take no traffic but scrapes.
    for name in ("sl-shortlink-analytics", "sl-shortlink-operator"):
        (rule,) = policies[name]["spec"]["ingress"]
        assert rule["ports"] == [{"port": "ops", "protocol": "TCP"}]
    operator_egress = policies["sl-shortlink-operator"]["spec"]["egress"]
    assert {
        "to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
    } in operator_egress
    # The API reaches the Kubernetes API (TokenReview) and the OpenID provider only when
    # ServiceAccount access and single sign-on are on (they are in full-values).
    api_egress = policies["sl-shortlink-api"]["spec"]["egress"]
    assert {
        "to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
    } in api_egress
    assert {"ports": [{"port": 443, "protocol": "TCP"}]} in api_egress
    without_auth = render(
        CHART / "ci" / "full-values.yaml",
        set_values={"auth.oidc.issuer": "", "auth.serviceAccounts.roles": "null"},
    )
    (api_policy,) = find(without_auth, "NetworkPolicy", "sl-shortlink-api")
    api_egress = api_policy["spec"]["egress"]
    assert not any({"port": 443, "protocol": "TCP"} in rule.get("ports", []) for rule in api_egress)


def test_service_account_access_gives_the_api_token_review_and_nothing_more() -> None:
    assert not find(render(), "ServiceAccount", "sl-shortlink-api")
    manifests = render(CHART / "ci" / "full-values.yaml")
    (binding,) = find(manifests, "ClusterRoleBinding", "sl-shortlink-api-token-review")
    assert binding["roleRef"]["name"] == "system:auth-delegator"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "sl-shortlink-api", "namespace": "shortlink"}
    ]
    (api,) = find(manifests, "Deployment", "sl-shortlink-api")
    assert api["spec"]["template"]["spec"]["serviceAccountName"] == "sl-shortlink-api"
    (config,) = find(manifests, "ConfigMap", "sl-shortlink")
    assert config["data"]["SHORTLINK_SERVICE_ACCOUNT_ROLES"] == (
        "ci/deployer=team-a:editor,ci/*=team-a:viewer"
    )
    assert config["data"]["SHORTLINK_OIDC_ISSUER"] == "https://id.sho.rt"


def test_the_oidc_client_secret_is_a_secret_of_the_api_only() -> None:
    manifests = render(
        set_values={"auth.oidc.issuer": "https://id.sho.rt", "auth.oidc.clientId": "sl",
                    "auth.oidc.clientSecret.value": "oidc-client-secret"}
    )  # fmt: skip
    (config,) = find(manifests, "ConfigMap", "sl-shortlink")
    assert "oidc-client-secret" not in yaml.safe_dump(config)
    (api,) = find(manifests, "Deployment", "sl-shortlink-api")
    (container,) = [c for c in api["spec"]["template"]["spec"]["containers"] if c["name"] == "api"]
    names = {e["name"] for e in container["env"]}
    assert "SHORTLINK_OIDC_CLIENT_SECRET_FILE" in names


def leaf_values(schema: dict[str, Any], values: Any, path: str = "") -> dict[str, Any]:
    """Dotted keys of values.yaml down to the schema's open maps and lists."""
    if schema.get("type") == "object" and schema.get("additionalProperties") is False:
        leaves: dict[str, Any] = {}
        for key, child in schema["properties"].items():
            leaves |= leaf_values(child, values[key], f"{path}.{key}" if path else key)
        return leaves
    if path == "global":
        return {"global.imageRegistry": values["imageRegistry"]}
    return {path: values}


def test_the_schema_knows_every_value_and_the_values_table_lists_them() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    leaves = leaf_values(schema, values)
    rows = re.findall(
        r"^\| `([^`]+)` \| `(.*?)` \| (.+) \|$", (CHART / "README.md").read_text(), re.M
    )
    table = {key: default for key, default, _ in rows}
    assert list(table) == list(leaves)
    for key, value in leaves.items():
        assert yaml.safe_load(table[key]) == value, key


def test_every_value_is_documented_in_values_yaml() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    for number, line in enumerate(lines):
        match = re.match(r"^\s*([A-Za-z]\w*):(.*)$", line)
        if not match or match.group(2).strip() == "":
            continue  # a section: its keys carry the comments
        previous = next(text.strip() for text in reversed(lines[:number]) if text.strip())
        if not previous.startswith("# -- "):
            undocumented.append(match.group(1))
    assert undocumented == []


def test_the_operator_gets_exactly_the_rbac_its_readme_documents() -> None:
    readme = (REPO_ROOT / "operator" / "README.md").read_text()
    block = re.search(r"## RBAC\n.*?```yaml\n(.*?)```", readme, re.S)
    assert block is not None
    documented = expand_rules(yaml.safe_load(block.group(1))["rules"])
    failover_block = re.search(r"### RBAC for failover.*?```yaml\n(.*?)```", readme, re.S)
    assert failover_block is not None
    failover = expand_rules(yaml.safe_load(failover_block.group(1)))
    for values in ({}, {"operator.watchNamespaces": "{links,marketing}"}):
        manifests = render(set_values=values)
        assert granted_rules(manifests, "sl-shortlink-operator") == documented
        for on in ({"operator.postgresFailover": "true"}, {"postgresql.enabled": "true"}):
            manifests = render(set_values={**values, **on})
            assert granted_rules(manifests, "sl-shortlink-operator") == documented | failover
    # Per namespace when told which: a Role in each, nothing cluster-wide but the CRDs.
    manifests = render(set_values={"operator.watchNamespaces": "{links,marketing}"})
    roles = find(manifests, "Role")
    assert {r["metadata"].get("namespace") for r in roles} == {None, "links", "marketing"}
    (cluster_role,) = find(manifests, "ClusterRole")
    assert expand_rules(cluster_role["rules"]) == {
        ("list", "apiextensions.k8s.io", "customresourcedefinitions"),
        ("watch", "apiextensions.k8s.io", "customresourcedefinitions"),
    }


SENSITIVE = {"secrets", "services", "endpointslices"}


def namespaces_granting(manifests: list[Manifest], resource: str) -> set[str | None]:
    """Where a rendered Role (None: a ClusterRole) grants anything on ``resource``."""
    return {
        role["metadata"].get("namespace") if role["kind"] == "Role" else None
        for role in find(manifests, "Role") + find(manifests, "ClusterRole")
        if any(resource in rule["resources"] for rule in role["rules"])
    }


def postgres_namespaces_setting(manifests: list[Manifest]) -> str:
    operator = one(manifests, "Deployment", "sl-shortlink-operator")
    (container,) = operator["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    return str(env["SHORTLINK_OPERATOR_POSTGRES_NAMESPACES"])


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"operator.postgresFailover": "true"},
        {"postgresql.enabled": "true"},
        {"operator.watchNamespaces": "{links,marketing}", "operator.postgresFailover": "true"},
    ],
    ids=["default", "failover", "in-chart-postgresql", "watched-namespaces"],
)
def test_no_cluster_role_reaches_secrets_services_or_endpointslices(
    values: dict[str, str],
) -> None:
    """Issue 19, finding 3: with every namespace watched (the default) the operator
    still reads Secrets and writes Services and EndpointSlices only in namespaces
    named for it: a Role in each, never a ClusterRole."""
    manifests = render(set_values=values)
    for role in find(manifests, "ClusterRole"):
        reached = {r for rule in role["rules"] for r in rule["resources"]} & SENSITIVE
        assert reached == set(), role["metadata"]["name"]
    watched = {"links", "marketing"} if "operator.watchNamespaces" in values else {"shortlink"}
    assert namespaces_granting(manifests, "secrets") == watched
    failover = len(values) > 0
    expected = watched if failover else set()
    assert namespaces_granting(manifests, "services") == expected
    assert namespaces_granting(manifests, "endpointslices") == expected
    assert set(postgres_namespaces_setting(manifests).split(",")) == watched


def test_the_namespaces_named_for_secrets_and_failover_get_the_roles() -> None:
    manifests = render(
        set_values={
            "operator.postgresFailover": "true",
            "operator.postgresNamespaces": "{databases}",
            "operator.passwordSecretNamespaces": "{links,shop}",
        }
    )
    assert namespaces_granting(manifests, "services") == {"databases"}
    assert namespaces_granting(manifests, "endpointslices") == {"databases"}
    assert namespaces_granting(manifests, "secrets") == {"databases", "links", "shop"}
    failover = one(manifests, "Role", "sl-shortlink-operator-failover")
    assert failover["metadata"]["namespace"] == "databases"
    binding = one(manifests, "RoleBinding", "sl-shortlink-operator-failover")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "sl-shortlink-operator", "namespace": "shortlink"}
    ]
    assert postgres_namespaces_setting(manifests) == "databases"
    # The in-chart PostgreSQL's Secret opts in as the cluster's credentials.
    manifests = render(set_values={"postgresql.enabled": "true"})
    secret = one(manifests, "Secret", "sl-shortlink-postgresql")
    assert secret["metadata"]["labels"]["shortlink.io/postgres-credentials"] == "true"


def rule_groups() -> list[dict[str, Any]]:
    return [
        group
        for path in sorted((REPO_ROOT / "monitoring" / "rules").glob("*.yaml"))
        for group in yaml.safe_load(path.read_text())["groups"]
    ]


def test_the_prometheus_rule_carries_the_sre_rule_files() -> None:
    assert (
        CHART / "files" / "monitoring" / "rules"
    ).resolve() == REPO_ROOT / "monitoring" / "rules"
    manifests = render(set_values={"monitoring.prometheusRule.enabled": "true"})
    rule = one(manifests, "PrometheusRule", "sl-shortlink")
    groups = rule_groups()
    assert groups and rule["spec"]["groups"] == groups
    # Alert templates reach Prometheus untouched ({{ $labels... }} is theirs, not Helm's).
    assert "{{ $labels.instance }}" in yaml.safe_dump(rule["spec"])


def test_alerts_can_be_disabled_by_name() -> None:
    alerts = [r["alert"] for g in rule_groups() for r in g["rules"] if "alert" in r]
    dropped = alerts[:2]
    manifests = render(
        set_values={
            "monitoring.prometheusRule.enabled": "true",
            "monitoring.prometheusRule.disabledAlerts": "{" + ",".join(dropped) + "}",
        }
    )
    rule = one(manifests, "PrometheusRule", "sl-shortlink")
    kept = [r.get("alert") for g in rule["spec"]["groups"] for r in g["rules"]]
    assert not set(dropped) & set(kept)
    assert set(alerts) - set(dropped) <= set(kept)
    records = [r["record"] for g in rule_groups() for r in g["rules"] if "record" in r]
    assert records and set(records) <= {
        r.get("record") for g in rule["spec"]["groups"] for r in g["rules"]
    }


def test_scrape_jobs_are_named_as_the_sre_rules_expect() -> None:
    expected = set(
        re.findall(
            r'job=~"\(\.\*-\)\?(shortlink-[a-z]+)"',
            "".join(p.read_text() for p in (REPO_ROOT / "monitoring" / "rules").glob("*.yaml")),
        )
    )
    manifests = render(CHART / "ci" / "full-values.yaml", set_values={"fullnameOverride": "links"})
    jobs = set()
    for monitor in find(manifests, "ServiceMonitor"):
        label = monitor["spec"]["jobLabel"]
        (service,) = [
            s
            for s in find(manifests, "Service")
            if s["metadata"]["name"] == monitor["metadata"]["name"]
        ]
        jobs.add(service["metadata"]["labels"][label])
    assert expected and expected == jobs


def test_dashboards_are_configmaps_for_the_grafana_sidecar_with_the_sre_files() -> None:
    dashboards = sorted((REPO_ROOT / "monitoring" / "dashboards").glob("*.json"))
    assert dashboards
    assert not find(render(), "ConfigMap", "sl-shortlink-dashboard-shortlink")
    manifests = render(set_values={"monitoring.dashboards.enabled": "true"})
    for path in dashboards:
        config_map = one(manifests, "ConfigMap", f"sl-shortlink-dashboard-{path.stem}")
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["metadata"]["annotations"] == {"grafana_folder": "Shortlink"}
        assert config_map["data"] == {path.name: path.read_text().rstrip("\n")}


# Issue 19, finding 9: each secret only in the containers that use it.
SECRETS_BY_CONTAINER = {
    "api": {"SHORTLINK_SECRET_KEY", "SHORTLINK_INITIAL_API_KEY", "SHORTLINK_ANALYTICS_SALT",
            "DATABASE_URL", "REDIS_URL", "CLICKHOUSE_URL", "SHORTLINK_OIDC_CLIENT_SECRET"},
    "redirector": {"SHORTLINK_SECRET_KEY", "DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL"},
    "analytics": {"SHORTLINK_ANALYTICS_SALT", "REDIS_URL", "CLICKHOUSE_URL"},
    "operator": {"DATABASE_URL", "REDIS_URL"},
    "migrate": {"DATABASE_URL"},
}  # fmt: skip
_SECRET_NAMES = set().union(*SECRETS_BY_CONTAINER.values())


@pytest.mark.parametrize("as_files", ["true", "false"])
def test_each_secret_reaches_only_the_containers_that_use_it(as_files: str) -> None:
    manifests = render(
        set_values={
            "secretsAsFiles": as_files,
            "initialApiKey.value": "sl_initial_key_0123456789",
            "clickhouse.url": "http://clickhouse:8123",
            "analytics.enabled": "true",
            "kafka.bootstrapServers": "kafka:9092",
            "operator.postgresFailover": "true",
            "databaseRead.url": "postgresql://shortlink:pw@standbys:5432/shortlink",
            "auth.oidc.clientSecret.value": "oidc-client-secret",
        }
    )
    seen = set()
    for name, spec in pod_specs(manifests):
        if "postgresql" in name:
            continue
        for container in all_containers(spec):
            given = {e["name"] for e in container.get("env", []) if e["name"] in _SECRET_NAMES}
            given |= {
                e["name"].removesuffix("_FILE")
                for e in container.get("env", [])
                if e["name"].removesuffix("_FILE") in _SECRET_NAMES
            }
            given |= {
                m["subPath"]
                for m in container.get("volumeMounts", [])
                if m["name"] == "secrets" and "subPath" in m
            }
            allowed = SECRETS_BY_CONTAINER[container["name"]]
            assert given <= allowed, (name, container["name"], given - allowed)
            if container in spec.get("initContainers", []):  # the pod's volume holds more
                whole = [
                    m for m in container.get("volumeMounts", [])
                    if m["name"] == "secrets" and "subPath" not in m
                ]  # fmt: skip
                assert not whole, (name, container["name"])
            else:  # the volume holds the main container's secrets: checked with its files
                volume = next((v for v in spec["volumes"] if v["name"] == "secrets"), None)
                files = {
                    item["path"]
                    for source in (volume or {}).get("projected", {}).get("sources", [])
                    for item in source["secret"]["items"]
                }
                assert files <= allowed, (name, files - allowed)
            seen.add(container["name"])
    assert seen == set(SECRETS_BY_CONTAINER)


def _dependency_ports(manifests: list[Manifest], component: str) -> set[int]:
    (policy,) = find(manifests, "NetworkPolicy", f"sl-shortlink-{component}")
    return {
        port["port"]
        for rule in policy["spec"]["egress"]
        if 5432 in [port["port"] for port in rule["ports"]]
        for port in rule["ports"]
    }


def test_network_policy_egress_opens_every_port_the_urls_name() -> None:
    """Redis through Sentinels on 26380/26381 and brokers on 19092/19093 are not cut off
    by the default ports (which keep 26379 for a Sentinel URL held in a Secret); a
    password of digits is no port."""
    manifests = render(
        set_values={
            "networkPolicy.enabled": "true",
            "redis.url": r"redis+sentinel://:6390@s1:26380\,s2:26381/mymaster/0",
            "kafka.bootstrapServers": r"k0:19092\,k1:19093",
            "database.url": "postgresql://shortlink:5999@pg-a:15432/shortlink",
        }
    )
    for component in ("api", "redirector", "operator"):
        ports = _dependency_ports(manifests, component)
        assert {26380, 26381, 19092, 19093, 15432, 26379, 5432, 6379} <= ports, component
        assert not {6390, 5999} & ports, component
    default = _dependency_ports(render(set_values={"networkPolicy.enabled": "true"}), "api")
    assert default == {5432, 6379, 26379, 9092, 8123, 8443}


def test_a_dependency_in_the_namespace_admits_only_the_releases_components(
    tmp_path: Path,
) -> None:
    """networkPolicy.dependencies: Redis as a pod beside the release is fenced to the
    components (ingress on its port from them only), and they may reach it even when
    dependencyEgress narrows the external services to a CIDR."""
    redis = {"matchLabels": {"app": "redis"}}
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "networkPolicy": {
                    "enabled": True,
                    "dependencyEgress": [{"ipBlock": {"cidr": "192.0.2.0/24"}}],
                    "dependencies": [{"name": "redis", "podSelector": redis, "ports": [6379]}],
                },
            }
        )
    )
    manifests = render(CHART / "ci" / "full-values.yaml", values)  # every component on
    (fence,) = find(manifests, "NetworkPolicy", "sl-shortlink-dependency-redis")
    assert fence["spec"]["podSelector"] == redis
    assert fence["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = fence["spec"]["ingress"]
    assert rule["ports"] == [{"port": 6379, "protocol": "TCP"}]
    (peer,) = rule["from"]
    assert peer == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "shortlink",
                "app.kubernetes.io/instance": "sl",
            },
            "matchExpressions": [
                {
                    "key": "app.kubernetes.io/component",
                    "operator": "In",
                    "values": ["api", "redirector", "analytics", "operator"],
                }
            ],
        }
    }
    for component in ("api", "redirector", "analytics", "operator"):
        (policy,) = find(manifests, "NetworkPolicy", f"sl-shortlink-{component}")
        assert {
            "to": [{"podSelector": redis}],
            "ports": [{"port": 6379, "protocol": "TCP"}],
        } in policy["spec"]["egress"], component
    assert not find(
        render(set_values={"networkPolicy.enabled": "true"}),
        "NetworkPolicy",
        "sl-shortlink-dependency-redis",
    )


def test_a_dependency_without_ports_is_refused(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "networkPolicy": {
                    "enabled": True,
                    "dependencies": [
                        {
                            "name": "redis",
                            "podSelector": {"matchLabels": {"app": "redis"}},
                            "ports": [],
                        }
                    ],
                }
            }
        )
    )
    with pytest.raises(HelmError, match="ports"):
        render(values)
