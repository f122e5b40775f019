# expect: rejected: Cmd
# Broken on purpose: a development command left in CMD (node --watch restarts on file changes);
# the smoke check passes, it replaces CMD.
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
EXPOSE 3000
CMD ["node", "--watch", "server.js"]
