#!/usr/bin/env bash
# Make the local base image every Airlock image builds on, without any container registry:
# a minimal Debian (bookworm, Python 3.11) made by mmdebstrap from this host's own apt
# sources, imported into podman as localhost/airlock-base:bookworm.
#
#   images/build-base.sh            # builds it once; does nothing when it already exists
#   images/build-base.sh --force    # rebuilds it
#
# Airgapped customers use the same recipe against their Debian mirror.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/podman/containers.conf}"
tag="${AIRLOCK_BASE_IMAGE:-localhost/airlock-base:bookworm}"

if [ "${1:-}" != "--force" ] && podman image exists "$tag"; then
  echo "base image $tag already present"
  exit 0
fi

sources=""
for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  if [ -f "$candidate" ]; then sources="$candidate"; break; fi
done
if [ -z "$sources" ]; then
  echo "build-base.sh: no apt sources file found (looked for /etc/apt/sources.list.d/debian.sources and /etc/apt/sources.list)" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "building $tag with mmdebstrap from $sources (about 2 minutes)"
mmdebstrap --quiet --variant=minbase \
  --include=python3,python3-venv,ca-certificates \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  bookworm "$work/base.tar" "$sources"
podman import --quiet "$work/base.tar" "$tag" >/dev/null
echo "base image $tag ready"
