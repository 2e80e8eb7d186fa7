#!/usr/bin/env bash
# Install nodevisor's build dependencies (Debian bookworm) and build it.
#
#   scripts/setup.sh             install what is missing, then build Release in build/
#   scripts/setup.sh --no-build  only install what is missing
#
# Idempotent: packages are checked with dpkg-query first, so a machine that
# already has everything does no apt work and needs no network.
set -euo pipefail

usage() {
  sed -n '2,8s/^# \{0,1\}//p' "$0"
}

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  build-essential g++ cmake ninja-build pkg-config
  clang libclang-rt-dev # clang + libFuzzer runtime, for fuzz targets
  libcaf-dev nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  libcpp-httplib-dev libsqlite3-dev # the daemon: control API, desired state
  runc umoci skopeo catatonit       # the oci runtime: containers, bundles, images, init: true
  busybox-static docker-registry    # its tests: an image built offline, a registry on loopback
  curl graphviz
)

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != installed ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "setup.sh: installing missing packages: ${missing[*]}"
  sudo=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
      echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup.sh: all ${#packages[@]} packages already installed"
fi

if ((build)); then
  generator=()
  # Only choose the generator for a fresh tree; CMake refuses to switch it.
  [[ -f build/CMakeCache.txt ]] || generator=(-G Ninja)
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j"$(nproc)"
fi
