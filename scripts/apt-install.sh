#!/bin/sh
# Installs Debian packages where it may: as root, or with sudo that needs no password; otherwise prints the one
# command to run and exits 1 (as on a system without apt-get). `scripts/apt-install.sh WHO PACKAGE...`: WHO names
# what needs them, for the messages. Used by host-packages.sh (nginx, Java) and observe-packages.sh (Prometheus).
set -eu
who=$1
shift
packages=" $*"
command="apt-get install -y --no-install-recommends$packages"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who needs$packages (Debian package names): install them with this system's package manager" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"
else
    echo "$who needs$packages: run  sudo apt-get update && sudo $command" >&2
    exit 1
fi
echo "installing$packages"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086  # the package list is meant to split
$sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
