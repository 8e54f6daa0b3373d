"""Prints one verdict per (stack, topology, scenario) from the JUnit files of
tests/lab/run.sh, merges each stack's files into OUT/junit-<stack>.xml and
prints the closing 'N passed, N failed' line; exits 1 on any failure.

Arguments: OUT_DIR, then one STACK=ran:PLAN or STACK=skipped:REASON per stack.
A planned topology without a JUnit file (pytest crashed or was killed)
counts as failed; so does a skipped stack under CI (CI=true), where every
stack's parts must be fetchable."""

import os
import sys
import xml.etree.ElementTree as ET


def verdicts(suite, label):
    for case in suite.iter("testcase"):
        name = f"{label}: {case.get('classname', '')}::{case.get('name')}"
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            yield "FAIL", name
        elif "skipped" in tags:
            yield "SKIP", name
        else:
            yield "PASS", name


def suites_of(path):
    root = ET.parse(path).getroot()
    return [root] if root.tag == "testsuite" else list(root.iter("testsuite"))


def main(out_dir, results):
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    in_ci = os.environ.get("CI") == "true"
    for result in results:
        stack, _, rest = result.partition("=")
        status, _, detail = rest.partition(":")
        if status != "ran":
            verdict = "FAIL" if in_ci or status == "error" else "SKIP"
            print(f"{verdict}  {stack}: stack {status}: {detail}")
            counts[verdict] += 1
            continue
        merged = ET.Element("testsuites", name=f"lab-{stack}")
        for entry in detail.split():
            topology = entry.split(":", 1)[0]
            path = os.path.join(out_dir, stack, topology, "junit.xml")
            if not os.path.exists(path):
                print(f"FAIL  {stack}/{topology}: no results (pytest did not finish)")
                counts["FAIL"] += 1
                continue
            for suite in suites_of(path):
                merged.append(suite)
                for verdict, name in verdicts(suite, f"{stack}/{topology}"):
                    print(f"{verdict}  {name}")
                    counts[verdict] += 1
        ET.ElementTree(merged).write(os.path.join(out_dir, f"junit-{stack}.xml"),
                                     encoding="utf-8", xml_declaration=True)
    line = f"{counts['PASS']} passed, {counts['FAIL']} failed"
    if counts["SKIP"]:
        line += f", {counts['SKIP']} skipped"
    print(line)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
