#!/usr/bin/env bash
# The README's first command: install dependencies, build, and run the example
# deployment under supervision. Extra arguments go to `nodevisor run`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh

binary=build/app/nodevisor
spec=examples/web-stack.yaml

if [[ ! -x "$binary" ]]; then
  echo "run-example.sh: $binary was not built; the nodevisor binary (app/) does not exist yet" >&2
  exit 1
fi
if [[ ! -f "$spec" ]]; then
  echo "run-example.sh: example deployment $spec is missing" >&2
  exit 1
fi

exec "$binary" run "$spec" "$@"
