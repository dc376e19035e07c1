#!/usr/bin/env bash
# Build the execution environment (EE) of proxylab.webstack, as execution-environment.yml defines it,
# with ansible-builder and docker, without any Galaxy server or image registry:
#
#   1. stage into .cache/ee/collections what the EE's galaxy stage installs: the collection's tarball
#      (`ansible-galaxy collection build` of the checkout, or the tarball given) and, as directories,
#      the collections it depends on (galaxy.yml's dependencies and theirs) copied from the `ansible`
#      bundle of the project's virtualenv, at the versions CI tests with;
#   2. make sure the base image is there (proxylab/debian:12: scripts/build-images.sh bookworm, which
#      does nothing when the image is up to date);
#   3. `ansible-builder build` into an image tagged proxylab-webstack-ee:<version of galaxy.yml>, or
#      `ansible-builder create`: the build context only (.cache/ee/context), no image.
#
#   scripts/ee.sh build [TARBALL]     `make ee` runs this
#   scripts/ee.sh create [TARBALL]
#
# Settings (environment):
#   EE_TAG         name:tag of the image                      (proxylab-webstack-ee:<version>)
#   EE_BASE_IMAGE  a Debian-family image with python3, apt-get (the one execution-environment.yml names)
#   VENV_BIN       the virtualenv with ansible-builder and the `ansible` bundle   (.venv/bin)
#
# ansible-builder's output goes to .cache/ee/build.log, printed when the build fails.
set -euo pipefail
action=${1:-}
given=${2:+$(realpath "$2")}
cd "$(dirname "$0")/.."
repo=$PWD

case "$action" in
  build|create) ;;
  *) echo "usage: $0 build|create [TARBALL]" >&2; exit 2 ;;
esac

log() { printf 'ee: %s\n' "$*" >&2; }

venv_bin=${VENV_BIN:-$repo/.venv/bin}
export PATH="$venv_bin:$PATH"
if ! "$venv_bin/python" -c 'import ansible_builder, ansible_collections' 2>/dev/null; then
  log "$venv_bin/python lacks ansible-builder or the ansible bundle; run \`make venv\`"
  exit 1
fi

version=$(sed -n 's/^version: *//p' galaxy.yml)
tag=${EE_TAG:-proxylab-webstack-ee:$version}
work=$repo/.cache/ee
mkdir -p "$work"

# Two builds from one checkout would stage into the same directory: one at a time, waiting 20 minutes at most.
exec 9>"$work/.lock"
flock -w 1200 9 || { log "another scripts/ee.sh holds $work/.lock for more than 20 minutes"; exit 1; }

# 1. The collections. execution-environment.yml names this directory (additional_build_files).
staged=$work/collections
rm -rf "$staged"
mkdir -p "$staged"
if [ -n "$given" ]; then
  cp "$given" "$staged/"
else
  ansible-galaxy collection build --output-path "$staged" . >/dev/null
fi
"$venv_bin/python" - "$staged" <<'PY'
"""Copy the collections galaxy.yml depends on, and theirs, from the `ansible` bundle into the staging
directory, one directory per collection: ansible-galaxy installs a directory with a MANIFEST.json as
it is (the bundle's copies lack some files their FILES.json names, so they cannot be packed again
as tarballs)."""
import json
import pathlib
import shutil
import sys

import ansible_collections
import yaml

staged = pathlib.Path(sys.argv[1])
roots = [pathlib.Path(path) for path in ansible_collections.__path__]
wanted = list(yaml.safe_load(open("galaxy.yml"))["dependencies"])
done = set()
while wanted:
    name = wanted.pop(0)
    if name in done:
        continue
    done.add(name)
    namespace, collection = name.split(".")
    source = next((root / namespace / collection for root in roots
                   if (root / namespace / collection / "MANIFEST.json").is_file()), None)
    if source is None:
        sys.exit(f"ee: {name} (a dependency) is not in the ansible bundle of {sys.executable}; run `make venv`")
    info = json.loads((source / "MANIFEST.json").read_text())["collection_info"]
    shutil.copytree(source, staged / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    print(f"ee: staged {name} {info['version']} from {source}", file=sys.stderr)
    wanted.extend(info.get("dependencies") or {})
PY
log "staged $(basename "$staged"/proxylab-webstack-*.tar.gz) and its dependencies in $staged"

# 2. The base image.
base=${EE_BASE_IMAGE:-$("$venv_bin/python" -c 'import yaml; print(yaml.safe_load(open("execution-environment.yml"))["images"]["base_image"]["name"])')}
if [ "$action" = build ]; then
  if [ "$base" = proxylab/debian:12 ]; then
    scripts/build-images.sh bookworm
  else
    scripts/docker-engine.sh
  fi
fi

# 3. ansible-builder.
args=(--file execution-environment.yml --context "$work/context")
rm -rf "$work/context"
if [ "$action" = create ]; then
  ansible-builder create "${args[@]}" --output-filename Dockerfile >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }
  log "build context in $work/context"
  exit 0
fi
args+=(--container-runtime docker --tag "$tag" --verbosity 3)
[ -z "${EE_BASE_IMAGE:-}" ] || args+=(--build-arg "EE_BASE_IMAGE=$EE_BASE_IMAGE")
log "building $tag from $base (log: $work/build.log)"
started=$SECONDS
ansible-builder build "${args[@]}" >"$work/build.log" 2>&1 \
  || { tail -n 60 "$work/build.log"; log "ansible-builder build failed (whole log: $work/build.log)"; exit 1; }
size=$(docker image inspect --format '{{.Size}}' "$tag")
log "built $tag in $((SECONDS - started)) s: $((size / 1000000)) MB"
