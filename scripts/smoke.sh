#!/usr/bin/env bash
# Smoke run of the shipped programs, as root (a network namespace):
#   1. --version of each;
#   2. keepnet-ipam: a CNI ADD and DEL against a temporary data directory;
#   3. keepnet-vtepd starting in a new network namespace (libnl loaded over FFI, the health
#      listener answering /healthz) with the API server unreachable, then SIGTERM: exit 0.
#
#   bash scripts/smoke.sh DIR        DIR/keepnet-ipam and DIR/keepnet-vtepd (dist/bin/<arch>)
#   bash scripts/smoke.sh DIR -ARCH  DIR/keepnet-ipam-ARCH, ... (a release's file names)
#   bash scripts/smoke.sh --bundles  dist/*.js with `${DENO:-deno} run` and the binaries' flags
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
--bundles)
  deno="${DENO:-deno}"
  # The compiled binaries' permissions and runtime flags (scripts/programs.ts).
  flags() {
    deno eval --quiet "import { permissionFlags, PROGRAMS } from './scripts/programs.ts';
      console.log([...permissionFlags('$1'), ...PROGRAMS['$1'].runtimeFlags].join(' '))"
  }
  read -r -a ipam_flags <<<"$(flags ipam)"
  read -r -a vtepd_flags <<<"$(flags vtepd)"
  ipam=("$deno" run --quiet --no-prompt --no-config "${ipam_flags[@]}" "$PWD/dist/keepnet-ipam.js")
  vtepd=("$deno" run --quiet --no-prompt --no-config "${vtepd_flags[@]}" "$PWD/dist/keepnet-vtepd/main.js")
  ;;
"" | -*)
  echo "usage: $0 DIR [-SUFFIX] | --bundles" >&2
  exit 2
  ;;
*)
  dir="$(cd "$1" && pwd)"
  ipam=("$dir/keepnet-ipam${2:-}")
  vtepd=("$dir/keepnet-vtepd${2:-}")
  ;;
esac

work="$(mktemp -d)"
ns="keepnet-smoke-$$"
vtepd_pid=""
cleanup() {
  if [ -n "$vtepd_pid" ]; then kill -KILL "$vtepd_pid" 2>/dev/null || true; fi
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "smoke: FAILED: $*" >&2
  exit 1
}
ok() { echo "smoke: ok: $*"; }

# 1. --version
version="$("${vtepd[@]}" --version)"
[[ "$version" =~ ^keepnet-vtepd\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "keepnet-vtepd --version said: $version"
ok "$version"
# A person running keepnet-ipam gets its about text (runtimes never pass arguments).
about="$("${ipam[@]}" --version </dev/null 2>&1)" || fail "keepnet-ipam --version exited non-zero: $about"
[[ "$about" == *keepnet-ipam* ]] || fail "keepnet-ipam --version said: $about"
ok "$(head -n 1 <<<"$about")"

# 2. keepnet-ipam ADD and DEL
config="{\"cniVersion\":\"1.0.0\",\"name\":\"smoke\",\"type\":\"bridge\",\"ipam\":{\"type\":\"keepnet-ipam\",
  \"dataDir\":\"$work/cni\",\"ranges\":[[{\"subnet\":\"10.244.9.0/24\"}]]}}"
cni() {
  env -i PATH="$PATH" HOME="${HOME:-/root}" CNI_COMMAND="$1" CNI_CONTAINERID=smoke-sandbox \
    CNI_NETNS=/var/run/netns/smoke CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin \
    CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=smoke-0" \
    "${ipam[@]}" <<<"$config"
}
add="$(cni ADD)" || fail "ADD exited non-zero: $add"
[[ "$add" == *'"address": "10.244.9.2/24"'* ]] || fail "ADD result: $add"
[ "$(cat "$work/cni/smoke/10.244.9.2")" = $'smoke-sandbox\r\neth0' ] || fail "no reservation file after ADD"
[ -f "$work/cni/smoke/10.244.9.2_default_smoke-0" ] || fail "no pod binding after ADD"
del="$(cni DEL)" || fail "DEL exited non-zero: $del"
[ ! -e "$work/cni/smoke/10.244.9.2" ] || fail "the reservation is still there after DEL"
ok "keepnet-ipam ADD gave 10.244.9.2/24, DEL released it"

# 3. keepnet-vtepd in a network namespace of its own, with an underlay but no API server.
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add smoke0 type veth peer name smoke1
ip -n "$ns" addr add 192.0.2.10/24 dev smoke0
ip -n "$ns" link set smoke0 up
echo '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}' >"$work/net-conf.json"
ip netns exec "$ns" env -i PATH="$PATH" HOME="${HOME:-/root}" "${vtepd[@]}" \
  --kube-api-url=http://127.0.0.1:9 --node-name=smoke --iface=smoke0 \
  --net-config-path="$work/net-conf.json" --state-dir="$work/state" \
  --subnet-file="$work/subnet.env" --healthz-ip=127.0.0.1 --healthz-port=10249 \
  2>"$work/vtepd.log" &
vtepd_pid=$!
healthz() {
  # shellcheck disable=SC2016
  ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/10249 &&
    printf "GET /healthz HTTP/1.0\r\n\r\n" >&3 && head -n 1 <&3' 2>/dev/null
}
answered=""
for _ in $(seq 1 120); do
  kill -0 "$vtepd_pid" 2>/dev/null || fail "keepnet-vtepd exited: $(cat "$work/vtepd.log")"
  if [[ "$(healthz)" == *" 200 "* ]]; then
    answered=1
    break
  fi
  sleep 0.5
done
[ -n "$answered" ] || fail "keepnet-vtepd's /healthz never answered: $(cat "$work/vtepd.log")"
grep -q "keepnet-vtepd starting" "$work/vtepd.log" || fail "no start-up line: $(cat "$work/vtepd.log")"
kill -TERM "$vtepd_pid"
code=0
wait "$vtepd_pid" || code=$?
vtepd_pid=""
[ "$code" -eq 0 ] || fail "keepnet-vtepd exited $code on SIGTERM: $(cat "$work/vtepd.log")"
ok "keepnet-vtepd started in a namespace (libnl loaded, /healthz 200), stopped on SIGTERM"
echo "smoke: all passed"
