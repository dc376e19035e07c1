#!/usr/bin/env bash
# The checks Galaxy and Ansible's own tooling run on a collection, run on the artifact users get:
#
#   1. build the collection tarball (ansible-galaxy collection build), as `make build` and a release do,
#      or take the one given as argument;
#   2. install it with `ansible-galaxy collection install --offline`, which resolves the dependencies
#      galaxy.yml declares against the collections installed here (the `ansible` bundle in .venv):
#      a dependency that is missing or too old stops the run here;
#   3. run Galaxy's importer on the tarball (`python -m galaxy_importer.main`, PyPI galaxy-importer,
#      the version pinned in requirements.txt and used by the release workflow) with its ansible-doc,
#      changelog and ansible-lint (production profile) checks on; any WARNING or ERROR it reports fails;
#   4. run `ansible-test sanity` on the installed copy, every test in its own virtual environment
#      (--venv), with no ignore files; a test skipped for any reason but "no file it applies to" fails.
#
#   scripts/collection-checks.sh                              # `make collection-check` runs this
#   scripts/collection-checks.sh proxylab-webstack-0.1.0.tar.gz   # check a tarball already built
#   KEEP=1 scripts/collection-checks.sh                       # keep the temporary tree (path printed)
#   VENV_BIN=/path/to/venv/bin scripts/collection-checks.sh   # another virtualenv than .venv
#
# Each step's output goes to .cache/collection-checks/<step>.log, printed when the step fails.
set -euo pipefail
given=${1:+$(realpath "$1")}
cd "$(dirname "$0")/.."
repo=$PWD

# The project's virtualenv (make venv): the importer calls ansible-doc and ansible-lint by name, so
# they must be the pinned ones beside it; the collections of its `ansible` bundle are the installed
# dependencies the artifact is checked against.
venv_bin=${VENV_BIN:-$repo/.venv/bin}
export PATH="$venv_bin:$PATH"
if ! "$venv_bin/python" -c 'import galaxy_importer, ansible_test' 2>/dev/null; then
  echo "collection-checks: $venv_bin/python lacks galaxy-importer or ansible-test; run \`make venv\`" >&2
  exit 1
fi
python_version=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

