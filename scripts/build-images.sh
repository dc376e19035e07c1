#!/usr/bin/env bash
# Build the Debian base images used by the lab and by molecule, without any image registry:
# debootstrap a root filesystem, customise it (images/customize.sh), then `docker import` it.
# An image is rebuilt only when it is missing or its recipe changed: the recipe's hash is stored
# in the image label org.proxylab.recipe.
#
# Usage: scripts/build-images.sh [bookworm] [trixie]    (default: both)
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,python3,sudo,openssh-server,ca-certificates,curl,procps,iproute2
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm trixie)

log() { printf 'build-images: %s\n' "$*" >&2; }

image_for() {
  case "$1" in
    bookworm) echo "proxylab/debian:12" ;;
    trixie) echo "proxylab/debian:13" ;;
    *) log "unknown suite '$1' (known: bookworm, trixie)"; return 1 ;;
  esac
}

# The recipe: this script, the customisation, the package list, and the CA certificates baked in.
recipe_hash() {
  local suite=$1
  {
    echo "$suite $packages"
    cat "$repo_root/scripts/build-images.sh" "$repo_root/images/customize.sh"
    cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true
  } | sha256sum | cut -c1-16
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  else
    log "debootstrap is missing: install it (apt-get install debootstrap), or set PROXYLAB_IMAGE_DEBIAN12/13 to images you can pull"
    exit 1
  fi
}

build_one() {
  local suite=$1 image hash current rootfs
  image=$(image_for "$suite")
  hash=$(recipe_hash "$suite")
  current=$(docker image inspect --format '{{ index .Config.Labels "org.proxylab.recipe" }}' "$image" 2>/dev/null || true)
  if [ "$current" = "$hash" ]; then
    log "$image is up to date (recipe $hash)"
    return 0
  fi
  log "building $image from Debian $suite (recipe $hash)"
  rootfs=$(mktemp -d "/tmp/proxylab-rootfs-$suite.XXXXXX")
  trap 'rm -rf "$rootfs"' RETURN
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; log "debootstrap of $suite failed (full log: $rootfs.log)"; return 1; }
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  cp "$repo_root/images/customize.sh" "$rootfs/tmp/customize.sh"
  chroot "$rootfs" /bin/sh /tmp/customize.sh
  rm -f "$rootfs/tmp/customize.sh"
  tar -C "$rootfs" -c . | docker import \
    -c 'CMD ["/lib/systemd/systemd"]' \
    -c 'ENV container=docker' \
    -c "LABEL org.proxylab.recipe=$hash" \
    - "$image" >/dev/null
  rm -f "$rootfs.log"
  log "built $image"
}

"$repo_root/scripts/docker-engine.sh"
needs_build=0
for suite in "${suites[@]}"; do
  image=$(image_for "$suite")
  [ "$(docker image inspect --format '{{ index .Config.Labels "org.proxylab.recipe" }}' "$image" 2>/dev/null || true)" = "$(recipe_hash "$suite")" ] || needs_build=1
done
[ "$needs_build" = 0 ] || ensure_debootstrap

# The suites are independent and mostly wait on the network: build them side by side.
pids=()
for suite in "${suites[@]}"; do
  build_one "$suite" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
