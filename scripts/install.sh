#!/usr/bin/env bash
# Installs keepnet on this host (or into a scratch root), idempotently:
#
#   keepnet-ipam                     /opt/cni/bin/keepnet-ipam
#   keepnet-vtepd                    where the unit's ExecStart runs it (/usr/local/bin/keepnet-vtepd)
#   dist/systemd/keepnet-vtepd.service   /etc/systemd/system/keepnet-vtepd.service
#   dist/systemd/keepnet-vtepd.default   the unit's EnvironmentFile (/etc/default/keepnet-vtepd)
#   dist/cni/10-flannel.conflist     /etc/cni/net.d/ (or --cni-config bridge|none)
#
# Usage: scripts/install.sh [--from DIR] [--arch x86_64|aarch64] [--cni-config flannel|bridge|none]
#                           [--no-libnl-check] [--uninstall]
#   --from DIR   a release's files (keepnet-ipam-<arch>, keepnet-vtepd-<arch>, SHA256SUMS), checked
#                against SHA256SUMS; without it, dist/bin/<arch>/ of this checkout (deno task build)
#   --arch       the binaries' architecture; default: this machine's
#   DESTDIR=/x   install under /x instead of / (an image being prepared, or a test)
#
# Files the operator may edit are never lost:
#   - the environment file and the CNI config are the operator's once installed: one that differs
#     from what this script installed is kept, and the shipped version is put beside it as
#     <file>.keepnet-dist;
#   - the unit belongs to the binaries: an edited one is moved to <unit>.keepnet-old-<time> before the
#     shipped one replaces it (local changes belong in a drop-in: systemctl edit keepnet-vtepd).
# What was installed is recorded (path and SHA-256) in /usr/local/share/keepnet/install-manifest,
# so a later run can tell "installed by us, unchanged" from "edited". --uninstall removes the
# binaries, and each config file only if it is unchanged; /var/lib/keepnet (the VTEP MAC) and the
# CNI data directory are never touched.
#
# keepnet-vtepd needs libnl-3 and libnl-route-3 for the binaries' architecture; without them
# nothing is installed and the missing packages are named (--no-libnl-check to install anyway).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
root="${DESTDIR:-}"
root="${root%/}"

UNIT_SRC="$here/dist/systemd/keepnet-vtepd.service"
ENV_SRC="$here/dist/systemd/keepnet-vtepd.default"
UNIT_DEST=/etc/systemd/system/keepnet-vtepd.service
IPAM_DEST=/opt/cni/bin/keepnet-ipam
CNI_DIR=/etc/cni/net.d
MANIFEST=/usr/local/share/keepnet/install-manifest

say() { printf 'install: %s\n' "$*"; }
die() {
  printf 'install: %s\n' "$*" >&2
  exit 1
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }

from=""
arch=""
cni_config=flannel
uninstall=""
libnl_check=1
while [ "$#" -gt 0 ]; do
  case "$1" in
  --from)
    from="${2:?--from needs a directory}"
    shift
    ;;
  --from=*) from="${1#*=}" ;;
  --arch)
    arch="${2:?--arch needs x86_64 or aarch64}"
    shift
    ;;
  --arch=*) arch="${1#*=}" ;;
  --cni-config)
    cni_config="${2:?--cni-config needs flannel, bridge or none}"
    shift
    ;;
  --cni-config=*) cni_config="${1#*=}" ;;
  --no-libnl-check) libnl_check="" ;;
  --uninstall) uninstall=1 ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    usage
    die "unknown argument: $1"
    ;;
  esac
  shift
done

case "${arch:-$(uname -m)}" in
x86_64 | amd64) arch=x86_64 deb_arch=amd64 triplet=x86_64-linux-gnu elf_machine=62 ;;
aarch64 | arm64) arch=aarch64 deb_arch=arm64 triplet=aarch64-linux-gnu elf_machine=183 ;;
*) die "unsupported architecture ${arch:-$(uname -m)}: keepnet ships x86_64 and aarch64" ;;
esac
case "$cni_config" in
flannel | bridge) cni_src="$(ls "$here"/dist/cni/*-"$cni_config".conflist)" ;;
none) cni_src="" ;;
*) die "--cni-config must be flannel, bridge or none, not $cni_config" ;;
esac

