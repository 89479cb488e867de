#!/usr/bin/env bash
# Builds a local base image for the interop containers where no image registry is reachable
# (interop/docker/README.md): a minimal Debian root made by debootstrap from the Debian mirror
# apt already uses, imported with `docker import`, plus this machine's Node copied in.
# Usage: interop/docker/base-image.sh [TAG]   (default spread-ts/base:local; DOCKER=… picks the client)
# Skips the work when TAG already exists (FORCE=1 rebuilds).
set -euo pipefail
TAG=${1:-spread-ts/base:local}
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$DOCKER" ] || DOCKER=docker
if [ "${FORCE:-0}" != 1 ] && "$DOCKER" image inspect "$TAG" >/dev/null 2>&1; then
  echo "base image $TAG exists"; exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }

# The mirror and suite apt already uses (deb822 .sources or one-line .list files).
mirror=$({ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
  | grep -E '^(URIs:|deb )' | grep -v security | head -1 | sed -E 's/^URIs: *//; s/^deb (\[[^]]*\] )?//' | awk '{print $1}')
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
node_bin=$(command -v node)
[ -n "$mirror" ] || { echo "no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }

root=$(mktemp -d /tmp/spread-ts-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $suite from $mirror into $root"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
# Node of this machine (its shared libraries are libc, libstdc++ and libgcc: all in minbase).
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
chroot "$root" /usr/local/bin/node --version
# Lean: no apt lists, caches, docs or locales.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
  "$root"/usr/share/locale/* "$root"/usr/share/info/*
tar -C "$root" -c . | "$DOCKER" import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["node"]' - "$TAG"
echo "base image $TAG: $("$DOCKER" image inspect -f '{{.Size}}' "$TAG") bytes, node $("$DOCKER" run --rm "$TAG" node --version)"
