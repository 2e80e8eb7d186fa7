#!/usr/bin/env bash
# The README's first command: install dependencies, build, and run the example deployment
# (examples/web-stack.yaml) under supervision with real processes. It stays up until Ctrl-C,
# which stops every service in reverse dependency order. Extra arguments go to
# `nodevisor run`, e.g. `scripts/run-example.sh --until healthy --trace /tmp/web-stack.jsonl`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh

binary=build/app/nodevisor
spec=examples/web-stack.yaml
if [[ ! -x "$binary" || ! -x build/examples/nodevisor-demo ]]; then
  echo "run-example.sh: the build did not produce $binary and build/examples/nodevisor-demo" >&2
  exit 1
fi

# The example's services run the project's demo server by name.
export PATH="$PWD/build/examples:$PATH"
exec "$binary" run "$spec" "$@"
