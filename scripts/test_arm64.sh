#!/usr/bin/env bash
# The unit, IPAM and netlink tests on arm64, plus the comparison of keepnet-ipam's bundle under
# both architectures (tests/arm64/). On an x86_64 host they run under Deno's own aarch64 build
# through qemu-user (scripts/setup_arm64.sh installs it, idempotently); on an arm64 host, natively.
#
#   bash scripts/test_arm64.sh                 every file: about 15 minutes under emulation (2 cores)
#   bash scripts/test_arm64.sh --short         IPAM, netlink, bundle comparison (see SHORT below): ~5 min
#   bash scripts/test_arm64.sh tests/ipam/main_test.ts ...    these paths only
#
# Needs root (network namespaces, apt-get). The tests are not type-checked here (--no-check):
# types are the same on every architecture, `deno test` on x86_64 checks them, and checking
# under emulation costs about 30 s per file.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(tests/cni tests/net tests/vtepd tests/helpers tests/ipam tests/netlink tests/arm64)
# --short is what .ci/run runs: the IPAM and netlink tests and the bundle comparison, the parts
# where the architecture can show (FFI into libnl, struct layouts, processes, files, locks). The
# unit tests of tests/cni, net, vtepd and helpers are pure JavaScript logic; they stay in the full
# run (tests/vtepd/daemon_test.ts there counts kernel calls, and under emulation has seen each
# peer's route replaced up to three times). Also left out, with their time under emulation on 2
# cores: 110 concurrent plugin processes (6.5 to 7.5 min), the differential run against host-local
# (4 min; host_local_test covers the same cases in-process), the SIGKILL crash loop (40 s).
SHORT=(tests/ipam tests/netlink tests/arm64)
SLOW=(tests/ipam/concurrency_test.ts tests/ipam/differential_test.ts tests/ipam/crash_test.ts)

short_set() {
  local file slow keep
  for file in $(find "${SHORT[@]}" -name '*_test.ts' | sort); do
    keep=1
    for slow in "${SLOW[@]}"; do [ "$file" = "$slow" ] && keep=""; done
    if [ -n "$keep" ]; then echo "$file"; fi
  done
}

paths=("${ALL[@]}")
if [ "${1:-}" = "--short" ]; then
  shift
  mapfile -t paths < <(short_set)
fi
if [ "$#" -gt 0 ]; then paths=("$@"); fi

bash scripts/setup.sh
deno_arm64="$(bash scripts/setup_arm64.sh)"
# The bundles are the same JavaScript on every architecture: build them with the host's deno.
deno run -A scripts/build.ts --bundle-only
# On x86_64 the bundle comparison must run, not be skipped for want of a build.
# Under emulation a process's RSS is qemu's (tests/netlink/leak_test.ts then checks the C heap
# only).
if [ "$(uname -m)" = x86_64 ]; then
  export KEEPNET_REQUIRE_ARM64_COMPARISON=1 KEEPNET_EMULATED=qemu-user
fi
echo "test-arm64: $("$deno_arm64" --version | head -n 1), ${#paths[@]} paths" >&2
exec "$deno_arm64" test -A --no-prompt --no-check "${paths[@]}"
