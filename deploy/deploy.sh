#!/bin/bash
# Builds the Vltava image from this checkout and starts the getting-started cluster (see compose.yaml):
# the broker on localhost:9092 and a one-shot service that creates the topic `sensors`.
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
