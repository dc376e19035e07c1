#!/usr/bin/env bash
# Run every molecule scenario (`molecule test -s <name>`), in two lanes at once: node_app, the
# longest, in one, the others one after the other in the second. Much of a scenario's time is spent
# waiting (package downloads, health gates, load windows), so two lanes finish well before one.
# Each scenario's output goes to .cache/molecule/<name>.log and is printed when the scenario ends;
# the exit status is non-zero when any scenario failed.
set -uo pipefail
cd "$(dirname "$0")/.."

logs=.cache/molecule
mkdir -p "$logs"
: >"$logs/summary"
first_lane=(node_app)
second_lane=()
for dir in molecule/*/; do
  name=$(basename "$dir")
  [ -f "$dir/molecule.yml" ] || continue
  [[ " ${first_lane[*]} " == *" $name "* ]] || second_lane+=("$name")
done

run_lane() {
  local status=0 name started
  for name in "$@"; do
    started=$SECONDS
    if molecule test -s "$name" >"$logs/$name.log" 2>&1; then
      result=passed
    else
      result=FAILED
      status=1
    fi
    # One block per scenario, so the two lanes' outputs do not interleave.
    {
      printf '\n===== molecule scenario %s: %s in %d s =====\n' "$name" "$result" $((SECONDS - started))
      cat "$logs/$name.log"
      printf '===== end of molecule scenario %s: %s =====\n' "$name" "$result"
    } | flock "$logs/.print" cat
    printf 'molecule: %-12s %s in %d s\n' "$name" "$result" $((SECONDS - started)) >>"$logs/summary"
  done
  return $status
}

echo "molecule: lane 1: ${first_lane[*]}; lane 2: ${second_lane[*]} (logs in $logs/)"
run_lane "${first_lane[@]}" &
lane1=$!
run_lane "${second_lane[@]}" &
lane2=$!
status=0
wait "$lane1" || status=1
wait "$lane2" || status=1
cat "$logs/summary"
exit $status
