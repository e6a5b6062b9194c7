#!/bin/sh
# Entrypoint of the Quarry image: `quarry <args>` (default `start`), with two conveniences for
# `start` in a container:
#   QUARRY_NODE_KEY_FILE  copy this node key into the datadir when it has none yet (the compose
#                         `boot` node uses the committed test identity, so its multiaddr is known)
#   QUARRY_ANNOUNCE_IP=1  when QUARRY_ANNOUNCE is empty, announce /ip4/<container IP>/tcp/<p2p port>
#                         (for scaled services, where no one DNS name points at one container)
# Node runs as PID 1 through exec, so `docker stop` (SIGTERM) reaches its clean-stop handler.
set -eu

QUARRY="node /app/dist/src/cli/bin.js"

if [ "${1:-start}" = "start" ]; then
  datadir="${QUARRY_DATADIR:-/data}"
  if [ -n "${QUARRY_NODE_KEY_FILE:-}" ] && [ ! -e "$datadir/node-key" ]; then
    mkdir -p "$datadir"
    # install would need coreutils' install; cp + chmod is enough (umask keeps it private at once)
    (umask 077 && cp "$QUARRY_NODE_KEY_FILE" "$datadir/node-key.tmp")
    mv "$datadir/node-key.tmp" "$datadir/node-key"
  fi
  if [ -z "${QUARRY_ANNOUNCE:-}" ] && [ "${QUARRY_ANNOUNCE_IP:-0}" = "1" ]; then
    ip="$(node -e 'const n=require("os").networkInterfaces();for(const l of Object.values(n))for(const a of l??[])if(a.family==="IPv4"&&!a.internal){console.log(a.address);process.exit(0)}')"
    if [ -n "$ip" ]; then
      QUARRY_ANNOUNCE="/ip4/$ip/tcp/${QUARRY_P2P_PORT:-7330}"
      export QUARRY_ANNOUNCE
    fi
  fi
fi

if [ "$#" -eq 0 ]; then set -- start; fi
# shellcheck disable=SC2086 # QUARRY is a command and its script path, split on purpose
exec $QUARRY "$@"
