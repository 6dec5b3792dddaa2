#!/bin/bash
# Builds the Vltava image from this checkout and starts the seed's schema-registry setup (see compose.yaml):
# the broker on localhost:9092, the topic `sensors`, and the schema registry on localhost:8081.
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
