# syntax=docker/dockerfile:1
# One image per service, from one Dockerfile:
#   docker build --build-arg SERVICE=booking -t registry.example.com/clinic/booking:0.1.0 .
# SERVICE is one of edge, doctor, slot, booking, notifier. The build runs the same commands as
# scripts/ensure-build (`npm ci`, `npm run build`); the image holds only that service's compiled
# output, the shared packages it uses and their production dependencies, and runs as a non-root
# user with `node dist/src/main.js`, as the local stack runs it. test/k8s/dockerfile.test.ts
# runs these steps in a scratch directory.
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim

# Every workspace, compiled from the lockfile the tests use (code generation needs dev tools).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/proto/package.json packages/proto/
COPY packages/platform/package.json packages/platform/
COPY packages/test-stack/package.json packages/test-stack/
COPY services/doctor/package.json services/doctor/
COPY services/slot/package.json services/slot/
COPY services/booking/package.json services/booking/
COPY services/notifier/package.json services/notifier/
COPY services/edge/package.json services/edge/
COPY loadtest/package.json loadtest/
COPY web/package.json web/
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npm run --silent build

# The production dependencies of the one service (and of the workspace packages it uses).
FROM ${NODE_IMAGE} AS production-deps
ARG SERVICE
WORKDIR /src
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/packages/proto/package.json packages/proto/
COPY --from=build /src/packages/platform/package.json packages/platform/
COPY --from=build /src/packages/test-stack/package.json packages/test-stack/
COPY --from=build /src/services/doctor/package.json services/doctor/
COPY --from=build /src/services/slot/package.json services/slot/
COPY --from=build /src/services/booking/package.json services/booking/
COPY --from=build /src/services/notifier/package.json services/notifier/
COPY --from=build /src/services/edge/package.json services/edge/
COPY --from=build /src/loadtest/package.json loadtest/
COPY --from=build /src/web/package.json web/
RUN case "$SERVICE" in edge|doctor|slot|booking|notifier) ;; *) echo "--build-arg SERVICE=edge|doctor|slot|booking|notifier is required" >&2; exit 1 ;; esac
RUN npm ci --omit=dev --workspace "services/$SERVICE" --no-audit --no-fund --loglevel=error

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-deps /src/node_modules node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/packages/proto/package.json /src/packages/proto/descriptor.binpb packages/proto/
COPY --from=build /src/packages/proto/dist packages/proto/dist
COPY --from=build /src/packages/platform/package.json packages/platform/
COPY --from=build /src/packages/platform/dist packages/platform/dist
COPY --from=build /src/services/${SERVICE}/package.json services/${SERVICE}/
COPY --from=build /src/services/${SERVICE}/dist services/${SERVICE}/dist
# The web client's build, which the edge serves at / (the other services never read it).
COPY --from=build /src/web/dist web/dist
ENV WEB_DIR=/app/web/dist
WORKDIR /app/services/${SERVICE}
# The chart runs pods as this user with a read-only root file system (writable /tmp only).
USER 10001:10001
CMD ["node", "dist/src/main.js"]
