# expect: rejected: /app/dist/index.html
# Broken on purpose: the runtime stage picks files from the build stage one by one and takes the
# bundle dist/server.js but not the page it serves, so /app/dist/index.html is missing (it
# builds; the server reads the page at start-up, so the smoke check fails too).
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
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/server.js ./dist/
USER node
EXPOSE 3000
CMD ["node", "dist/server.js"]
