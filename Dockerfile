# Registrar server image: built on Debian 12 with Debian's own libraries,
# run on debian:12-slim with only their runtime packages.
#
#   docker build -t registrar .
#   docker run --rm -e REGISTRAR_DATABASE_URL=... -e REGISTRAR_SECRET_KEY=... -p 8080:8080 registrar
#
# Secrets come from the environment or from files (REGISTRAR_SECRET_KEY_FILE
# and the like: mode 0600, owned by uid 10001), never from flags. Only 8080
# is exposed: /metrics is on the admin address (REGISTRAR_ADMIN_LISTEN,
# 127.0.0.1:9090 inside the container) or needs REGISTRAR_METRICS_TOKEN.
#
# docker-compose.yml runs two of these behind nginx; see README.md.

# ---- build ---------------------------------------------------------------
FROM debian:12 AS build

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates \
        gcc \
        libc6-dev \
        libcmocka-dev \
        libcurl4-openssl-dev \
        libical-dev \
        libjansson-dev \
        libmicrohttpd-dev \
        libpq-dev \
        libsodium-dev \
        meson \
        ninja-build \
        nodejs \
        npm \
        pkg-config \
        python3 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# The unit tests (cmocka) need no database: a failing one fails the image.
# The API and browser suites need node and PostgreSQL; scripts/dev test runs them.
# Swagger UI for /api/docs: the pinned npm package, copied into web/vendor/.
RUN scripts/dev vendor
RUN meson setup build --buildtype=release \
    && ninja -C build \
    && meson test -C build --suite unit --print-errorlogs \
    && install -D -m 0755 build/registrar /out/usr/local/bin/registrar \
    && install -D -m 0755 deploy/entrypoint.sh /out/usr/local/bin/registrar-entrypoint \
    && mkdir -p /out/usr/share/registrar \
    && cp -R schema /out/usr/share/registrar/schema \
    && cp -R web /out/usr/share/registrar/web

# ---- runtime -------------------------------------------------------------
FROM debian:12-slim

# The shared libraries the binary links against, tzdata (libical's zones),
# ca-certificates (libcurl's TLS to the mail relay) and curl (the health check).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates \
        curl \
        libcurl4 \
        libical3 \
        libjansson4 \
        libmicrohttpd12 \
        libpq5 \
        libsodium23 \
        tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 registrar \
    && useradd --system --uid 10001 --gid registrar --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin registrar

COPY --from=build /out/ /

ENV REGISTRAR_LISTEN=0.0.0.0:8080 \
    REGISTRAR_ADMIN_LISTEN=127.0.0.1:9090 \
    REGISTRAR_SCHEMA_DIR=/usr/share/registrar/schema \
    REGISTRAR_WEB_ROOT=/usr/share/registrar/web

USER registrar:registrar
EXPOSE 8080

# /healthz says the process answers; readiness (database and schema) is
# /readyz, which the load balancer's retries cover.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${REGISTRAR_LISTEN##*:}/healthz" || exit 1

# The server finishes requests in flight on SIGTERM and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/registrar-entrypoint"]
