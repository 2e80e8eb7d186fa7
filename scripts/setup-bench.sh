#!/usr/bin/env bash
# Install the peers that bench/peers/peer_bench and bench/oci_bench compare nodevisor with
# (Debian bookworm), and matplotlib for the report's plots (bench/report.py).
#
#   scripts/setup-bench.sh
#
# Idempotent: packages are checked with dpkg-query first, so a machine that already has
# everything does no apt work and needs no network. --no-install-recommends matters: runit
# recommends runit-init, which would replace the machine's init.
#
# systemd runs as a user manager (systemd --user) in a private mount namespace; that needs only
# systemd itself (and util-linux's unshare and nsenter, which are essential).
set -euo pipefail

usage() {
  sed -n '2,12s/^# \{0,1\}//p' "$0"
}

for arg in "$@"; do
  case "$arg" in
    -h | --help) usage; exit 0 ;;
    *) echo "setup-bench.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

packages=(s6 runit daemontools supervisor erlang-base systemd python3-matplotlib
  podman) # podman: the peer of the oci runtime (bench/oci_bench), run with runc and cgroupfs

installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

sudo=()
if ((EUID != 0)); then
  sudo=(sudo)
fi
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)

missing=()
for pkg in "${packages[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  echo "setup-bench.sh: all packages already installed"
  exit 0
fi
if ((EUID != 0)) && ! command -v sudo >/dev/null; then
  echo "setup-bench.sh: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
"${apt[@]}" update
echo "setup-bench.sh: installing missing packages: ${missing[*]}"
"${apt[@]}" install -y --no-install-recommends "${missing[@]}"
