# Sourced by scripts/build-image, scripts/build-postgres-image and scripts/build-redis-image:
# the Debian bookworm root filesystem the images start from (mmdebstrap, then
# image/recipe.sh's `system` phase), built once and cached in .cache/image/base-KEY (KEY:
# the recipe and the mirror), `in_root`, which runs a command as root inside a root
# filesystem, and `pack_layout`, which makes a root filesystem an OCI layout.
# Sourced from the repository's root.

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
RECIPE=image/recipe.sh
IN_IMAGE_RECIPE=/usr/local/share/shortlink/recipe.sh
CACHE=.cache/image
KEY=$( { cat "$RECIPE"; echo "$SUITE $MIRROR"; } | sha256sum | cut -c1-16)
BASE=$CACHE/base-$KEY

say() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

need_tools() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$(basename "$0") needs $tool (apt-get install mmdebstrap umoci bubblewrap)" >&2; exit 1; }
    done
}

# Runs a recipe phase as root inside ROOTFS, with the host's network (PyPI, Debian) and,
# for this build only, the host's CA bundle (it may trust a TLS-inspecting proxy that the
# image must not); nothing of the host's environment leaks in.
HOST_CA=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
in_root() {
    local rootfs=$1; shift
    bwrap --bind "$rootfs" / --proc /proc --dev /dev --perms 1777 --tmpfs /tmp \
        --ro-bind /etc/resolv.conf /etc/resolv.conf \
        --ro-bind "$HOST_CA" /tmp/host-ca.crt \
        --bind "$PWD/$CACHE/pip" /tmp/pip-cache \
        --clearenv \
        --setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --setenv HOME /root --setenv LANG C.UTF-8 \
        --setenv PIP_CACHE_DIR /tmp/pip-cache --setenv PIP_CERT /tmp/host-ca.crt \
        --setenv PIP_DISABLE_PIP_VERSION_CHECK 1 --setenv PIP_DEFAULT_TIMEOUT 120 \
        --die-with-parent "$@"
}

# The cached base (one builder at a time: .cache may be shared by several checkouts).
ensure_base() {
    mkdir -p "$CACHE/pip"
    (
        flock 8
        if [[ -d $BASE ]]; then
            exit 0
        fi
        started=$SECONDS
        say "base rootfs: mmdebstrap $SUITE + recipe system (cached as $BASE)"
        rm -rf "$BASE.partial"
        # merged /usr by the hook, not the usrmerge package (which would pull in perl).
        mmdebstrap --quiet --variant=apt --mode=root --format=directory \
            --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
            "$SUITE" "$BASE.partial" "$MIRROR"
        install -D -m 0755 "$RECIPE" "$BASE.partial$IN_IMAGE_RECIPE"
        in_root "$BASE.partial" sh "$IN_IMAGE_RECIPE" system
        find "$CACHE" -maxdepth 1 -name 'base-*' ! -name "base-$KEY*" -exec rm -rf {} +  # older recipes
        mv "$BASE.partial" "$BASE"
        say "base rootfs built in $((SECONDS - started))s"
    ) 8>"$CACHE/base.lock"
}

# ROOTFS as the single layer of a new OCI layout OUT tagged TAG (umoci, unpacked in
# BUNDLE, a directory that must not exist yet), then `umoci config` with the remaining
# arguments (user, entrypoint, env, labels, ...).
pack_layout() {
    local rootfs=$1 out=$2 tag=$3 bundle=$4; shift 4
    rm -rf "$out"
    umoci init --layout "$out"
    umoci new --image "$out:$tag"
    umoci unpack --image "$out:$tag" "$bundle" >/dev/null
    cp -a "$rootfs/." "$bundle/rootfs/"
    umoci repack --image "$out:$tag" "$bundle"
    umoci config --image "$out:$tag" "$@"
    umoci gc --layout "$out"
}
