#!/usr/bin/env bash
# The local lab: three systemd containers that behave like the VMs of a real deployment
# (one proxy, two app servers), reachable over SSH on loopback as the user 'deploy'. With
# LAB_PROXIES=2, a second proxy and a client VM join them, the two proxies share the floating address
# LAB_NET.200 (keepalived, the proxy_ha role), and a small forwarder container publishes the site on
# 127.0.0.1 by relaying to that address (the laptop is not on the lab network; the client VM is).
# Every lab host has a fixed address on the lab network (LAB_NET.10 and up), as VMs do; docker
# hands out only the lower half of the network, so LAB_NET.200 is nobody's.
#
#   scripts/lab.sh up      create or reuse the containers, wait until each answers over SSH
#   scripts/lab.sh down    remove the containers and the lab network (nothing else)
#   scripts/lab.sh status  show the containers
#   scripts/lab.sh power-off <name>   a power cut of one lab VM (app1, proxy, ...): its network goes
#                          silent first (no answer, as from a VM that is gone; killing the container
#                          alone would close its connections and refuse new ones, which a real VM
#                          that loses power never does), then the container is killed
#   scripts/lab.sh power-on <name>    its network back at its address, the container started, and
#                          back when systemd has booted it
#
# Settings (environment; the Makefile passes its variables through):
#   LAB_PREFIX       container and network name prefix       (webstack-lab)
#   LAB_IMAGE        image of every lab host                 (PROXYLAB_IMAGE_DEBIAN12 or proxylab/debian:12)
#   LAB_DIR          where the SSH key is generated          (<repo>/.lab)
#   LAB_SSH_PORT_PROXY / LAB_SSH_PORT_APP1 / LAB_SSH_PORT_APP2   (2201 / 2202 / 2203)
#   LAB_HTTP_PORT / LAB_HTTPS_PORT                           (8080 / 8443)
#   LAB_PROXIES      1, or 2 for two proxies behind a floating address (1)
#   LAB_SSH_PORT_PROXY2 / LAB_SSH_PORT_CLIENT                (2204 / 2205)
#   LAB_NET          the first three octets of the lab network, a /24    (10.213.48)
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${LAB_PREFIX:-webstack-lab}
image=${LAB_IMAGE:-${PROXYLAB_IMAGE_DEBIAN12:-proxylab/debian:12}}
lab_dir=${LAB_DIR:-$repo_root/.lab}
network="$prefix"
key="$lab_dir/id_ed25519"
proxies=${LAB_PROXIES:-1}
net=${LAB_NET:-10.213.48}
vip="$net.200"
case "$proxies" in 1|2) ;; *) echo "LAB_PROXIES must be 1 or 2 (got $proxies)" >&2; exit 2 ;; esac
http_ports="127.0.0.1:${LAB_HTTP_PORT:-8080}:80 127.0.0.1:${LAB_HTTPS_PORT:-8443}:443"

log() { printf 'lab: %s\n' "$*" >&2; }

# name, address on the lab network, then the published ports as docker -p arguments. With two
# proxies the forwarder publishes the site's ports instead of the proxy.
hosts() {
  if [ "$proxies" = 2 ]; then
    echo "proxy $net.10 127.0.0.1:${LAB_SSH_PORT_PROXY:-2201}:22"
    echo "proxy2 $net.11 127.0.0.1:${LAB_SSH_PORT_PROXY2:-2204}:22"
  else
    echo "proxy $net.10 127.0.0.1:${LAB_SSH_PORT_PROXY:-2201}:22 $http_ports"
  fi
  echo "app1 $net.21 127.0.0.1:${LAB_SSH_PORT_APP1:-2202}:22"
  echo "app2 $net.22 127.0.0.1:${LAB_SSH_PORT_APP2:-2203}:22"
  if [ "$proxies" = 2 ]; then
    echo "client $net.30 127.0.0.1:${LAB_SSH_PORT_CLIENT:-2205}:22"
  fi
}

# What a container was created from; a different value means it must be recreated.
# What a container is made from: the image, its published ports and the capabilities below
# (NET_ADMIN: node_app's firewall and keepalived; NET_RAW: keepalived's VRRP), so a lab from an
# older recipe is recreated.
recipe_of() {
  local image_id
  image_id=$(docker image inspect --format '{{.Id}}' "$image")
  echo "$image_id $* caps=SYS_ADMIN,NET_ADMIN,NET_RAW" | sha256sum | cut -c1-16
}

ensure_key() {
  mkdir -p "$lab_dir"
  chmod 0700 "$lab_dir"
  [ -f "$key" ] || ssh-keygen -q -t ed25519 -N '' -C "proxylab-lab" -f "$key"
}

