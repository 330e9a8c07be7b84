# syntax=docker/dockerfile:1
# otterd: built with meson on Debian 12, run on Debian 12 slim with only its runtime libraries.
#   docker build -f deploy/docker/otterd.Dockerfile -t otterd:TAG .     (context: the repository)
# The base images are pinned by Debian point-release tag; the delivery workflow resolves and
# records their digests (docker buildx --metadata-file) with the image it pushes.
ARG DEBIAN_VERSION=12.12

FROM debian:${DEBIAN_VERSION} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential meson ninja-build pkg-config \
        libprotobuf-c-dev protobuf-c-compiler libnghttp2-dev libcurl4-openssl-dev \
        libjansson-dev libssl-dev libevent-dev libyaml-dev zlib1g-dev libzstd-dev liblz4-dev \
        libsnappy-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY meson.build meson_options.txt ./
COPY agent/ agent/
COPY exporters/ exporters/
COPY slo/ slo/
COPY tests/ tests/
RUN meson setup build -Dbuildtype=release -Dchatbot=disabled \
    && ninja -C build agent/otterd \
    && install -D -m 0755 build/agent/otterd /out/usr/bin/otterd

FROM debian:${DEBIAN_VERSION}-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates libprotobuf-c1 libnghttp2-14 libcurl4 libjansson4 libssl3 \
        libevent-2.1-7 libevent-openssl-2.1-7 libyaml-0-2 zlib1g libzstd1 liblz4-1 \
        libsnappy1v5 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 otter \
    && useradd --system --uid 10001 --gid otter --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin otter
COPY --from=build /out/ /
USER 10001:10001
# OTLP gRPC, OTLP HTTP, admin (/healthz, /readyz, /metrics).
EXPOSE 4317 4318 8888
# No curl in the image: bash's /dev/tcp asks the admin listener for /readyz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8888 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/bin/otterd"]
# In Kubernetes the ConfigMap's config is passed with --config; alone, the built-in default runs.
CMD []
