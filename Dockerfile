# kmsd in a container: built from this repository, run as an unprivileged
# user, health-checked by kmsc acting as a KMS client.
#
# The product table is generated at build time from data/KmsDataBase.xml.
#
#   docker build -t kmsd .
#   docker run -d -p 1688:1688 -v kmsd-state:/var/lib/kmsd kmsd

FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends make ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src/kmsd
COPY Makefile ./
RUN make deps-build && rm -rf /var/lib/apt/lists/*
COPY . ./
RUN make -j"$(nproc)" all && make install PREFIX=/usr SYSCONFDIR=/etc DESTDIR=/out

FROM debian:bookworm-slim
# the shared libraries kmsd and kmsc link against (checked by the tests)
RUN apt-get update && apt-get install -y --no-install-recommends \
        libssl3 libsqlite3-0 libmicrohttpd12 libldns3 libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/kmsd --shell /usr/sbin/nologin kmsd \
    && install -d -o kmsd -g kmsd -m 0750 /var/lib/kmsd
COPY --from=build /out/ /
# the configuration may hold a database password: readable by kmsd only
RUN chgrp kmsd /etc/kmsd.conf && chmod 0640 /etc/kmsd.conf
USER kmsd
VOLUME /var/lib/kmsd
EXPOSE 1688
# a fixed machine id, so the check counts as one machine, not one per run
HEALTHCHECK --interval=60s --timeout=15s --start-period=5s --retries=3 \
    CMD ["kmsc", "activate", "--timeout", "5", "--cmid", "00000000-0000-4000-8000-00000000c0de", "--workstation", "kmsd-healthcheck", "127.0.0.1:1688"]
# Everything comes from /etc/kmsd.conf (mount your own over it): the
# sample's defaults listen on 0.0.0.0:1688 and [::]:1688 (a network without
# IPv6 only costs a warning), log to stderr and keep the store in the volume.
ENTRYPOINT ["kmsd", "-f", "-c", "/etc/kmsd.conf"]