logs=$repo/.cache/collection-checks
rm -rf "$logs"
mkdir -p "$logs"
# Outside the checkout on purpose: ansible-lint (in the importer) looks upwards for a config file and
# ansible-test for a git repository; inside the checkout they would find ours, not the artifact's.
work=$(mktemp -d "${TMPDIR:-/tmp}/proxylab-collection-checks.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then
  echo "collection-checks: keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi

# Not the checkout's ansible.cfg (its collections path is the checkout, its roles path ./roles):
# the artifact is checked as it is used after an install, with Ansible's defaults.
printf '[defaults]\n' >"$work/ansible.cfg"
export ANSIBLE_CONFIG=$work/ansible.cfg
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS ANSIBLE_ROLES_PATH

step() {  # step NAME COMMAND...: run COMMAND (a function or a program), its output in $logs/NAME.log
  local name=$1 started=$SECONDS
  shift
  echo "collection-checks: $name ..."
  if ! "$@" >"$logs/$name.log" 2>&1; then
    cat "$logs/$name.log"
    echo "collection-checks: $name FAILED after $((SECONDS - started)) s (log: $logs/$name.log)" >&2
    exit 1
  fi
  echo "collection-checks: $name passed in $((SECONDS - started)) s"
}

# 1. The artifact.
if [ -n "$given" ]; then
  step artifact cp "$given" "$work/"
else
  step artifact ansible-galaxy collection build --output-path "$work" "$repo"
fi
tarball=$(echo "$work"/proxylab-webstack-*.tar.gz)

# 2. Installed as a user installs it; ansible-test sanity runs on this copy.
step install ansible-galaxy collection install --offline -p "$work/collections" "$tarball"
installed=$work/collections/ansible_collections/proxylab/webstack

# 3. Galaxy's importer. Its settings come from a config file (the environment variable
# GALAXY_IMPORTER_CONFIG names one ahead of /etc/galaxy-importer/galaxy-importer.cfg) and from
# GALAXY_IMPORTER_<SETTING> variables; ours spells out Galaxy's defaults and the variables are
# cleared, so that nothing on a machine turns a check off. run_ansible_test is the importer's own
# ansible-test run in a container (not possible here): step 4 runs ansible-test sanity instead.
cat >"$work/galaxy-importer.cfg" <<'CFG'
[galaxy-importer]
log_level_main = INFO
run_ansible_doc = True
check_changelog = True
run_ansible_lint = True
offline_ansible_lint = True
run_ansible_test = False
CFG
importer() {
  local setting output=$work/importer.out
  for setting in $(compgen -e | grep '^GALAXY_IMPORTER_' || true); do unset "$setting"; done
  # It writes importer_result.json into the current directory: $work.
  (cd "$work" && GALAXY_IMPORTER_CONFIG=$work/galaxy-importer.cfg python -m galaxy_importer.main "$tarball") \
    >"$output" 2>&1 || { cat "$output"; return 1; }
  cat "$output"
  # The importer exits 0 on warnings and on errors that do not stop an import (an ansible-lint
  # finding, a plugin whose documentation ansible-doc cannot read); Galaxy shows every one. It
  # prints INFO lines bare, the others as "LEVEL: message".
  if grep -qE '^(WARNING|ERROR|CRITICAL):' "$output"; then
    echo "collection-checks: the importer reported:"
    grep -E '^(WARNING|ERROR|CRITICAL):' "$output"
    return 1
  fi
  grep -qx 'Importer processing completed successfully' "$output" || {
    echo "collection-checks: the importer did not complete"
    return 1
  }
}
step importer importer

# 4. ansible-test sanity. With --venv, ansible-test makes a virtual environment per test and
# bootstraps pip into each with pip's get-pip.py, which it downloads from a host outside PyPI unless
# ~/.ansible/test/cache/get_pip_<version>.py is there. We put one there: a stand-in doing what
# get-pip.py does (the pip of a wheel runs `pip install --upgrade --force-reinstall ARGS`; it knows
# --no-setuptools and --no-wheel), with the wheel of that very pip release, from PyPI, beside it.
# A get_pip file that is not ours (a real get-pip.py someone saved there) is left as it is.
get_pip() {
  local version cache script wheel
  # The pip release ansible-test bootstraps (its get_venv_packages).
  version=$(python -c 'import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))["pip"])' "$python_version") || return 1
  cache=$HOME/.ansible/test/cache
  script=$cache/get_pip_${version//./_}.py
  wheel=pip-$version-py3-none-any.whl
  mkdir -p "$cache"
  if [ -f "$script" ] && ! grep -q 'proxylab.webstack scripts/collection-checks.sh' "$script"; then
    echo "using $script as it is (not written by scripts/collection-checks.sh)"
    return
  fi
  [ -f "$cache/$wheel" ] || python -m pip download --no-deps --only-binary :all: --dest "$cache" "pip==$version"
  [ -f "$cache/$wheel" ] || { echo "pip download did not give $cache/$wheel"; return 1; }
  cat >"$script.tmp" <<PY
# Stand-in for get-pip.py (pip $version) for ansible-test, written by proxylab.webstack scripts/collection-checks.sh.
# Like get-pip.py it runs the pip of a wheel (here $wheel from PyPI, beside this file) as
# \`pip install --upgrade --force-reinstall ARGS\`, adding setuptools and wheel unless given
# --no-setuptools / --no-wheel (ansible-test always gives both).
import os
import subprocess
import sys

wheel = os.path.join(os.path.dirname(os.path.abspath(__file__)), "$wheel")
if not os.path.isfile(wheel):
    sys.exit("%s is missing; scripts/collection-checks.sh of proxylab.webstack downloads it again" % wheel)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
args += [name for name in ("setuptools", "wheel") if "--no-" + name not in sys.argv[1:]]
sys.exit(subprocess.call([sys.executable, os.path.join(wheel, "pip"), "install", "--upgrade", "--force-reinstall"] + args))
PY
  mv "$script.tmp" "$script" || return 1
  echo "wrote $script (pip $version: $cache/$wheel)"
}
step get-pip get_pip

sanity() {
  local output=$work/sanity.out
  (cd "$installed" && ansible-test sanity --venv --python "$python_version" --color no --junit) \
    >"$output" 2>&1 || { cat "$output"; return 1; }
  cat "$output"
  # A test whose tool is missing (shellcheck, pwsh) is skipped with only this warning, and its JUnit
  # file then says "No tests applicable." as for a test with nothing to check.
  if grep -E '^WARNING: Required program' "$output"; then
    echo "collection-checks: a sanity test could not run its tool (above)"
    return 1
  fi
  # Each test writes a JUnit file, a skipped one with the reason. "No tests applicable." is a test
  # with no file of its kind in the collection (no PowerShell for pslint, no .sh for shellcheck, ...);
  # any other reason (a Python or libyaml missing) means the test did not run: that fails.
  python - "$installed/tests/output/junit" <<'PY'
import pathlib
import sys
import xml.etree.ElementTree as ET

ran, not_applicable, skipped = [], [], []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    for case in ET.parse(path).iter("testcase"):
        skip = case.find("skipped")
        if skip is None:
            ran.append(case.get("name"))
        elif (skip.text or "").strip() == "No tests applicable.":
            not_applicable.append(case.get("name"))
        else:
            skipped.append(f"{case.get('name')}: {skip.text}")
print(f"collection-checks: sanity tests run: {len(ran)} ({' '.join(ran)})")
print(f"collection-checks: sanity tests with no file to check: {len(not_applicable)} ({' '.join(not_applicable)})")
if skipped or not ran:
    print("collection-checks: sanity tests skipped:", *skipped, sep="\n  ")
    sys.exit(1)
PY
}
step sanity sanity
grep '^collection-checks: sanity tests' "$logs/sanity.log"
echo "collection-checks: the artifact passed Galaxy's importer and ansible-test sanity"
