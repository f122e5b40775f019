# expect: rejected: ExposedPorts
# Broken on purpose: EXPOSE 3000 dropped (the smoke check passes).
# Otherwise the same as multi-stage.Dockerfile.
FROM node:22 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev
COPY . .

FROM node:22-slim
WORKDIR /app
COPY --from=build /app /app
USER node
CMD ["node", "server.js"]
