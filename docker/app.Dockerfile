# The platform's apps from the public Node image, for machines that can pull it: one build, a target
# per process role (control-plane, runtime-agent, reaper) and one for the migrate step. Context: the
# repository root.
#   docker build -f docker/app.Dockerfile --target control-plane -t sandbox-control-plane .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# install, not ci: the lock file lists only the optional native binaries of the platform it was made on
RUN npm install --no-audit --no-fund --loglevel=error
COPY tsconfig.base.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
COPY tools/bench tools/bench
COPY tools/api-keys.ts tools/migrate.ts tools/
RUN npx tsc -p tsconfig.build.json && npx tsc-alias -p tsconfig.build.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json init.sql ./
USER node

# one-shot, before the apps: the pending migrations (docker-compose.yml service migrate)
FROM runtime AS migrate
CMD ["node", "dist/tools/migrate.js"]

FROM runtime AS control-plane
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:8000/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "dist/apps/control-plane/src/main.js"]

FROM runtime AS reaper
CMD ["node", "dist/apps/reaper/src/main.js"]

FROM runtime AS runtime-agent
# it drives the Docker engine of its host through the socket mounted in: root, or the socket's group
USER root
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/runtime-agent/src/main.js"]
