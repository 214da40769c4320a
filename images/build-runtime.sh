#!/usr/bin/env bash
# Build the runtime image without network access during the build:
#   1. on the host, wheel the airlock package and the runtime's dependencies
#      (images/runtime-requirements.txt, versions from pyproject.toml's ranges);
#   2. `podman build --network=none` from those wheels on BASE.
#
#   images/build-runtime.sh [TAG]     default TAG: localhost/airlock-runtime:dev
#   BASE=... PYTHON=... images/build-runtime.sh
#
# The default BASE is the local base from images/build-base.sh (no registry needed);
# set BASE to the Dockerfile's pinned upstream image where a registry is reachable.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/podman/containers.conf}"
tag="${1:-localhost/airlock-runtime:dev}"
base="${BASE:-localhost/airlock-base:bookworm}"
python="${PYTHON:-python3}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/wheels"
# Requirement lines for the runtime's packages, with the ranges pyproject.toml pins.
"$python" - "$repo/pyproject.toml" "$here/runtime-requirements.txt" > "$work/wheels/runtime-requirements.txt" <<'PY'
import re, sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
by_name = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower(): d for d in deps}
for line in open(sys.argv[2]):
    name = line.split("#", 1)[0].strip()
    if not name:
        continue
    if name.lower() not in by_name:
        sys.exit(f"images/runtime-requirements.txt: {name!r} is not a dependency in pyproject.toml")
    print(by_name[name.lower()])
PY
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/wheels" "$repo"
"$python" -m pip wheel --quiet --wheel-dir "$work/wheels" -r "$work/wheels/runtime-requirements.txt"
podman build --quiet --pull=never --network=none --build-arg "BASE=$base" \
  -f "$here/runtime.Dockerfile" -t "$tag" "$work"
echo "built $tag on $base"
