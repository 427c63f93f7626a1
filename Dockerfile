# syntax=docker/dockerfile:1.7
# The shortlink image: one image for every component (`shortlink api|redirector|analytics|
# operator|migrate`), non-root (uid 10001), read-only root friendly (/tmp is the only
# writable path; mount an emptyDir there), the DB-IP Lite City GeoIP database inside
# (mount a production one and set SHORTLINK_GEOIP_DATABASE).
#   docker build -t shortlink .
# scripts/build-image builds the same image without a Docker engine: both run
# image/recipe.sh, and a test keeps this file's configuration equal to that image's.

FROM debian:bookworm-slim AS base
COPY image/recipe.sh /usr/local/share/shortlink/recipe.sh
RUN sh /usr/local/share/shortlink/recipe.sh system

# The wheel, with the UI's pinned npm assets (the recipe runs scripts/install-ui-assets).
FROM node:22-bookworm-slim AS wheel
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 python3-pip python3-venv ca-certificates
COPY . /src
RUN sh /src/image/recipe.sh wheel /src /wheels

FROM base
ARG VERSION=0.1.0
ARG REVISION=unknown
RUN --mount=type=bind,from=wheel,source=/wheels,target=/tmp/wheels \
    PIP_NO_CACHE_DIR=1 sh /usr/local/share/shortlink/recipe.sh app /tmp/wheels
LABEL org.opencontainers.image.title="shortlink" \
      org.opencontainers.image.description="Kubernetes-native URL shortener: api, redirector, analytics, operator, migrate" \
      org.opencontainers.image.source="https://github.com/shortlink/shortlink" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/shortlink/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["/opt/shortlink/bin/shortlink"]
CMD ["api"]
