#!/bin/sh
# make-git-repo.sh BARE_REPO TAG:DIR...: a bare repository with one commit per TAG:DIR, in order, on
# branch master, each holding DIR's contents (without node_modules and build) and tagged TAG.
set -eu
bare=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git init -q -b master "$work"
for pair in "$@"; do
  tag=${pair%%:*} dir=${pair#*:}
  find "$work" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
  tar -C "$dir" --exclude=./node_modules --exclude=./build -cf - . | tar -C "$work" -xf -
  git -C "$work" add -A
  git -C "$work" -c user.name=molecule -c user.email=molecule@localhost commit -q -m "fixture $tag"
  git -C "$work" tag "$tag"
done
mkdir -p "$(dirname "$bare")"
git clone -q --bare "$work" "$bare"
