# Quarry node image.
#
# Built from the host's `npm ci` and `npm run build` output (node_modules/ and dist/src/), so the
# build needs no registry access inside a container (hosts behind a TLS-intercepting proxy, our CI).
# `scripts/testnet build` does the host steps, then `docker-compose build`. Base image: the official
# node:24-bookworm-slim, or the local stand-in from scripts/docker-base-offline.sh where no image
# can be pulled. The node_modules copied in must be for linux-x64 glibc (classic-level's prebuilt
# binary), as `npm ci` on a Debian/Ubuntu x64 host produces.

# --- build: production-only dependencies ------------------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
# Drop devDependencies without touching the network (--offline: everything needed is present), then
# what nothing loads at run time: source maps, type declarations, other platforms' native binaries.
RUN npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error \
  && find node_modules \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -type f -delete \
  && find node_modules/classic-level/prebuilds -mindepth 1 -maxdepth 1 ! -name 'linux-*' -exec rm -rf {} + \
  && rm -rf node_modules/.bin/node node_modules/.cache
COPY dist/src ./dist/src

# --- runtime ----------------------------------------------------------------------------------
FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="quarry" \
      org.opencontainers.image.description="Quarry proof-of-work node daemon" \
      quarry.image="node"
# MALLOC_ARENA_MAX=2: one glibc malloc arena per thread (main, signature and miner workers) is
# memory a node does not need; one measurement while mining: 248 -> 188 MiB RSS (docs/BENCHMARKS.md).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    QUARRY_DATADIR=/data \
    QUARRY_NETWORK=devnet \
    QUARRY_P2P_HOST=0.0.0.0 \
    QUARRY_API_HOST=0.0.0.0
WORKDIR /app
# Code and dependencies stay owned by root: the node user can read them, not change them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY docker/entrypoint.sh /usr/local/bin/quarry-entrypoint
# A public, committed TEST identity for the compose `boot` node (see docker/README.md). Only
# copied into the datadir when QUARRY_NODE_KEY_FILE names it.
COPY docker/boot/node-key /app/docker/boot/node-key
RUN chmod 0755 /usr/local/bin/quarry-entrypoint && chmod 0644 /app/docker/boot/node-key \
  && mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 7330 7331
# No curl in slim images: Node's fetch. Healthy = the API answers getStatus.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.QUARRY_API_PORT||7331)+'/api/getStatus').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["quarry-entrypoint"]
CMD ["start"]
