# Sourced by the image scripts: picks the container engine and prepares it.
# ENGINE=docker or ENGINE=podman forces one; otherwise docker when its daemon answers, else podman
# (installed and configured by scripts/podman-setup.sh, which also makes the base image locally).
if [ -z "${ENGINE:-}" ]; then
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
fi
case "$ENGINE" in
    docker) ;;
    podman)
        CONTAINERS_CONF=${CONTAINERS_CONF:-$(scripts/podman-setup.sh)}
        export CONTAINERS_CONF
        ;;
    *) echo "ENGINE must be docker or podman, not '$ENGINE'" >&2; exit 2 ;;
esac
export ENGINE
