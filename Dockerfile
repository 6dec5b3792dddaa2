# Vltava in a container, a drop-in for confluentinc/cp-kafka: the same environment variables (KAFKA_LISTENERS,
# KAFKA_ADVERTISED_LISTENERS, KAFKA_NODE_ID, CLUSTER_ID, ...), port 9092, data in /var/lib/kafka/data.
#
#   docker build -t vltava .
#   docker run -p 9092:9092 -v kafka-data:/var/lib/kafka/data vltava

ARG SWIFT_VERSION=6.3
ARG DEBIAN_RELEASE=bookworm

FROM swift:${SWIFT_VERSION}-${DEBIAN_RELEASE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a change to the sources does not fetch them again.
COPY Package.swift Package.resolved* ./
RUN swift package resolve
COPY Sources ./Sources
# The manifest names the test targets; their folders must exist for it to load.
COPY Tests ./Tests
RUN swift build -c release --product vltava --static-swift-stdlib \
    && install -D "$(swift build -c release --show-bin-path)/vltava" /out/vltava

FROM debian:${DEBIAN_RELEASE}-slim
# zlib is linked; lz4 and zstd are loaded when a batch uses them; snappy is built in.
RUN apt-get update \
    && apt-get install -y --no-install-recommends zlib1g liblz4-1 libzstd1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 1000 --home-dir /var/lib/kafka appuser \
    && mkdir -p /var/lib/kafka/data \
    && chown -R appuser /var/lib/kafka
COPY --from=build /out/vltava /usr/local/bin/vltava
ENV KAFKA_LOG_DIRS=/var/lib/kafka/data
VOLUME /var/lib/kafka/data
USER appuser
EXPOSE 9092
# Console: /metrics, /livez, /readyz.
EXPOSE 8080
ENTRYPOINT ["vltava"]
CMD ["serve"]
