# expect: rejected: ExposedPorts
# Broken on purpose: EXPOSE 3000 dropped (the smoke check passes).
# Otherwise the same as multi-stage.Dockerfile.
FROM node:22 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npm run build \
 && npm prune --omit=dev

FROM node:22-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
USER node
CMD ["node", "dist/server.js"]
