#!/usr/bin/env bash
# Make sure a headless Chromium is there for the report tests (tests/test_report_browser.py) and for
# the report screenshots (scripts/headless.py), and print its path. Uses $CHROMIUM when set, else a
# Chromium or Chrome on PATH; otherwise, on a Debian or Ubuntu host, installs Debian's `chromium`
# package with apt-get (as root, or through `sudo -n` as CI's runner user).
#
#   scripts/chromium.sh          # `make chromium`, which `make pytest` and `make test` run first
set -euo pipefail

log() { printf 'chromium: %s\n' "$*" >&2; }

find_browser() {
  local name
  if [ -n "${CHROMIUM:-}" ]; then
    command -v "$CHROMIUM" && return 0
    log "CHROMIUM=$CHROMIUM is not an executable"
    return 1
  fi
  for name in chromium chromium-browser google-chrome-stable google-chrome; do
    # Ubuntu's chromium-browser package is a stub that asks for the snap: it does not count.
    if command -v "$name" >/dev/null 2>&1 && "$name" --version >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

if find_browser; then
  exit 0
fi
[ -z "${CHROMIUM:-}" ] || exit 1

if ! command -v apt-get >/dev/null 2>&1; then
  log "no Chromium found and this is not a Debian/Ubuntu host: install Chromium or Chrome, or set CHROMIUM=<path>"
  exit 1
fi
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  log "no Chromium found; install it as root: apt-get install chromium (or set CHROMIUM=<path>)"
  exit 1
fi

log "installing Debian's chromium package"
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq)
"${apt[@]}" install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 \
  || { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
find_browser || { log "chromium was installed but does not start"; exit 1; }
