# expect: rejected: jsonwebtoken
# Broken on purpose: a pin written into the Dockerfile disagrees with package-lock.json, so the
# runtime has jsonwebtoken 9.0.1 instead of 9.0.2 (package.json and the lockfile in /app are
# unchanged; the smoke check passes).
# Otherwise the same as multi-stage.Dockerfile.
FROM node:22 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev \
 && npm install --omit=dev --no-save jsonwebtoken@9.0.1
COPY . .

FROM node:22-slim
WORKDIR /app
COPY --from=build /app /app
USER node
EXPOSE 3000
CMD ["node", "server.js"]
