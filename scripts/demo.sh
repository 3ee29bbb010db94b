#!/usr/bin/env bash
# The demo command: installs what it needs (idempotent), then shows an offline edge reboot in
# network namespaces (see scripts/demo.ts). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec deno task demo
