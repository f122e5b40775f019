# expect: equivalent
# A hand-written multi-stage rewrite of ../Dockerfile. The build stage installs every
# dependency from the lockfile (npm's cache in a cache mount), runs the build, then drops the
# dev dependencies; the slim runtime gets the finished /app (the context, dist/ and the
# production node_modules) and nothing else. Same WORKDIR and files in it, NODE_ENV, EXPOSE and
# command; runs as the image's own unprivileged user `node`.
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
EXPOSE 3000
CMD ["node", "dist/server.js"]
