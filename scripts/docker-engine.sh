#!/usr/bin/env bash
# Make sure a Docker engine answers. Uses a running engine when there is one; on a Debian or
# Ubuntu host where we are root, installs docker.io and starts dockerd in the background
# (hosts without systemd, such as CI containers, have nobody else to start it).
set -euo pipefail

log() { printf 'docker-engine: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "no Docker engine answers and this host is not a Debian/Ubuntu machine where we are root."
  log "Install Docker (https://docs.docker.com/engine/install/) and make sure 'docker info' works, then retry."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io from the distribution"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  systemctl start docker || true
fi

if ! docker info >/dev/null 2>&1; then
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd in the background (log: /var/log/dockerd.log)"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi

if ! docker info >/dev/null 2>&1; then
  log "dockerd did not answer within 60 s; see /var/log/dockerd.log"
  exit 1
fi
log "engine ready: $(docker version --format '{{.Server.Version}}')"
