#!/usr/bin/env bash
# Runs the multi-host lab scenarios on every stack (called by
# `make multihost-test`):
#   tests/lab/run.sh BUILD_DIR OUT_DIR
#
# A stack is a QEMU and a guest kernel (harness up --qemu/--kernel):
#   default  the system QEMU (Debian 12: 7.2) and Debian 12's 6.1 kernel
#   new      QEMU 10.0 (bookworm-backports) and the 6.12 kernel (bookworm-security)
#   qemu11   QEMU 11 (trixie-backports, from a Debian 13 root) and 6.12
# On each stack every scenario runs on the default cxl2 lab (the fault
# scenarios, marker `faults`, only there; the pcq scenario, marker `pcq`, on cxl2 of
# every stack; the delete scenario, marker `delete`, on cxl2 and nvdimm2
# of the default stack), the smoke test and the two sharing
# scenarios (with their run under the interception library, marker
# `intercept`) also on nvdimm2 and ivshmem2; the new stack adds the volatile
# region lab cxl2v (smoke, sharing, stale metadata, CXL RAS). The qemu11 stack,
# whose CXL window runs at memory speed, runs the CXL labs only. One lab boot
# per (stack, topology). Builds each stack's guest image and fetches its QEMU
# first (both cached); a stack whose parts cannot be had is reported as
# skipped with the reason, and fails the run under CI (CI=true), where they
# must be fetchable.
#
# Writes OUT_DIR/junit-<stack>.xml (all topologies of a stack), keeps each
# lab's run directory (console logs, transcripts, stack.txt) in
# OUT_DIR/<stack>/<topology>/run, prints a verdict per (stack, topology,
# scenario) and ends with "N passed, N failed". Exit status non-zero on any
# failure.
#
# LAB_STACKS selects stacks (default "default new qemu11"); LAB_PLAN overrides
# the plan of every selected stack, e.g. LAB_PLAN="nvdimm2:smoke"
# (topology:marker expression, space separated, "_" for the spaces around
# and/or/not, e.g. "cxl2:smoke_or_host_death"; an empty expression runs
# everything).
set -uo pipefail

[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(realpath "$1")
mkdir -p "$2"
out=$(realpath "$2")
harness=$build/bin/harness
stacks=${LAB_STACKS:-"default new qemu11"}
# Hard stop per topology, far above the expected few minutes.
limit=${LAB_TOPOLOGY_TIMEOUT:-1500}

declare -A qemu_of=([default]=system [new]=10 [qemu11]=11)
declare -A kernel_of=([default]=6.1 [new]=6.12 [qemu11]=6.12)
# The interception scenario (intercept) runs wherever the sharing ones do;
# the delete scenario (delete) on the default stack's cxl2 and nvdimm2 (an
# empty expression runs every scenario).
sharing="smoke_or_sharing_or_intercept"
declare -A plan_of=(
    [default]="cxl2: nvdimm2:${sharing}_or_delete ivshmem2:$sharing"
    [new]="cxl2:not_delete nvdimm2:$sharing ivshmem2:$sharing cxl2v:${sharing}_or_stale_or_cxlras"
    [qemu11]="cxl2:smoke_or_sharing_or_intercept_or_stale_or_cxlras_or_pcq cxl2v:smoke_or_sharing_or_intercept_or_cxlras"
)

if [ ! -x "$harness" ]; then
    echo "run.sh: $harness missing (make build)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
if [ ! -x "$build/bin/famfs" ]; then
    echo "run.sh: WARNING: $build/bin/famfs is not built: the famfs scenarios will be SKIPPED" >&2
fi

# Fetches a stack's QEMU and builds its guest image; prints the reason on failure.
prepare_stack() {
    local stack=$1 log=$out/$1/prepare.log
    mkdir -p "$out/$stack"
    if ! "$repo/vm-images/qemu.sh" "${qemu_of[$stack]}" >"$log" 2>&1; then
        echo "QEMU '${qemu_of[$stack]}' cannot be had: $(tail -n1 "$log")"
        return 1
    fi
    if ! "$repo/vm-images/build.sh" "$build" "${kernel_of[$stack]}" >>"$log" 2>&1; then
        echo "the ${kernel_of[$stack]} guest image cannot be built: $(tail -n1 "$log")"
        return 1
    fi
}

run_topology() {
    local stack=$1 entry=$2 topo marks dir
    topo=${entry%%:*}
    marks=${entry#*:}
    # "_" stands for a space only around the operators, so that markers
    # with an underscore in their name (host_death) can be selected.
    marks=${marks//_or_/ or }
    marks=${marks//_and_/ and }
    marks=${marks//_not_/ not }
    [[ $marks == not_* ]] && marks="not ${marks#not_}"
    dir=$out/$stack/$topo
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "=== $stack/$topo${marks:+ ($marks)}: QEMU ${qemu_of[$stack]}, kernel ${kernel_of[$stack]} ==="
    local t0
    t0=$(date +%s)
    timeout --signal=INT --kill-after=120 "$limit" \
        /usr/bin/python3 -m pytest "$here" -c "$here/pytest.ini" --rootdir "$here" \
        -p no:cacheprovider -v -rfEs \
        --topology "$topo" --qemu "${qemu_of[$stack]}" --kernel "${kernel_of[$stack]}" \
        --build-dir "$build" --run-dir "$dir/run" \
        ${marks:+-m "$marks"} \
        --junitxml "$dir/junit.xml" -o junit_suite_name="lab-$stack-$topo" \
        2>&1 | tee "$dir/pytest.log"
    # Safety net: a killed pytest cannot run its teardown.
    "$harness" --run-dir "$dir/run" down >/dev/null 2>&1 || true
    echo "=== $stack/$topo took $(( $(date +%s) - t0 )) s ==="
}

start=$(date +%s)
results=()
for stack in $stacks; do
    if [ -z "${qemu_of[$stack]:-}" ]; then
        echo "run.sh: unknown stack '$stack' (default, new, qemu11)" >&2
        results+=("$stack=error:unknown stack")
        continue
    fi
    if ! reason=$(prepare_stack "$stack"); then
        echo "=== stack $stack SKIPPED: $reason ==="
        results+=("$stack=skipped:$reason")
        continue
    fi
    plan=${LAB_PLAN:-${plan_of[$stack]}}
    for entry in $plan; do run_topology "$stack" "$entry"; done
    results+=("$stack=ran:$plan")
done

echo "=== verdicts (total $(( $(date +%s) - start )) s) ==="
/usr/bin/python3 "$here/summarize.py" "$out" "${results[@]}"
