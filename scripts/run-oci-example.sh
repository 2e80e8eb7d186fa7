#!/usr/bin/env bash
# The example deployment in real containers (examples/oci/shop.yaml, the oci runtime): install
# dependencies and build, build a busybox image offline (examples/oci/busybox-image.sh), serve it
# from a docker-registry on 127.0.0.1:5000, push it there, and run the deployment with
# `--runtime oci`, which pulls it. Needs root (runc). Ctrl-C stops it; the registry goes too.
# Extra arguments go to `nodevisor run`, e.g. `--until healthy --trace /tmp/shop.jsonl`.
#   NODEVISOR_STATE_DIR   image store, bundles and runc state (default /var/lib/nodevisor)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ((EUID != 0)); then
  echo "run-oci-example.sh: runc needs root here; run it as root" >&2
  exit 1
fi
scripts/setup.sh

state=${NODEVISOR_STATE_DIR:-/var/lib/nodevisor}
work=$(mktemp -d)
registry_pid=
cleanup() {
  [[ -n "$registry_pid" ]] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null; then
  echo "run-oci-example.sh: something listens on 127.0.0.1:5000 already; the example's" \
    "registry needs it" >&2
  exit 1
fi
examples/oci/busybox-image.sh "$work/layout" busybox:1
REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$work/registry" \
  docker-registry serve examples/oci/registry.yml &
registry_pid=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null && break
  sleep 0.1
done
skopeo copy --quiet --dest-tls-verify=false "oci:$work/layout:busybox:1" \
  docker://127.0.0.1:5000/nodevisor/busybox:1
echo "run-oci-example.sh: image pushed to 127.0.0.1:5000/nodevisor/busybox:1"

# pull_policy defaults to if_not_present: the store keeps the image of an earlier run.
build/app/nodevisor run examples/oci/shop.yaml --runtime oci --state-dir "$state" "$@"
