# syntax=docker/dockerfile:1.7
#
# Cloud Chat web image: nginx (Debian bookworm's package, the same nginx that
# scripts/deploy-check.sh tests the configuration with) serving the React SPA and
# proxying the API and WebSockets to the services.
#
#   docker build -f docker/web.Dockerfile -t cloudchat/web .
#
# Runs as www-data on 8080 (HTTP) and 8443 (HTTPS, when NGINX_TLS=on). At start the
# entrypoint writes /env.js and the runtime parts of the nginx configuration from
# environment variables (docker/nginx-entrypoint.sh documents them).

ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS spa
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM debian:bookworm-slim AS web
# Replace Debian's default configuration with ours, keeping only mime.types.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* /var/www/html \
 && cp /etc/nginx/mime.types /tmp/mime.types \
 && rm -rf /etc/nginx \
 && mkdir -p /etc/nginx /usr/share/nginx/html /var/www/acme \
 && mv /tmp/mime.types /etc/nginx/mime.types
COPY nginx/ /etc/nginx/
COPY --from=spa /web/dist/ /usr/share/nginx/html/
COPY docker/nginx-entrypoint.sh /usr/local/bin/nginx-entrypoint
COPY docker/nginx-healthcheck.sh /usr/local/bin/nginx-healthcheck
# The entrypoint (running as www-data) may write only what it generates.
RUN mkdir -p /etc/nginx/certs \
 && rm -f /etc/nginx/sites-enabled/*.conf \
 && touch /usr/share/nginx/html/env.js \
 && chown www-data:www-data /etc/nginx/runtime /etc/nginx/runtime/*.conf \
        /etc/nginx/sites-enabled /usr/share/nginx/html/env.js \
 && chmod 0755 /usr/local/bin/nginx-entrypoint /usr/local/bin/nginx-healthcheck

ENV NGINX_UPSTREAMS=compose \
    NGINX_TLS=off \
    NGINX_REAL_IP_FROM="" \
    PUBLIC_API_BASE="" \
    PUBLIC_WS_URL=""
# www-data (uid/gid 33 in Debian), numeric so that runtimes can check it is not root.
USER 33:33
EXPOSE 8080 8443
# nginx finishes in-flight requests on SIGQUIT (graceful), not on SIGTERM.
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/nginx-healthcheck"]
ENTRYPOINT ["/usr/local/bin/nginx-entrypoint"]
CMD ["nginx", "-g", "daemon off;"]
