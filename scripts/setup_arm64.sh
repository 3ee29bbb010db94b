#!/usr/bin/env bash
# Installs what running keepnet's tests on arm64 needs, as root. Prints the arm64 deno's path.
#
# On an aarch64 host that is just the native Deno (scripts/setup.sh). On an x86_64 Debian host
# it is emulation: Deno's own aarch64 build from the npm registry, run by qemu-user through a
# binfmt_misc entry (so that the arm64 deno can also start arm64 child processes), with the
# arm64 C library and libnl from Debian multiarch for FFI.
#
# qemu-user must be 10 or newer: bookworm's 7.2 runs Deno at about 390 MiB per process instead
# of about 100, and the tests that start 110 plugins at once run out of memory. On bookworm it
# comes from bookworm-backports, whose apt source this script adds.
#
# Idempotent: every step checks first and does nothing when the thing is already there.
# Nothing is removed afterwards: a binfmt_misc mount or entry may be what the host uses too.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# One pin for both architectures: scripts/setup.sh's.
DENO_VERSION="$(sed -n 's/^DENO_VERSION="\([^"]*\)".*/\1/p' "$here/setup.sh")"
# npm's integrity of @deno/linux-arm64-glibc@$DENO_VERSION (change both together): the tarball
# must be exactly this one.
DENO_ARM64_INTEGRITY="sha512-poqhoH9B3nYloigEMPT5t8HY+wBeiuea1An5Q7fqgJzP0SYmWsoS/oUnWO/pEiA4ofzIBy1Elt/in58xKtxEoQ=="
DENO_ARM64="${KEEPNET_DENO_AARCH64:-/opt/deno-aarch64-$DENO_VERSION/deno}"
QEMU_MIN_MAJOR=10
ARM64_LIBS=(libc6:arm64 libgcc-s1:arm64 libnl-3-200:arm64 libnl-route-3-200:arm64)
BINFMT_DIR=/proc/sys/fs/binfmt_misc
BINFMT_CONF=/usr/lib/binfmt.d/qemu-aarch64.conf

log() { printf 'setup-arm64: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "run me as root (apt-get, binfmt_misc)"

if [ "$(uname -m)" = aarch64 ]; then
  # Native arm64 (e.g. an arm64 CI runner): the ordinary setup is all there is.
  bash "$here/setup.sh" >&2
  command -v deno
  exit 0
fi
[ "$(uname -m)" = x86_64 ] || die "emulating arm64 is set up for x86_64 hosts only, not $(uname -m)"
[ -n "$DENO_VERSION" ] || die "cannot read DENO_VERSION from $here/setup.sh"

export DEBIAN_FRONTEND=noninteractive
apt_updated=""
apt_update() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq
    apt_updated=1
  fi
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# shellcheck disable=SC1091
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"

qemu_major() {
  command -v qemu-aarch64 >/dev/null 2>&1 || {
    echo 0
    return
  }
  qemu-aarch64 --version | sed -n '1s/.*version \([0-9]*\)\..*/\1/p'
}

# 1. qemu-user >= 10 (static binaries) and its binfmt description.
if [ "$(qemu_major)" -lt "$QEMU_MIN_MAJOR" ] || [ ! -f "$BINFMT_CONF" ]; then
  target=()
  if [ "$codename" = bookworm ]; then
    source_file=/etc/apt/sources.list.d/bookworm-backports.sources
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "adding the bookworm-backports apt source ($source_file)"
      cat >"$source_file" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
      apt_updated=""
    fi
    target=(-t bookworm-backports)
  fi
  log "installing qemu-user and qemu-user-binfmt ${target[*]}"
  apt_update
  apt-get install -y -qq --no-install-recommends "${target[@]}" qemu-user qemu-user-binfmt >/dev/null
  hash -r
  [ "$(qemu_major)" -ge "$QEMU_MIN_MAJOR" ] ||
    die "qemu-aarch64 is $(qemu_major).x after installing; need $QEMU_MIN_MAJOR or newer (Debian 13, or bookworm-backports on 12)"
  [ -f "$BINFMT_CONF" ] || die "qemu-user-binfmt installed no $BINFMT_CONF"
fi

# 2. arm64 libraries through Debian multiarch.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  log "adding the arm64 architecture to dpkg"
  dpkg --add-architecture arm64
  apt_updated=""
fi
missing=()
for pkg in "${ARM64_LIBS[@]}"; do installed "$pkg" || missing+=("$pkg"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_update
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 3. binfmt_misc: the kernel runs aarch64 ELF files through qemu. systemd-binfmt registers the
# entry when systemd runs the machine; in a container nothing does, so register it here.
if [ ! -e "$BINFMT_DIR/status" ]; then
  log "mounting binfmt_misc on $BINFMT_DIR"
  mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" ||
    die "cannot mount binfmt_misc (a container without CAP_SYS_ADMIN?); it is needed to start arm64 processes"
fi
entry="$(sed -n 's/^:\([^:]*\):.*/\1/p' "$BINFMT_CONF")"
if [ ! -e "$BINFMT_DIR/$entry" ]; then
  log "registering binfmt_misc entry $entry ($BINFMT_CONF)"
  cat "$BINFMT_CONF" >"$BINFMT_DIR/register" || die "cannot register $entry in $BINFMT_DIR"
fi
interpreter="$(sed -n 's/^interpreter //p' "$BINFMT_DIR/$entry")"
wanted_interpreter="$(awk -F: '{ print $7 }' "$BINFMT_CONF")"
if [ "$interpreter" != "$wanted_interpreter" ]; then
  # Someone else's registration (e.g. an older qemu-user-static): left alone, but it may be an
  # older qemu than the tests need.
  log "note: $entry runs $interpreter, not $wanted_interpreter; remove that entry if it is an old qemu"
fi
if ! grep -qx enabled "$BINFMT_DIR/$entry"; then
  log "enabling binfmt_misc entry $entry"
  echo 1 >"$BINFMT_DIR/$entry"
fi

# 4. Deno's aarch64 build, checked against the pinned integrity, installed atomically.
wanted="deno $DENO_VERSION (stable, release, aarch64-unknown-linux-gnu)"
if [ "$("$DENO_ARM64" --version 2>/dev/null | head -n 1)" != "$wanted" ]; then
  command -v npm >/dev/null 2>&1 || die "npm is needed (run scripts/setup.sh first)"
  log "installing @deno/linux-arm64-glibc@$DENO_VERSION into $(dirname "$DENO_ARM64")"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent --json "@deno/linux-arm64-glibc@$DENO_VERSION" >pack.json)
  integrity="$(sed -n 's/.*"integrity": *"\([^"]*\)".*/\1/p' "$work/pack.json" | head -n 1)"
  [ "$integrity" = "$DENO_ARM64_INTEGRITY" ] ||
    die "@deno/linux-arm64-glibc@$DENO_VERSION has integrity $integrity, not the pinned $DENO_ARM64_INTEGRITY"
  tar -xzf "$work"/deno-linux-arm64-glibc-*.tgz -C "$work" package/deno
  mkdir -p "$(dirname "$DENO_ARM64")"
  install -m 0755 "$work/package/deno" "$DENO_ARM64.new"
  mv -f "$DENO_ARM64.new" "$DENO_ARM64"
fi
got="$("$DENO_ARM64" --version 2>&1 | head -n 1 || true)"
[ "$got" = "$wanted" ] || die "$DENO_ARM64 --version says '$got', wanted '$wanted'"
log "ready: $wanted under $(qemu-aarch64 --version | head -n 1)"
echo "$DENO_ARM64"
