# expect: rejected: express
# Broken on purpose: a pin written into the Dockerfile disagrees with package-lock.json, so the
# runtime has express 4.21.1 instead of 4.21.2 (package.json and the lockfile in /app are
# unchanged; the smoke check passes).
# Otherwise the same as multi-stage.Dockerfile.
FROM node:22 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npm run build \
 && npm prune --omit=dev \
 && npm install --omit=dev --no-save express@4.21.1

FROM node:22-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
USER node
EXPOSE 3000
CMD ["node", "dist/server.js"]
