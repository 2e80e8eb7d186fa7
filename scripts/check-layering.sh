#!/usr/bin/env bash
# Fails on an #include that points up or sideways in the layers of the tree (README "Layout"):
#
#   messages (plain vocabulary, no CAF) <- messages/caf (its CAF glue)
#   messages <- posix            messages <- spec (no CAF at all)
#   messages/caf <- trace <- supervisor <- actors <- node <- app;  spec <- node
#   messages <- posix <- keeper (no CAF);  messages/caf, posix, keeper <- runtimes <- actors
#
# Each directory may include its own headers and those of the layers below it; tests/, bench/
# and examples/ may include anything. Prints one line per violation: FILE:LINE: what, why.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# layer -> the project directories its files may include ("caf" stands for <caf/...>).
declare -A allowed=(
  [messages]="messages"
  [messages/caf]="messages messages/caf caf"
  [posix]="messages posix"
  [keeper]="messages posix keeper"
  [spec]="messages spec"
  [trace]="messages messages/caf trace caf"
  [supervisor]="messages messages/caf trace supervisor caf"
  [runtimes]="messages messages/caf posix keeper runtimes caf"
  [actors]="messages messages/caf posix keeper trace supervisor runtimes actors caf"
  [node]="messages messages/caf posix keeper spec trace supervisor runtimes actors node caf"
  [app]="messages messages/caf posix keeper spec trace supervisor runtimes actors node app caf"
)

layer_of() { # the layer a file belongs to, or nothing for tests, benchmarks and examples
  case "$1" in
    messages/caf/*) echo messages/caf ;;
    messages/* | posix/* | keeper/* | spec/* | trace/* | supervisor/* | runtimes/* | actors/* | node/* | app/*)
      echo "${1%%/*}" ;;
  esac
}

target_of() { # what an include line names: a project layer, caf, or nothing to check
  local inc="$1"
  case "$inc" in
    '<caf/'*) echo caf ;;
    '"messages/caf/'*) echo messages/caf ;;
    '"'*/*) inc="${inc#\"}"; echo "${inc%%/*}" ;;
  esac
}

violations=0
while IFS= read -r file; do
  layer="$(layer_of "$file")"
  [[ -n "$layer" ]] || continue
  while IFS=: read -r line text; do
    inc="$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*//' <<<"$text")"
    target="$(target_of "$inc")"
    [[ -n "$target" ]] || continue
    [[ " ${allowed[$layer]} " == *" $target "* ]] && continue
    echo "$file:$line: $layer includes $inc: $layer may include only ${allowed[$layer]}"
    violations=$((violations + 1))
  done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include' "$file" || true)
done < <(git ls-files --cached --others --exclude-standard '*.hpp' '*.cpp' 2>/dev/null || find . -name '*.[ch]pp' | sed 's|^\./||')

if ((violations)); then
  echo "check-layering: $violations include(s) point up or sideways" >&2
  exit 1
fi
echo "check-layering: every include points down"
