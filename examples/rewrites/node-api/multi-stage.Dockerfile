# expect: equivalent
# A hand-written multi-stage rewrite of ../Dockerfile. The production dependencies are
# installed from the lockfile on the full image (compilers at hand for any native addon) with
# npm's cache in a cache mount; the slim runtime gets the finished /app (the context plus
# node_modules) and nothing else: no npm cache, no toolchain. Same WORKDIR and files in it,
# EXPOSE and command; runs as the image's own unprivileged user `node`.
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
CMD ["node", "server.js"]
