#!/usr/bin/env bash
# The local lab: three systemd containers that behave like the VMs of a real deployment
# (one proxy, two app servers), reachable over SSH on loopback as the user 'deploy'.
#
#   scripts/lab.sh up      create or reuse the containers, wait until each answers over SSH
#   scripts/lab.sh down    remove the containers and the lab network (nothing else)
#   scripts/lab.sh status  show the containers
#
# Settings (environment; the Makefile passes its variables through):
#   LAB_PREFIX       container and network name prefix       (webstack-lab)
#   LAB_IMAGE        image of every lab host                 (PROXYLAB_IMAGE_DEBIAN12 or proxylab/debian:12)
#   LAB_DIR          where the SSH key is generated          (<repo>/.lab)
#   LAB_SSH_PORT_PROXY / LAB_SSH_PORT_APP1 / LAB_SSH_PORT_APP2   (2201 / 2202 / 2203)
#   LAB_HTTP_PORT / LAB_HTTPS_PORT                           (8080 / 8443)
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${LAB_PREFIX:-webstack-lab}
image=${LAB_IMAGE:-${PROXYLAB_IMAGE_DEBIAN12:-proxylab/debian:12}}
lab_dir=${LAB_DIR:-$repo_root/.lab}
network="$prefix"
key="$lab_dir/id_ed25519"

log() { printf 'lab: %s\n' "$*" >&2; }

# name, then the published ports as docker -p arguments
hosts() {
  echo "proxy 127.0.0.1:${LAB_SSH_PORT_PROXY:-2201}:22 127.0.0.1:${LAB_HTTP_PORT:-8080}:80 127.0.0.1:${LAB_HTTPS_PORT:-8443}:443"
  echo "app1 127.0.0.1:${LAB_SSH_PORT_APP1:-2202}:22"
  echo "app2 127.0.0.1:${LAB_SSH_PORT_APP2:-2203}:22"
}

# What a container was created from; a different value means it must be recreated.
# What a container is made from: the image, its published ports and the capabilities below
# (NET_ADMIN: node_app's firewall), so a lab from an older recipe is recreated.
recipe_of() {
  local image_id
  image_id=$(docker image inspect --format '{{.Id}}' "$image")
  echo "$image_id $* caps=SYS_ADMIN,NET_ADMIN" | sha256sum | cut -c1-16
}

ensure_key() {
  mkdir -p "$lab_dir"
  chmod 0700 "$lab_dir"
  [ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -C "proxylab-lab" -f "$key"
}

ensure_network() {
  docker network inspect "$network" >/dev/null 2>&1 \
    || docker network create --label org.proxylab.lab="$prefix" "$network" >/dev/null
}

ensure_host() {
  local name=$1; shift
  local container="$prefix-$name" recipe current state publish=()
  recipe=$(recipe_of "$@")
  for port in "$@"; do publish+=(-p "$port"); done

  current=$(docker inspect --format '{{ index .Config.Labels "org.proxylab.recipe" }}' "$container" 2>/dev/null || true)
  if [ -n "$current" ] && [ "$current" != "$recipe" ]; then
    log "$container was made from an older recipe: recreating it"
    docker rm -f "$container" >/dev/null
    current=""
  fi
  if [ -z "$current" ]; then
    log "creating $container"
    docker run -d --name "$container" --hostname "$name" \
      --network "$network" --network-alias "$name" \
      --label org.proxylab.lab="$prefix" --label org.proxylab.recipe="$recipe" \
      --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock \
      "${publish[@]}" "$image" >/dev/null
  fi
  state=$(docker inspect --format '{{.State.Running}}' "$container")
  if [ "$state" != true ]; then
    log "starting $container"
    docker start "$container" >/dev/null
  fi
}

wait_ready() {
  local name=$1 container="$prefix-$1" ssh_port=$2 status=""
  for _ in $(seq 1 60); do
    status=$(docker exec "$container" systemctl is-system-running 2>/dev/null || true)
    case "$status" in running|degraded) break ;; esac
    sleep 1
  done
  case "$status" in
    running|degraded) ;;
    *) log "$container: systemd did not come up (state: ${status:-none})"; return 1 ;;
  esac
  docker exec -i "$container" sh -c \
    'install -d -m 0700 -o deploy -g deploy ~deploy/.ssh && cat > ~deploy/.ssh/authorized_keys && chown deploy:deploy ~deploy/.ssh/authorized_keys && chmod 0600 ~deploy/.ssh/authorized_keys' \
    < "$key.pub"
  for _ in $(seq 1 30); do
    if ssh -n -q -i "$key" -p "$ssh_port" -o BatchMode=yes -o ConnectTimeout=2 \
      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null deploy@127.0.0.1 true 2>/dev/null; then
      log "$container answers on ssh://deploy@127.0.0.1:$ssh_port"
      return 0
    fi
    sleep 1
  done
  log "$container: sshd does not answer on 127.0.0.1:$ssh_port"
  return 1
}

up() {
  "$repo_root/scripts/docker-engine.sh"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    "$repo_root/scripts/build-images.sh" bookworm
  fi
  ensure_key
  ensure_network
  local name ports ssh_port
  while read -r name ports; do
    # shellcheck disable=SC2086 # ports is a list of -p values
    ensure_host "$name" $ports
  done < <(hosts)
  while read -r name ports; do
    ssh_port=$(echo "$ports" | cut -d' ' -f1 | cut -d: -f2)
    wait_ready "$name" "$ssh_port"
  done < <(hosts)
}

down() {
  docker ps -aq --filter "label=org.proxylab.lab=$prefix" | xargs -r docker rm -f >/dev/null
  docker network rm "$network" >/dev/null 2>&1 || true
  log "removed the $prefix containers and network"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) docker ps -a --filter "label=org.proxylab.lab=$prefix" ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
