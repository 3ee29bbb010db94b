#!/usr/bin/env bash
# Installs what keepnet needs to build, test and run its demo on Debian/Ubuntu, as root.
# Idempotent: every step checks first and does nothing when the thing is already there.
set -euo pipefail

DENO_VERSION="2.9.6" # pinned; scripts/build.ts and the README name the same version
APT_PACKAGES=(
  libnl-3-200 libnl-route-3-200 # the daemon's netlink, through Deno FFI
  iproute2 iputils-ping          # namespaces for the tests and the demo
  containernetworking-plugins    # the real CNI bridge plugin and the reference host-local
  nodejs npm                     # npm installs the pinned Deno
  ca-certificates git unzip
  time                           # /usr/bin/time: peak memory in the benchmarks
  systemd                        # systemd-analyze verify of the unit (tests/install); starts nothing
  prometheus                     # promtool checks /metrics; a real Prometheus scrapes it in a test
  iptables nftables              # flannel's masquerade and forward rules (iptables-nft by default)
)

log() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "run me as root (apt-get, network namespaces)"
  exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# nodejs/npm may come from elsewhere (nodesource, nvm): a working npm is enough.
if command -v npm >/dev/null 2>&1; then
  filtered=()
  for pkg in "${missing[@]}"; do
    case "$pkg" in nodejs | npm) ;; *) filtered+=("$pkg") ;; esac
  done
  missing=("${filtered[@]}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v deno >/dev/null 2>&1 || [ "$(deno --version | awk 'NR==1{print $2}')" != "$DENO_VERSION" ]; then
  log "installing deno@$DENO_VERSION from the npm registry"
  npm install -g --silent "deno@$DENO_VERSION" >/dev/null
  hash -r
fi
deno_version="$(deno --version | awk 'NR==1{print $2}')"
if [ "$deno_version" != "$DENO_VERSION" ]; then
  log "deno on PATH is $deno_version, wanted $DENO_VERSION ($(command -v deno))"
  exit 1
fi

# npm dependencies into Deno's cache, exactly as deno.lock pins them.
cd "$(dirname "$0")/.."
deno install --frozen --quiet
log "ready: deno $deno_version, libnl, iproute2, CNI plugins in /usr/lib/cni"
