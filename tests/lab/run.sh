#!/usr/bin/env bash
# Runs the multi-host lab scenarios (called by `make multihost-test`):
#   tests/lab/run.sh BUILD_DIR OUT_DIR
# Every scenario on the default cxl2 lab (the fault scenarios, marker
# `faults`, only there); the smoke test and the two sharing scenarios also on
# nvdimm2 and ivshmem2. One lab boot per topology. Writes
# OUT_DIR/junit-<topology>.xml, keeps each lab's run directory (console logs,
# transcripts) in OUT_DIR/<topology>/run, prints a verdict per scenario and
# ends with "N passed, N failed". Exit status non-zero on any failure.
#
# LAB_PLAN overrides the plan, e.g. LAB_PLAN="nvdimm2:smoke" (topology:marker
# expression, space separated; an empty expression runs everything).
set -uo pipefail

[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(realpath "$1")
mkdir -p "$2"
out=$(realpath "$2")
harness=$build/bin/harness
plan=${LAB_PLAN:-"cxl2: nvdimm2:smoke_or_sharing ivshmem2:smoke_or_sharing"}
# Hard stop per topology, far above the expected few minutes.
limit=${LAB_TOPOLOGY_TIMEOUT:-1500}

if [ ! -x "$harness" ]; then
    echo "run.sh: $harness missing (make build)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
if [ ! -x "$build/bin/famfs" ]; then
    echo "run.sh: WARNING: $build/bin/famfs is not built: the famfs scenarios will be SKIPPED" >&2
fi

rm -f "$out"/junit-*.xml
start=$(date +%s)
for entry in $plan; do
    topo=${entry%%:*}
    marks=${entry#*:}
    marks=${marks//_/ }
    rm -rf "$out/$topo"
    mkdir -p "$out/$topo"
    echo "=== lab $topo${marks:+ ($marks)} ==="
    t0=$(date +%s)
    timeout --signal=INT --kill-after=120 "$limit" \
        /usr/bin/python3 -m pytest "$here" -c "$here/pytest.ini" --rootdir "$here" \
        -p no:cacheprovider -v -rfEs \
        --topology "$topo" --build-dir "$build" --run-dir "$out/$topo/run" \
        ${marks:+-m "$marks"} \
        --junitxml "$out/junit-$topo.xml" -o junit_suite_name="lab-$topo" \
        2>&1 | tee "$out/$topo/pytest.log"
    # Safety net: a killed pytest cannot run its teardown.
    "$harness" --run-dir "$out/$topo/run" down >/dev/null 2>&1 || true
    echo "=== lab $topo took $(( $(date +%s) - t0 )) s ==="
done

echo "=== verdicts (total $(( $(date +%s) - start )) s) ==="
/usr/bin/python3 "$here/summarize.py" "$out" $plan
