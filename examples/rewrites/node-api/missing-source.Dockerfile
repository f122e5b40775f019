# expect: rejected: /app/server.js
# Broken on purpose: the runtime stage takes only node_modules and package.json from the build
# stage and forgets the app itself, so /app/server.js is missing (it builds; the smoke check
# fails too).
# Otherwise the same as multi-stage.Dockerfile.
FROM node:22 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev
COPY . .

FROM node:22-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
USER node
EXPOSE 3000
CMD ["node", "server.js"]
