# expect: rejected: Cmd
# Broken on purpose: CMD runs `npm start` (npm as PID 1 in front of node dist/server.js, which
# changes signal handling and adds npm to the process tree); the smoke check passes, it
# replaces CMD.
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
EXPOSE 3000
CMD ["npm", "start"]
