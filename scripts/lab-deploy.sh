#!/usr/bin/env bash
# Deploy the web stack into the running lab (`make lab` calls this after scripts/lab.sh up).
#
# Which app is deployed:
#   APP_SRC=<dir>   a local checkout, copied to the app servers (node_app_src)
#   otherwise       dumbflix-frontend from its git repository (the role's default), when the lab
#                   hosts can reach it; when they cannot (an offline machine), the bundled demo app,
#                   labelled as the demo on its page and here, so the lab still works.
# APP_MODE=static   build the app and serve the build (node_app_mode; default: start, the dev server)
# LAB_DOMAIN=<name> the site's domain (nginx_proxy_domain; default: dumbflix.lab)
#
# The choice is written to the lab's inventory (inventories/lab/group_vars/lab/deployed.yml, not in
# git), so a plain `ansible-playbook site.yml -i inventories/lab`, `make rollback`, `make hosts`
# and `make failover` all work on what `make lab` deployed, online or offline.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"
prefix=${LAB_PREFIX:-webstack-lab}
repo_url=${APP_REPO:-https://github.com/dumbwaysdev/dumbflix-frontend.git}
demo_src="$repo_root/tests/fixtures/hello-app"
domain=${LAB_DOMAIN:-dumbflix.lab}
http_port=${LAB_HTTP_PORT:-8080}
deployed=inventories/lab/group_vars/lab/deployed.yml
log() { printf 'lab: %s\n' "$*" >&2; }

if [ -n "${APP_SRC:-}" ]; then
  if [ ! -f "${APP_SRC}/package.json" ]; then
    log "APP_SRC=${APP_SRC} is not a Node.js app (no package.json there)"
    exit 1
  fi
  app_src=$(cd "$APP_SRC" && pwd)
  lab_vars=(node_app_src "$app_src")
  what="your local checkout $app_src"
elif docker exec "$prefix-app1" curl -sSf --max-time 10 -o /dev/null \
    "$repo_url/info/refs?service=git-upload-pack" 2>/dev/null; then
  lab_vars=(node_app_repo "$repo_url")
  what="dumbflix-frontend from $repo_url"
else
  log "$repo_url cannot be reached from the lab hosts (is this machine offline?)."
  log "Deploying the bundled DEMO app ($demo_src) instead; use APP_SRC=<dir> to deploy a checkout of your own."
  banner="proxylab demo app: $repo_url could not be reached, so the lab serves this demo instead"
  lab_vars=(node_app_src "$demo_src" node_app_env.APP_BANNER "$banner")
  what="the bundled DEMO app (not dumbflix-frontend)"
fi

if [ -n "${APP_MODE:-}" ]; then
  lab_vars+=(node_app_mode "$APP_MODE")
fi
lab_vars+=(nginx_proxy_domain "$domain")

# YAML written by Python (PyYAML comes with Ansible), so any path or banner is quoted right.
python3 - "$deployed" "${lab_vars[@]}" <<'PY'
import sys
import yaml

path, pairs = sys.argv[1], sys.argv[2:]
values = {}
for name, value in zip(pairs[::2], pairs[1::2]):
    *parents, leaf = name.split(".")
    target = values
    for parent in parents:
        target = target.setdefault(parent, {})
    target[leaf] = value
with open(path, "w") as out:
    out.write("---\n# Written by `make lab` (scripts/lab-deploy.sh): what the lab deploys. Not in git.\n")
    yaml.safe_dump(values, out, default_flow_style=False, sort_keys=True)
PY
log "what the lab deploys is recorded in $deployed"

inventory=(-i inventories/lab)
if [ "${LAB_PROXIES:-1}" = 2 ]; then
  # Two proxies behind the floating address, and the client VM (scripts/lab.sh up made them).
  inventory+=(-i inventories/lab-ha)
fi
ansible-playbook site.yml "${inventory[@]}"

cat <<MSG

The lab serves $what at http://$domain:$http_port/
  curl -H 'Host: $domain' http://127.0.0.1:$http_port/
  in a browser: run \`make hosts\` once (adds "127.0.0.1 $domain" to /etc/hosts), then open http://$domain:$http_port/
  \`make failover\` switches the app servers off in turn and shows that the site keeps serving.
MSG
if [ "${LAB_PROXIES:-1}" = 2 ]; then
  cat <<MSG
  Two proxies share the floating address ${LAB_NET:-10.213.48}.200; 127.0.0.1:$http_port reaches it through the
  lab's forwarder. \`make failover\` also stops the holder's nginx, then switches the holder off.
MSG
fi
