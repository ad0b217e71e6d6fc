# syntax=docker/dockerfile:1
# access-request-gateway: one image for every role (ROLE=api | worker | all) and for the standalone
# IdentityNow simulator (`node dist/simulator/simulator.main.js`).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies (Nest CLI, TypeScript) and the compiled dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npx nest build

# ---- prod-deps: production dependencies only ----
# --ignore-scripts: nothing in our production tree needs an install script, and the project's own
# scripts (build, start = dev launcher) need dev tools that are deliberately absent here.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime: no compiler, no dev dependencies, no npm run, not root ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY --from=prod-deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# Files stay root-owned and read-only to the process; it runs as the image's unprivileged `node` user.
USER node
EXPOSE 3000
# Readiness (Redis reachable, noeviction, not shutting down); Node's fetch, as the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly (not `npm start`, which is the dev launcher): SIGTERM reaches the process, which
# drains in-flight work for SHUTDOWN_GRACE_MS. Run with an init (compose: `init: true`) to reap zombies.
CMD ["node", "dist/main.js"]
