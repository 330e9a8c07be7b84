#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Banned-function check for Otter's C code (STYLE.md 1.3).

Fails, printing file:line for each hit, when a C file under agent/ exporters/ slo/ chatbot/ or
tests/ calls one of the banned string functions, or calls malloc/calloc/realloc/free directly
outside the allocator wrapper (agent/core/ag_mem.c) and the standalone fuzz driver
(tests/fuzz/fuzz_main.c); and when a .c file does not start with an SPDX line. Comments and
string literals are blanked first, so prose and messages that name a function do not count.
Generated protobuf-c code and build directories are skipped.

Usage: check_banned.py [--root DIR]   check a tree (default: the repository)
       check_banned.py --self-test    prove the check catches planted violations
"""

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

SCAN_DIRS = ("agent", "exporters", "slo", "chatbot", "tests")
C_SUFFIXES = (".c", ".h")

# Unbounded or error-blind C library calls: banned everywhere.
BANNED = ("sprintf", "vsprintf", "strcpy", "strcat", "strtok", "atoi", "atol", "atoll", "gets")
# The C allocator: only through ag_malloc() and friends (ag_mem.h).
ALLOCATOR = ("malloc", "calloc", "realloc", "free")
ALLOCATOR_ALLOWED = {"agent/core/ag_mem.c", "tests/fuzz/fuzz_main.c"}

# Directories never scanned: dependency trees, virtualenvs, tool caches.
SKIP_DIR_NAMES = {"node_modules", ".venv", "venv", "__pycache__", ".tools", ".git"}

# A call: the name as a whole identifier, not a member (x.free / x->free are protobuf-c
# allocator slots), followed by "(".
CALL_RE = re.compile(r"(?<![\w.>])(?<!->)(%s)\s*\(" % "|".join(BANNED + ALLOCATOR))


def strip_comments_and_strings(text):
    """Returns |text| with comments, string and character literals replaced by spaces, keeping
    every newline so line numbers still match."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + (c if j - 1 > i else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def is_build_dir(path):
    return (path / "meson-private").is_dir() or (path / "build.ninja").is_file() or \
        (path / "CMakeCache.txt").is_file()


def c_files(root):
    for top in SCAN_DIRS:
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            d = Path(dirpath)
            dirnames[:] = sorted(x for x in dirnames
                                 if x not in SKIP_DIR_NAMES and not is_build_dir(d / x))
            for name in sorted(filenames):
                if name.endswith(C_SUFFIXES) and ".pb-c." not in name:
                    yield d / name


def check_file(root, path):
    """Returns the problems in one file as 'file:line: message' strings."""
    rel = path.relative_to(root).as_posix()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return ["%s:1: cannot read: %s" % (rel, e)]
    problems = []
    if path.suffix == ".c":
        first = text.split("\n", 1)[0]
        if "SPDX-License-Identifier:" not in first:
            problems.append("%s:1: first line is not an SPDX-License-Identifier line" % rel)
    code = strip_comments_and_strings(text)
    for lineno, line in enumerate(code.split("\n"), 1):
        for m in CALL_RE.finditer(line):
            name = m.group(1)
            if name in ALLOCATOR:
                if rel in ALLOCATOR_ALLOWED:
                    continue
                problems.append("%s:%d: direct call to %s(): use ag_%s() from ag_mem.h"
                                % (rel, lineno, name, name))
            else:
                problems.append("%s:%d: banned function %s()" % (rel, lineno, name))
    return problems


def check_tree(root):
    root = Path(root).resolve()
    problems, count = [], 0
    for path in c_files(root):
        count += 1
        problems.extend(check_file(root, path))
    return problems, count


# ---- self-test ----------------------------------------------------------------------------------

