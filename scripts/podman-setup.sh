#!/usr/bin/env bash
# Makes podman build and run images on a machine with no Docker daemon and no image registry
# (/work/shared/docs/IMAGE_BUILD.md): Debian's podman tools, an engine configuration that works here,
# and debian:bookworm-slim made locally with debootstrap. Idempotent; prints the configuration's path.
#   scripts/podman-setup.sh            -> build/podman/containers.conf
set -euo pipefail
cd "$(dirname "$0")/.."

state=build/podman
conf=$state/containers.conf
base=docker.io/library/debian:bookworm-slim
mkdir -p "$state"

need=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || need+=("$tool"); done
# catatonit: the init of a pod's infra container (`podman kube play` in scripts/image-test-kube.sh builds it locally).
command -v catatonit >/dev/null || [ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
if [ ${#need[@]} -gt 0 ]; then
    echo "podman-setup: installing podman runc debootstrap fuse-overlayfs slirp4netns uidmap catatonit" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends podman buildah runc debootstrap fuse-overlayfs slirp4netns \
        uidmap catatonit >/dev/null
fi

# crun (podman's default) fails on this cgroup hybrid; without explicit ulimits runc cannot set them.
nofile=$(ulimit -Hn)
cat >"$conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$PWD/$conf

if ! podman image exists "$base"; then
    mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | head -n1 | tr -d ' ' || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    security=${mirror%/debian*}/debian-security
    rootfs=$(mktemp -d "$PWD/$state/rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' EXIT
    echo "podman-setup: debootstrap bookworm from $mirror" >&2
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$state/debootstrap.log" 2>&1 \
        || { tail -n 20 "$state/debootstrap.log" >&2; exit 1; }
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
        "$mirror" "$mirror" "$security" >"$rootfs/etc/apt/sources.list"
    # As debian:bookworm-slim does: no docs, man pages or translations, now or from later installs.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    mkdir -p "$rootfs/var/lib/apt/lists/partial"
    # This machine's egress re-signs TLS with its own CA: builds must trust it (pip inside RUN steps).
    bundle=/etc/ssl/certs/ca-certificates.crt
    mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/usr/local/share/ca-certificates"
    cp "$bundle" "$rootfs$bundle"
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
    tar -C "$rootfs" -c . | podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "ENV SSL_CERT_FILE=$bundle" --change "ENV PIP_CERT=$bundle" \
        --change "ENV REQUESTS_CA_BUNDLE=$bundle" --change 'CMD ["bash"]' - localhost/bookworm-base >/dev/null
    podman tag localhost/bookworm-base "$base"
fi
echo "$PWD/$conf"
