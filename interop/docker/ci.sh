#!/usr/bin/env bash
# The ours-only interop matrix in containers, as CI runs it (interop/docker/README.md):
# installs docker (Debian's docker.io and docker-compose), starts dockerd when none answers,
# builds the local base image and our image, runs `npm run interop -- --matrix --backend docker`
# on a 3-daemon ring, and always tears down what it started (the rings' containers and
# networks are removed by the matrix itself; the dockerd it started is stopped by its pid).
# Usage: interop/docker/ci.sh [ARRANGEMENTS]   (default OOO; needs root and `npm run build` done)
set -euo pipefail
cd "$(dirname "$0")/../.."
ARR=${1:-OOO}
export DOCKER=/usr/bin/docker
run_dir=$(mktemp -d /tmp/spread-ts-dockerd.XXXXXX)
started_pid=""

cleanup() {
  if [ -n "$started_pid" ]; then
    kill "$started_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$started_pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$started_pid" 2>/dev/null || true
    echo "dockerd (pid $started_pid) stopped"
  fi
  rm -rf "$run_dir"
}
trap cleanup EXIT

if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null || ! command -v nsenter >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose debootstrap iptables util-linux) >/dev/null
fi

if ! "$DOCKER" info >/dev/null 2>&1; then
  # No systemd here: dockerd in the background, its log and pid in run_dir.
  dockerd --pidfile "$run_dir/dockerd.pid" >"$run_dir/dockerd.log" 2>&1 &
  started_pid=$!
  for _ in $(seq 1 60); do "$DOCKER" info >/dev/null 2>&1 && break; kill -0 "$started_pid" 2>/dev/null || break; sleep 1; done
  "$DOCKER" info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -20 "$run_dir/dockerd.log"; exit 1; }
fi

t0=$(date +%s)
bash interop/docker/base-image.sh spread-ts/base:local
BASE=spread-ts/base:local bash interop/docker/build.sh
t1=$(date +%s)
npm run interop -- --matrix --backend docker --arrangements "$ARR" --out interop-results
t2=$(date +%s)
echo "container matrix: images $((t1 - t0)) s, matrix $((t2 - t1)) s"
