#!/usr/bin/env bash
# Run test jobs in lanes at once: each argument is one lane, a space-separated list of jobs run one
# after the other; a job is a molecule scenario (`molecule test -s <name>`), `pytest` (`pytest -v
# tests`), `pytest:<file>` (that test file alone, left out of `pytest`) or `collection`
# (scripts/collection-checks.sh: Galaxy's importer and ansible-test sanity
# on the built collection). Without arguments: every molecule scenario, node_app (the longest) in
# one lane, the others in a second. Much of a scenario's time is spent waiting (package downloads,
# health gates, load windows), so lanes at once finish well before one.
#
#   scripts/test-lanes.sh                                   # every molecule scenario
#   scripts/test-lanes.sh "node_app" "default collection" "nginx_proxy pytest"
#
# Each job's output goes to .cache/test-lanes/<job>.log and is printed, in one block, when the job
# ends; the exit status is non-zero when any job failed.
set -uo pipefail
cd "$(dirname "$0")/.."

logs=.cache/test-lanes
mkdir -p "$logs"
: >"$logs/summary"

lanes=("$@")
if [ ${#lanes[@]} -eq 0 ]; then
  others=()
  for dir in molecule/*/; do
    name=$(basename "$dir")
    [ -f "$dir/molecule.yml" ] && [ "$name" != node_app ] && others+=("$name")
  done
  lanes=("node_app" "${others[*]}")
fi
# A scenario that no lane names still runs: it joins the last lane.
for dir in molecule/*/; do
  name=$(basename "$dir")
  [ -f "$dir/molecule.yml" ] || continue
  [[ " ${lanes[*]} " == *" $name "* ]] || lanes[-1]+=" $name"
done

# pytest:<file> runs one test file as a job of its own (a long one, in a shorter lane); `pytest`
# runs every other test file.
own_files=()
for job in ${lanes[*]}; do
  [[ $job == pytest:* ]] && own_files+=("--ignore=${job#pytest:}")
done

run_job() {
  case $1 in
    pytest) pytest -v --durations=15 "${own_files[@]}" tests ;;
    pytest:*) pytest -v --durations=15 "${1#pytest:}" ;;
    collection) scripts/collection-checks.sh ;;
    *) molecule test -s "$1" ;;
  esac
}

# A job's log: .cache/test-lanes/<job>.log, with / and : as _ (pytest:tests/x.py -> pytest_tests_x.py.log).
log_of() { local name=${1//\//_}; echo "$logs/${name//:/_}.log"; }

run_lane() {
  local status=0 job started result
  for job in $1; do
    started=$SECONDS
    if run_job "$job" >"$(log_of "$job")" 2>&1; then result=passed; else result=FAILED; status=1; fi
    {
      printf '\n===== %s: %s in %d s =====\n' "$job" "$result" $((SECONDS - started))
      cat "$(log_of "$job")"
      printf '===== end of %s: %s =====\n' "$job" "$result"
    } | flock "$logs/.print" cat
    printf 'test-lanes: %-12s %s in %d s\n' "$job" "$result" $((SECONDS - started)) >>"$logs/summary"
  done
  return $status
}

pids=()
for lane in "${lanes[@]}"; do
  echo "test-lanes: lane: $lane (logs in $logs/)"
  run_lane "$lane" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
# CI shows the end of the output: repeat the first lines that say why a job failed (the cause comes
# before its consequences), each with the two after it (molecule wraps a long message), then the
# summary.
while read -r _ job result _; do
  [ "$result" = FAILED ] || continue
  echo "test-lanes: why $job failed (the whole log: $(log_of "$job")):"
  grep -m 3 -A2 -E '^(E |FAILED |ERROR )|\[ERROR\]|fatal:|CRITICAL' "$(log_of "$job")"
done <"$logs/summary"
cat "$logs/summary"
exit $status
