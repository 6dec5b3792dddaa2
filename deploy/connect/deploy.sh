#!/bin/bash
# Builds the Vltava image from this checkout and starts Kafka Connect beside the seed's broker and registry (see compose.yaml):
# the broker on localhost:9092, the topic `sensors`, the schema registry on localhost:8081 and Kafka Connect on localhost:8083.
set -euo pipefail
cd "$(dirname "$0")"

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    compose=(docker-compose)
fi

echo "building the vltava image..."
"${compose[@]}" -f compose.yaml build kafka-server
"${compose[@]}" -f compose.yaml up -d