ensure_network() {
  local subnet
  subnet=$(docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$network" 2>/dev/null || true)
  if [ -n "$subnet" ] && [ "$subnet" != "$net.0/24" ]; then
    # A lab from before fixed addresses (or another LAB_NET): its containers go with the network.
    log "the $network network is $subnet, not $net.0/24: recreating the lab"
    down
    subnet=""
  fi
  [ -n "$subnet" ] || docker network create --label org.proxylab.lab="$prefix" \
    --subnet "$net.0/24" --ip-range "$net.0/25" --gateway "$net.1" "$network" >/dev/null
}

# The site on 127.0.0.1 with two proxies: a TCP relay on the lab network to the floating address
# (scripts/lab-forwarder.py, no systemd, no SSH), so the laptop's requests follow the address.
ensure_forwarder() {
  local container="$prefix-forwarder" recipe current
  recipe=$(recipe_of "$http_ports" "$vip" "$(sha256sum "$repo_root/scripts/lab-forwarder.py")")
  current=$(docker inspect --format '{{ index .Config.Labels "org.proxylab.recipe" }}' "$container" 2>/dev/null || true)
  if [ "$current" != "$recipe" ]; then
    docker rm -f "$container" >/dev/null 2>&1 || true
    log "creating $container (127.0.0.1:${LAB_HTTP_PORT:-8080} and :${LAB_HTTPS_PORT:-8443} to $vip)"
    docker run -d --name "$container" --hostname forwarder --network "$network" --ip "$net.40" \
      --label org.proxylab.lab="$prefix" --label org.proxylab.recipe="$recipe" --restart unless-stopped \
      -v "$repo_root/scripts/lab-forwarder.py:/usr/local/bin/lab-forwarder.py:ro" \
      -p "127.0.0.1:${LAB_HTTP_PORT:-8080}:8080" -p "127.0.0.1:${LAB_HTTPS_PORT:-8443}:8443" \
      "$image" python3 /usr/local/bin/lab-forwarder.py "8080=$vip:80" "8443=$vip:443" >/dev/null
  fi
  docker start "$container" >/dev/null
}

# Containers of the other LAB_PROXIES setting (switching from 2 proxies back to 1, say).
remove_extra() {
  local name
  for name in proxy2 client forwarder; do
    if [ "$proxies" = 1 ] && docker inspect "$prefix-$name" >/dev/null 2>&1; then
      log "removing $prefix-$name (LAB_PROXIES=1)"
      docker rm -f "$prefix-$name" >/dev/null
    fi
  done
}

ensure_host() {
  local name=$1 address=$2; shift 2
  local container="$prefix-$name" recipe current state publish=()
  recipe=$(recipe_of "$address" "$@")
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
      --network "$network" --network-alias "$name" --ip "$address" \
      --label org.proxylab.lab="$prefix" --label org.proxylab.recipe="$recipe" \
      --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add NET_RAW --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
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
  remove_extra
  local name address ports ssh_port
  while read -r name address ports; do
    # shellcheck disable=SC2086 # ports is a list of -p values
    ensure_host "$name" "$address" $ports
  done < <(hosts)
  [ "$proxies" = 1 ] || ensure_forwarder
  while read -r name address ports; do
    ssh_port=$(echo "$ports" | cut -d' ' -f1 | cut -d: -f2)
    wait_ready "$name" "$ssh_port"
  done < <(hosts)
  # What the Makefile's targets (make failover, make hosts, ...) read to find the lab's inventory.
  echo "$proxies" > "$lab_dir/proxies"
}

down() {
  docker ps -aq --filter "label=org.proxylab.lab=$prefix" | xargs -r docker rm -f >/dev/null
  docker network rm "$network" >/dev/null 2>&1 || true
  rm -f "$lab_dir/proxies"
  log "removed the $prefix containers and network"
}

# The lab address of a host name (app1, proxy, ...), from hosts() above.
address_of() {
  local name address _ports
  while read -r name address _ports; do
    [ "$name" = "$1" ] && { echo "$address"; return 0; }
  done < <(hosts)
  log "no lab host '$1' (known: $(hosts | cut -d' ' -f1 | tr '\n' ' '))"
  return 2
}

power_off() {
  local container="$prefix-$1"
  address_of "$1" >/dev/null
  docker network disconnect --force "$network" "$container" 2>/dev/null || true
  docker kill "$container" >/dev/null 2>&1 || true
  log "$container switched off"
}

power_on() {
  local container="$prefix-$1" address
  address=$(address_of "$1")
  if ! docker inspect --format '{{json .NetworkSettings.Networks}}' "$container" | grep -q "\"$network\""; then
    docker network connect --ip "$address" --alias "$1" "$network" "$container"
  fi
  docker start "$container" >/dev/null
  # Back when it has booted, as a VM is: systemd up (the app's unit started), bounded like wait_ready.
  for _ in $(seq 1 60); do
    case "$(docker exec "$container" systemctl is-system-running 2>/dev/null || true)" in
      running|degraded) log "$container switched on"; return 0 ;;
    esac
    sleep 1
  done
  log "$container: switched on, but systemd did not finish booting within 60 s"
  return 1
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) docker ps -a --filter "label=org.proxylab.lab=$prefix" ;;
  power-off) power_off "${2:?usage: $0 power-off <name>}" ;;
  power-on) power_on "${2:?usage: $0 power-on <name>}" ;;
  *) echo "usage: $0 up|down|status|power-off <name>|power-on <name>" >&2; exit 2 ;;
esac
