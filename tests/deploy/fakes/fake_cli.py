"""A stand-in for pulumi, kubectl, helm and aws: records each call and answers from a scenario.

Usage (through a wrapper named after the tool): fake_cli.py TOOL ARGS...
Env: FAKE_CALL_LOG   JSON lines, one {"tool", "argv"} per call, appended
     FAKE_SCENARIO   JSON file: {"rules": [{"tool", "match": [tokens in order], "stdout", "stderr",
                     "rc", "times"}]}; the first rule whose tokens all appear in order in the
                     arguments, and which has not been used `times` times yet, answers; no rule:
                     exit 0 with no output
     FAKE_STATE      JSON file keeping how often each rule was used (across processes)
"""

import json
import os
import sys


def matches(tokens, argv):
    i = 0
    for a in argv:
        if i < len(tokens) and a == tokens[i]:
            i += 1
    return i == len(tokens)


def main():
    tool, argv = sys.argv[1], sys.argv[2:]
    with open(os.environ["FAKE_CALL_LOG"], "a", encoding="utf-8") as f:
        f.write(json.dumps({"tool": tool, "argv": argv}) + "\n")
    scenario_file = os.environ.get("FAKE_SCENARIO")
    rules = []
    if scenario_file and os.path.exists(scenario_file):
        with open(scenario_file, encoding="utf-8") as f:
            rules = json.load(f)["rules"]
    state_file = os.environ["FAKE_STATE"]
    used = {}
    if os.path.exists(state_file):
        with open(state_file, encoding="utf-8") as f:
            used = json.load(f)
    for i, rule in enumerate(rules):
        if rule["tool"] != tool or not matches(rule.get("match", []), argv):
            continue
        times = rule.get("times")
        if times is not None and used.get(str(i), 0) >= times:
            continue
        used[str(i)] = used.get(str(i), 0) + 1
        with open(state_file, "w", encoding="utf-8") as f:
            json.dump(used, f)
        sys.stdout.write(rule.get("stdout", ""))
        sys.stderr.write(rule.get("stderr", ""))
        return rule.get("rc", 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