# The unit says where the daemon's binary and environment file are; follow it.
[ -f "$UNIT_SRC" ] || die "$UNIT_SRC is missing: run me from a keepnet checkout or source archive"
VTEPD_DEST="$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$UNIT_SRC")"
ENV_DEST="$(sed -n 's/^EnvironmentFile=-\{0,1\}\([^ ]*\).*/\1/p' "$UNIT_SRC")"
case "$VTEPD_DEST$ENV_DEST" in
/*/*) ;;
*) die "cannot read ExecStart= and EnvironmentFile= paths from $UNIT_SRC" ;;
esac

sha() { sha256sum "$1" | cut -d' ' -f1; }

# The SHA-256 the manifest records for an installed path, or nothing.
recorded() {
  [ -f "$root$MANIFEST" ] || return 0
  awk -v p="$1" '$2 == p { print $1 }' "$root$MANIFEST"
}

manifest_lines=()
record() { manifest_lines+=("$(sha "$root$1") $1"); }

# Copies src to dest atomically with mode, unless dest already has exactly that content and mode.
put() {
  local src="$1" dest="$2" mode="$3"
  if [ -f "$root$dest" ] && cmp -s "$src" "$root$dest" &&
    [ "$(stat -c %a "$root$dest")" = "$mode" ]; then
    say "unchanged $dest"
  else
    mkdir -p "$(dirname "$root$dest")"
    install -m "$mode" "$src" "$root$dest.keepnet-new"
    mv -f "$root$dest.keepnet-new" "$root$dest"
    say "installed $dest"
  fi
  record "$dest"
}

# An operator's file: installed when absent or still what we installed; otherwise kept, with
# the shipped version beside it.
put_config() {
  local src="$1" dest="$2"
  if [ -f "$root$dest" ] && ! cmp -s "$src" "$root$dest" &&
    [ "$(sha "$root$dest")" != "$(recorded "$dest")" ]; then
    say "kept $dest (edited); the shipped version is $dest.keepnet-dist"
    put "$src" "$dest.keepnet-dist" 644 >/dev/null
    return
  fi
  put "$src" "$dest" 644
  if [ -f "$root$dest.keepnet-dist" ]; then rm -f "$root$dest.keepnet-dist"; fi
}

# The unit: an edited one is moved aside, never silently lost.
put_unit() {
  local src="$1" dest="$2"
  if [ -f "$root$dest" ] && ! cmp -s "$src" "$root$dest" &&
    [ "$(sha "$root$dest")" != "$(recorded "$dest")" ]; then
    local old
    old="$dest.keepnet-old-$(date +%Y%m%dT%H%M%S)"
    mv -f "$root$dest" "$root$old"
    say "moved the edited $dest to $old (use a drop-in: systemctl edit keepnet-vtepd)"
  fi
  put "$src" "$dest" 644
}

# Removes an installed config file if it is unchanged (as shipped, or as recorded).
remove_config() {
  local src="$1" dest="$2"
  rm -f "$root$dest.keepnet-dist"
  [ -f "$root$dest" ] || return 0
  if cmp -s "$src" "$root$dest" || [ "$(sha "$root$dest")" = "$(recorded "$dest")" ]; then
    rm -f "$root$dest"
    say "removed $dest"
  else
    say "kept $dest (edited by the operator)"
  fi
}

# Whether systemd runs this host and the install is for this host, not a scratch root.
live_systemd() { [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

if [ -n "$uninstall" ]; then
  if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then die "run me as root"; fi
  if live_systemd; then systemctl disable --now keepnet-vtepd.service 2>/dev/null || true; fi
  for binary in "$IPAM_DEST" "$VTEPD_DEST"; do
    if [ -f "$root$binary" ]; then
      rm -f "$root$binary"
      say "removed $binary"
    fi
  done
  remove_config "$UNIT_SRC" "$UNIT_DEST"
  remove_config "$ENV_SRC" "$ENV_DEST"
  for conflist in "$here"/dist/cni/*.conflist; do
    remove_config "$conflist" "$CNI_DIR/$(basename "$conflist")"
  done
  rm -f "$root$MANIFEST"
  rmdir "$(dirname "$root$MANIFEST")" 2>/dev/null || true
  if live_systemd; then systemctl daemon-reload; fi
  say "uninstalled (kept: /var/lib/keepnet, /var/lib/cni/networks, files edited by the operator)"
  exit 0
fi

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  die "run me as root (or set DESTDIR to a scratch root)"
fi

# The binaries: from a release directory, checked against its SHA256SUMS, or from the build.
if [ -n "$from" ]; then
  [ -d "$from" ] || die "--from $from is not a directory"
  [ -f "$from/SHA256SUMS" ] || die "$from has no SHA256SUMS"
  ipam_src="$from/keepnet-ipam-$arch"
  vtepd_src="$from/keepnet-vtepd-$arch"
  for file in "$ipam_src" "$vtepd_src"; do
    name="$(basename "$file")"
    [ -f "$file" ] || die "$from has no $name"
    want="$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1 }' "$from/SHA256SUMS")"
    [ -n "$want" ] || die "$from/SHA256SUMS lists no $name"
    [ "$(sha "$file")" = "$want" ] || die "$name does not match its SHA-256 in $from/SHA256SUMS"
  done
else
  ipam_src="$here/dist/bin/$arch/keepnet-ipam"
  vtepd_src="$here/dist/bin/$arch/keepnet-vtepd"
  for file in "$ipam_src" "$vtepd_src"; do
    [ -f "$file" ] || die "$file is missing: build it (deno task build --target $arch-unknown-linux-gnu) or use --from DIR"
  done
fi
# A compiled binary must be for the architecture asked for (ELF e_machine, bytes 18-19).
for file in "$ipam_src" "$vtepd_src"; do
  if [ "$(head -c 4 "$file" | od -An -c | tr -d ' ')" = '177ELF' ]; then
    machine="$(od -An -tu2 -j18 -N2 "$file" | tr -d ' ')"
    [ "$machine" = "$elf_machine" ] || die "$file is not an $arch binary (ELF machine $machine)"
  fi
done

# libnl for the binaries' architecture, looked up in the target root.
if [ -n "$libnl_check" ]; then
  missing=()
  for lib in libnl-3:libnl-3-200 libnl-route-3:libnl-route-3-200; do
    found=""
    for dir in "/usr/lib/$triplet" "/lib/$triplet" /usr/lib64 /lib64 /usr/lib /lib; do
      if [ -e "$root$dir/${lib%%:*}.so.200" ]; then found=1 && break; fi
    done
    [ -n "$found" ] || missing+=("${lib#*:}:$deb_arch")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    where="${root:-this host}"
    die "keepnet-vtepd needs libnl for $arch, missing in $where: ${missing[*]}
  install them first:  apt-get install ${missing[*]}
  (Debian/Ubuntu names; elsewhere libnl-3 and libnl-route-3, soname .so.200. Nothing was installed.)"
  fi
fi

put "$ipam_src" "$IPAM_DEST" 755
put "$vtepd_src" "$VTEPD_DEST" 755
put_unit "$UNIT_SRC" "$UNIT_DEST"
put_config "$ENV_SRC" "$ENV_DEST"
if [ -n "$cni_src" ]; then put_config "$cni_src" "$CNI_DIR/$(basename "$cni_src")"; fi

# The manifest, rewritten only when it changes (a re-install changes nothing).
manifest_new="$(printf '%s\n' "${manifest_lines[@]}" | sort -k2)"
if [ ! -f "$root$MANIFEST" ] || [ "$(cat "$root$MANIFEST")" != "$manifest_new" ]; then
  mkdir -p "$(dirname "$root$MANIFEST")"
  printf '%s\n' "$manifest_new" >"$root$MANIFEST.keepnet-new"
  mv -f "$root$MANIFEST.keepnet-new" "$root$MANIFEST"
fi
if live_systemd; then systemctl daemon-reload; fi

if ! grep -qE '^NODE_NAME=.+' "$root$ENV_DEST"; then say "next: set NODE_NAME in $ENV_DEST"; fi
# The API: a kubeconfig named on the unit's command line or in the environment file, or a URL.
kubeconfig="$(sed -n 's/^ExecStart=.*--kubeconfig-file=\([^ ]*\).*/\1/p' "$root$UNIT_DEST")"
if [ -z "$kubeconfig" ]; then
  kubeconfig="$(sed -n 's/^KEEPNET_KUBECONFIG_FILE=\(.*\)/\1/p' "$root$ENV_DEST" | tail -n 1)"
fi
if [ -n "$kubeconfig" ] && [ ! -f "$root$kubeconfig" ] &&
  ! grep -qE '^KEEPNET_KUBE_API_URL=.+' "$root$ENV_DEST"; then
  say "next: put the node's kubeconfig at $kubeconfig (or set KEEPNET_KUBE_API_URL in $ENV_DEST)"
fi
say "then: systemctl daemon-reload && systemctl enable --now keepnet-vtepd"
