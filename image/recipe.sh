#!/bin/sh
# The one install recipe of the shortlink image, run by the Dockerfile and by
# scripts/build-image (no Docker engine: a Debian rootfs from mmdebstrap, assembled with
# umoci). Each phase runs as root INSIDE the image's root filesystem:
#
#   recipe.sh system              Debian packages and the numeric user (the cached base)
#   recipe.sh wheel SRC OUT       the project's wheel from a source tree (UI assets included)
#   recipe.sh app WHEELS          /opt/shortlink: a venv with the wheel, its dependencies
#                                 and the bundled GeoIP database
set -eu

# What runs in the image: Debian's Python (3.11 on bookworm) and CA roots for TLS to
# PostgreSQL, Redis, Kafka, ClickHouse and the Kubernetes API.
PACKAGES="python3 python3-venv ca-certificates"
USER_ID=10001
VENV=/opt/shortlink

system() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $PACKAGES
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log
    rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/*
    groupadd --gid "$USER_ID" shortlink
    useradd --uid "$USER_ID" --gid "$USER_ID" --no-create-home --home-dir /tmp \
        --shell /usr/sbin/nologin shortlink
}

wheel() {
    src=$1 out=$2
    # The UI's pinned npm assets go into the package before it is built (when the
    # project has that step).
    if [ -x "$src/scripts/install-ui-assets" ]; then
        "$src/scripts/install-ui-assets"
    fi
    mkdir -p "$out"
    # A copy: setuptools writes build/ and *.egg-info next to the sources. Without
    # .cache (gigabytes, and a running test cluster's runtime state changes under a
    # copy: cp failed on vanished snapshots), .venv and build/.
    work=$(mktemp -d)
    tar -C "$src" --exclude=./.cache --exclude=./.venv --exclude=./build -cf - . | tar -C "$work" -xf -
    "${PYTHON:-python3}" -m pip wheel --quiet --no-deps --wheel-dir "$out" "$work"
    rm -rf "$work"
    cp "$src/scripts/install-geo-db" "$out/"
}

app() {
    wheels=$1
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "$wheels"/shortlink-*.whl
    bash "$wheels/install-geo-db" "$VENV"
    # Installers are not needed at run time (nothing imports setuptools/pkg_resources).
    "$VENV/bin/pip" uninstall --quiet --yes setuptools pip
    # Bytecode now: the root filesystem is read-only at run time.
    "$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" >/dev/null
    find "$VENV" -name '*.pyc' -path '*/test*/*' -delete
    "$VENV/bin/shortlink" --help >/dev/null
}

phase=${1:?usage: recipe.sh system | wheel SRC OUT | app WHEELS}
shift
"$phase" "$@"
