# syntax=docker/dockerfile:1
# One image for the api, the worker and the migrate step (docker-compose.yml picks the command).

# Node 24, as package.json's engines; the `node` dev dependency (npm scripts' Node) stays out of the
# runtime image, which installs with --omit=dev.
ARG NODE_IMAGE=node:24-bookworm-slim

# Compiles the TypeScript sources to dist/ with the full (dev) dependency set.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only, installed apart so the runtime layer holds no compiler or linter.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# ffmpeg renders, espeak-ng is the offline voice; fonts-noto-cjk draws Korean, Japanese and Chinese,
# fonts-noto-core Hindi (Noto Sans Devanagari) and Arabic (Noto Sans Arabic);
# pg_dump and redis-cli take the backups;
# fontconfig builds the font cache here rather than at the first render.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates ffmpeg espeak-ng fonts-noto-cjk fonts-noto-core fontconfig postgresql-client redis-tools \
  && rm -rf /var/lib/apt/lists/* \
  && fc-cache -f
ENV NODE_ENV=production
WORKDIR /app
COPY --chown=node:node package.json ./
COPY --from=prod-deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# tsc copies no .sql: the migrator reads them next to its compiled module (dist/db/migrations).
COPY --from=build --chown=node:node /app/db/migrations ./dist/db/migrations
USER node
EXPOSE 3000
CMD ["node", "dist/api/server.js"]
