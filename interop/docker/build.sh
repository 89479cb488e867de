#!/usr/bin/env bash
# Builds the interop images (interop/docker/README.md):
#   spread-ts/ours:local       our daemon, from this checkout's build (npm run build first)
#   spread-ts/reference:local  the reference, from $SPREAD_REF (an install prefix) when set
# BASE=<image> picks the base (default node:20-slim; CI: spread-ts/base:local from base-image.sh).
# DOCKER=<client> picks the docker client (default: /usr/bin/docker when present).
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${BASE:-node:20-slim}
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$DOCKER" ] || DOCKER=docker
[ -d dist/src ] && [ -d dist/interop ] || { echo "build first: npm run build" >&2; exit 1; }

stage=$(mktemp -d /tmp/spread-ts-image.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp -r dist bin package.json package-lock.json "$stage/"
rm -rf "$stage/dist/bench"; find "$stage/dist" \( -name "*.map" -o -name "*.d.ts" \) -delete
# Production dependencies only, without running the package's own build.
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
"$DOCKER" build -q --build-arg BASE="$BASE" -f interop/docker/Dockerfile.ours -t spread-ts/ours:local "$stage"
if [ -n "${SPREAD_REF:-}" ]; then
  [ -x "$SPREAD_REF/sbin/spread" ] || { echo "SPREAD_REF=$SPREAD_REF has no sbin/spread" >&2; exit 1; }
  "$DOCKER" build -q --build-arg BASE="$BASE" -f interop/docker/Dockerfile.reference -t spread-ts/reference:local "$SPREAD_REF"
fi
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^spread-ts/'
