# syntax=docker/dockerfile:1
# The chatbot service (issue 6): built with meson on Debian 12, run on Debian 12 slim with only
# its runtime libraries, its web page and knowledge base.
#   docker build -f deploy/docker/chatbot.Dockerfile -t chatbot:TAG .   (context: the repository)
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
COPY chatbot/ chatbot/
COPY tests/ tests/
RUN meson setup build -Dbuildtype=release -Dchatbot=enabled \
    && ninja -C build chatbot/chatbot \
    && install -D -m 0755 build/chatbot/chatbot /out/usr/bin/chatbot

FROM debian:${DEBIAN_VERSION}-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates libprotobuf-c1 libcurl4 libjansson4 libssl3 libevent-2.1-7 zlib1g \
        libzstd1 liblz4-1 libsnappy1v5 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 otter \
    && useradd --system --uid 10001 --gid otter --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin otter
COPY --from=build /out/ /
USER 10001:10001
# The web page and the knowledge base are compiled into the binary; settings are CHATBOT_<OPTION>.
ENV CHATBOT_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/bin/chatbot"]
