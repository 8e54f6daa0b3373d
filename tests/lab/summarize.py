"""Prints one verdict per scenario from the JUnit files of tests/lab/run.sh
and the closing 'N passed, N failed' line; exits 1 on any failure. A planned
topology without a JUnit file (pytest crashed or was killed) counts as failed."""

import os
import sys
import xml.etree.ElementTree as ET


def verdicts(path, topology):
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{topology}: {case.get('classname', '')}::{case.get('name')}"
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            yield "FAIL", name
        elif "skipped" in tags:
            yield "SKIP", name
        else:
            yield "PASS", name


def main(out_dir, plan):
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for entry in plan:
        topology = entry.split(":", 1)[0]
        path = os.path.join(out_dir, f"junit-{topology}.xml")
        if not os.path.exists(path):
            print(f"FAIL  {topology}: no results (pytest did not finish)")
            counts["FAIL"] += 1
            continue
        for verdict, name in verdicts(path, topology):
            print(f"{verdict}  {name}")
            counts[verdict] += 1
    line = f"{counts['PASS']} passed, {counts['FAIL']} failed"
    if counts["SKIP"]:
        line += f", {counts['SKIP']} skipped"
    print(line)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
