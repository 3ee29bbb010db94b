#!/usr/bin/env bash
# The test command: installs what the tests need (idempotent), then runs every test.
# Needs root: the tests build network namespaces, veth pairs, bridges and VXLAN devices.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec deno task test "$@"
