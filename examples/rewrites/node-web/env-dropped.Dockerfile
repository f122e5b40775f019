# expect: rejected: NODE_ENV
# Broken on purpose: ENV NODE_ENV=production is set in neither stage, so Express runs in
# development mode (stack traces in error pages); the smoke check passes.
# Otherwise the same as multi-stage.Dockerfile.
FROM node:22 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npm run build \
 && npm prune --omit=dev

FROM node:22-slim
WORKDIR /app
COPY --from=build /app /app
USER node
EXPOSE 3000
CMD ["node", "dist/server.js"]