GOOD = """/* SPDX-License-Identifier: Apache-2.0 */
/* Clean code that only looks suspicious: sprintf( in a comment, strcpy() in prose. */
#include <stdio.h>
// free(p) in a line comment
static void pb_free(void *d, void *p) { (void)d; (void)p; }
void f(char *out, size_t n, struct alloc *a, void *p)
{
    snprintf(out, n, "sprintf(%s) strcat(", "gets(");
    char q = '(';
    a->free(a->data, p);
    a->alloc.free(p);
    ag_free(p);
    pb_free(NULL, p);
    long v = strtol("12", NULL, 10);
    (void)q; (void)v;
    char *t = strtok_r(out, ",", &out);
    (void)t;
}
"""

BAD = """/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
void g(char *d, const char *s, char *buf)
{
    strcpy(d, s);
    sprintf (buf, "%d", 1);
    char *p = malloc(10);
    free(p);
    int n = atoi(s); long m = atol(s);
    (void)n; (void)m;
    strcat(d, s); strtok(d, ","); gets(buf); vsprintf(buf, s, 0);
}
"""

NO_SPDX = """#include <stdio.h>
int main(void) { return 0; }
"""

ALLOCATOR_FILE = """/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
void *ag_malloc(size_t n) { return malloc(n); }
void ag_free(void *p) { free(p); }
void h(char *d, const char *s) { strcpy(d, s); }
"""


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = {
            "agent/core/good.c": GOOD,
            "exporters/x/bad.c": BAD,
            "tests/unit/nospdx.c": NO_SPDX,
            "agent/core/ag_mem.c": ALLOCATOR_FILE,
            "tests/fuzz/fuzz_main.c": "/* SPDX-License-Identifier: Apache-2.0 */\n"
                                      "void z(void *p) { free(p); }\n",
            "agent/core/header.h": "static inline void y(char *d) { strcat(d, \"x\"); }\n",
            # Never scanned: a build directory with generated code, and dependency trees.
            "build-x/meson-private/.keep": "",
            "tests/build-y/meson-private/.keep": "",
            "tests/build-y/gen.c": "void w(char *d) { strcpy(d, \"\"); }\n",
            "agent/proto/x.pb-c.c": "void w(char *d) { strcpy(d, \"\"); }\n",
            "chatbot/node_modules/m/n.c": "void w(char *d) { strcpy(d, \"\"); }\n",
            "docs/outside.c": "void w(char *d) { strcpy(d, \"\"); }\n",
        }
        for rel, text in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        problems, count = check_tree(root)

    expected = [
        "agent/core/ag_mem.c:5: banned function strcpy()",
        "agent/core/header.h:1: banned function strcat()",
        "exporters/x/bad.c:5: banned function strcpy()",
        "exporters/x/bad.c:6: banned function sprintf()",
        "exporters/x/bad.c:7: direct call to malloc(): use ag_malloc() from ag_mem.h",
        "exporters/x/bad.c:8: direct call to free(): use ag_free() from ag_mem.h",
        "exporters/x/bad.c:9: banned function atoi()",
        "exporters/x/bad.c:9: banned function atol()",
        "exporters/x/bad.c:11: banned function strcat()",
        "exporters/x/bad.c:11: banned function strtok()",
        "exporters/x/bad.c:11: banned function gets()",
        "exporters/x/bad.c:11: banned function vsprintf()",
        "tests/unit/nospdx.c:1: first line is not an SPDX-License-Identifier line",
    ]
    ok = sorted(problems) == sorted(expected) and count == 6
    if not ok:
        print("self-test FAILED: scanned %d files (expected 6)" % count)
        for line in sorted(set(problems) - set(expected)):
            print("  unexpected: " + line)
        for line in sorted(set(expected) - set(problems)):
            print("  missed:     " + line)
        return 1
    print("self-test passed: %d planted violations reported with file:line, clean and exempt "
          "code left alone" % len(expected))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2]),
                    help="repository root to scan")
    ap.add_argument("--self-test", action="store_true",
                    help="run the checker on planted violations in a temp dir")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    problems, count = check_tree(args.root)
    for line in problems:
        print(line)
    if count == 0:
        print("no C files found under %s" % args.root)
        return 1
    print("%d C files checked, %d problem(s)" % (count, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
