# tta-carbon: one image, the role is the command (shipper, worker, run, ...).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY tools/bundle.mjs ./tools/
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# `report --chart` renders its PNG with the system's fonts.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
# The registry and rotation state live here; mount a volume so they survive restarts.
RUN mkdir -p /var/lib/tta-carbon && chown node:node /var/lib/tta-carbon
USER node
ENTRYPOINT ["node", "/app/bin/tta-carbon.js"]
CMD ["--help"]
