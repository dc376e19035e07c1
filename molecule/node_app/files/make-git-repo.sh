#!/bin/sh
# make-git-repo.sh BARE_REPO V1_DIR V2_DIR: a bare repository whose tags v1.0.0 and v2.0.0 hold
# the two directories' contents (without node_modules and build), one commit each, on branch master.
set -eu
bare=$1 v1=$2 v2=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git init -q -b master "$work"
for pair in "v1.0.0:$v1" "v2.0.0:$v2"; do
  tag=${pair%%:*} dir=${pair#*:}
  find "$work" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
  tar -C "$dir" --exclude=node_modules --exclude=build -cf - . | tar -C "$work" -xf -
  git -C "$work" add -A
  git -C "$work" -c user.name=molecule -c user.email=molecule@localhost commit -q -m "hello-app $tag"
  git -C "$work" tag "$tag"
done
mkdir -p "$(dirname "$bare")"
git clone -q --bare "$work" "$bare"
