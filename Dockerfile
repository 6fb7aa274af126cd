# kmsd in a container: built from this repository, run as an unprivileged
# user, health-checked by a bind-only probe (kmsc ping: no machine counted,
# no log line).
#
# The product table is generated at build time from data/KmsDataBase.xml.
# /etc/kmsd.conf is the sample configuration; mount your own over it. The
# entrypoint passes nothing that overrides it, except the settings given as
# environment variables (contrib/container/entrypoint.sh): KMSD_COUNT,
# KMSD_SERVE, KMSD_WEB, KMSD_WEB_LISTEN, KMSD_WEB_TOKEN_FILE, KMSD_LOG_LEVEL.
#
#   docker build -t kmsd .
#   docker run -d -p 1688:1688 -v kmsd-state:/var/lib/kmsd kmsd
# or, with a named volume: docker compose -f contrib/container/compose.yaml up -d

FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends make ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src/kmsd
COPY Makefile ./
RUN make deps-build && rm -rf /var/lib/apt/lists/*
COPY . ./
RUN make -j"$(nproc)" all && make install PREFIX=/usr SYSCONFDIR=/etc DESTDIR=/out \
    && install -m 755 contrib/container/entrypoint.sh /out/usr/sbin/kmsd-entrypoint

FROM debian:bookworm-slim
# the shared libraries kmsd and kmsc link against (checked by the tests)
RUN apt-get update && apt-get install -y --no-install-recommends \
        libssl3 libsqlite3-0 libmicrohttpd12 libldns3 libpq5 libxml2 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/kmsd --shell /usr/sbin/nologin kmsd \
    && install -d -o kmsd -g kmsd -m 0750 /var/lib/kmsd
COPY --from=build /out/ /
# the configuration may hold a database password: readable by kmsd only
RUN chgrp kmsd /etc/kmsd.conf && chmod 0640 /etc/kmsd.conf
USER kmsd
VOLUME /var/lib/kmsd
# KMS; the web status page and API when KMSD_WEB=yes
EXPOSE 1688 8688
HEALTHCHECK --interval=60s --timeout=15s --start-period=5s --retries=3 \
    CMD ["kmsc", "ping", "--timeout", "5", "127.0.0.1:1688"]
# Everything comes from /etc/kmsd.conf (mount your own over it): the
# sample's defaults listen on 0.0.0.0:1688 and [::]:1688 (a network without
# IPv6 only costs a warning), log to stderr and keep the store in the volume.
# With no KMSD_* variable set, the entrypoint runs kmsd -f -c /etc/kmsd.conf.
ENTRYPOINT ["kmsd-entrypoint"]
