#!/usr/bin/env bash
# Makes a Docker engine and docker-compose available on this machine, for the compose testnet and
# its e2e test (npm run test:testnet). Idempotent and quiet when everything is already there:
#   1. installs docker.io, docker-compose and debootstrap from Debian's packages when missing
#      (needs root and apt; ~35-50 s on a fresh machine),
#   2. starts dockerd in the background when no engine answers,
#   3. waits (bounded) until `docker info` answers.
# Exit status 0 means `docker info` and `docker-compose version` (or `docker compose version`) work.
# Env: ENSURE_DOCKER_WAIT_S (default 60) bounds the wait for the engine; DOCKERD_LOG (default
# /var/log/quarry-dockerd.log) receives dockerd's output.
set -euo pipefail

WAIT_S="${ENSURE_DOCKER_WAIT_S:-60}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/quarry-dockerd.log}"

log() { printf 'ensure-docker: %s\n' "$*" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif have sudo; then sudo -n "$@"; else
    log "need root to run: $*"
    return 1
  fi
}

compose_ok() {
  if have docker-compose && docker-compose version >/dev/null 2>&1; then return 0; fi
  docker compose version >/dev/null 2>&1
}

# 1. packages. A docker *client* alone (some images ship one) is not enough: we need dockerd.
missing=()
have dockerd || missing+=(docker.io)
have docker || missing+=(docker.io)
compose_ok 2>/dev/null || missing+=(docker-compose)
have debootstrap || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if ! have apt-get; then
    log "missing ${missing[*]} and no apt-get here: install Docker and docker-compose by hand"
    exit 1
  fi
  log "installing ${missing[*]} from Debian's packages"
  start=$(date +%s)
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "installed in $(($(date +%s) - start)) s"
fi

# 2. the engine
if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  log "starting dockerd in the background (log: $DOCKERD_LOG)"
  # containerd is started by dockerd itself when it is not running as a service.
  as_root sh -c "nohup dockerd >>'$DOCKERD_LOG' 2>&1 </dev/null &"
fi

# 3. bounded wait for the engine to answer
deadline=$(($(date +%s) + WAIT_S))
until docker info >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "docker engine did not answer within ${WAIT_S} s; last lines of $DOCKERD_LOG:"
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    exit 1
  fi
  sleep 0.5
done
log "docker engine is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
