# SPDX-License-Identifier: Apache-2.0
"""The Dockerfiles' build, as far as it can be checked without a Docker engine.

This machine is Debian 12, like the images' base, so each Dockerfile's steps are replayed here:
- the build stage's context: exactly the paths its COPY lines take (minus .dockerignore) are
  staged in a temporary directory, its `meson setup` runs there verbatim, and `ninja -n` of its
  target must find every input (a source directory the COPY lines forget fails here);
- the build stage's packages: every pkg-config dependency meson resolved in that setup belongs
  to a package the stage installs;
- the runtime stage's packages: every library the binary needs (ELF NEEDED of the project's own
  build, $OTTERD / $CHATBOT) belongs to a package the stage installs or to the slim image's
  own (Debian's essential and required packages and their dependencies), and the stage installs
  nothing else but ca-certificates.
"""
import json
import os
import re
import shlex
import shutil
import subprocess

import pytest

from conftest import ROOT

DOCKER = ROOT / "deploy" / "docker"
# Dockerfile -> (the binary the project's build made, the env var naming another one)
IMAGES = {
    "otterd.Dockerfile": ("build/agent/otterd", "OTTERD"),
    "chatbot.Dockerfile": ("build/chatbot/chatbot", "CHATBOT"),
}


def instructions(path):
    """[(stage index, INSTRUCTION, argument text)] with continuations joined, comments dropped."""
    out, stage, cur = [], -1, ""
    for line in path.read_text().splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        word, _, rest = cur.strip().partition(" ")
        word = word.upper()
        if word == "FROM":
            stage += 1
        out.append((stage, word, rest.strip()))
        cur = ""
    return out


def apt_packages(run_text):
    """The packages of the `apt-get install` in a RUN line."""
    for cmd in run_text.split("&&"):
        args = shlex.split(cmd)
        if args[:2] == ["apt-get", "install"]:
            return {a for a in args[2:] if not a.startswith("-")}
    return set()


def stage(path, n):
    return [(w, a) for s, w, a in instructions(path) if s == n]


def dockerignore():
    pats = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rx = re.escape(line).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
            pats.append(re.compile(rx.replace(r"\*", "[^/]*").replace(r"\?", "[^/]") + "(/.*)?$"))
    return pats


def stage_context(dockerfile, dest):
    """Copies what the build stage's COPY lines take into |dest|; returns its RUN lines."""
    ignore = dockerignore()
    runs = []
    for word, arg in stage(dockerfile, 0):
        if word == "RUN":
            runs.append(arg)
        if word != "COPY":
            continue
        *srcs, to = shlex.split(arg)
        assert not any(s.startswith("--") for s in srcs), arg
        for src in srcs:
            s = ROOT / src
            assert s.exists(), f"{dockerfile.name}: COPY {src}: no such path in the repository"
            if s.is_dir():
                for f in s.rglob("*"):
                    rel = f.relative_to(ROOT).as_posix()
                    if f.is_file() and not any(p.match(rel) for p in ignore):
                        target = dest / (to.rstrip("/") if to != "./" else "") / f.relative_to(s)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(f, target)
            else:
                shutil.copy2(s, dest / s.name)
    return runs


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_build_stage_context_and_packages(name, tmp_path):
    dockerfile = DOCKER / name
    runs = stage_context(dockerfile, tmp_path)
    build_pkgs = set().union(*(apt_packages(r) for r in runs))
    (build,) = [r for r in runs if "meson setup" in r]
    steps = [shlex.split(c) for c in build.split("&&")]
    setup = next(s for s in steps if s[:2] == ["meson", "setup"])
    ninja = next(s for s in steps if s[0] == "ninja")
    p = subprocess.run(setup, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert p.returncode == 0, f"{name}: {' '.join(setup)}\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}"
    # -n: every input of the target exists (a missing source is "missing and no known rule").
    p = subprocess.run(ninja + ["-n"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert p.returncode == 0, f"{name}: {' '.join(ninja)} -n\n{p.stdout[-3000:]}\n{p.stderr}"

    deps = json.loads(subprocess.run(["meson", "introspect", "--dependencies", "build"],
                                     cwd=tmp_path, capture_output=True, text=True,
                                     check=True).stdout)
    owners = {}
    for d in deps:
        if subprocess.run(["pkg-config", "--exists", d["name"]], check=False).returncode != 0:
            continue  # threads, libm: the C library's
        pc = subprocess.run(["pkg-config", "--variable=pcfiledir", d["name"]],
                            capture_output=True, text=True, check=True).stdout.strip()
        owners[d["name"]] = dpkg_owner(os.path.join(pc, d["name"] + ".pc"))
    assert owners, f"{name}: meson resolved no pkg-config dependency"
    missing = {dep: pkg for dep, pkg in owners.items() if pkg not in build_pkgs}
    assert not missing, f"{name}: the build stage does not install {missing}"


def dpkg_owner(path):
    real = os.path.realpath(path)
    for cand in (path, real, "/usr" + real if not real.startswith("/usr/") else real):
        p = subprocess.run(["dpkg-query", "-S", cand], capture_output=True, text=True, check=False)
        if p.returncode == 0:
            return p.stdout.split(":", 1)[0].strip()
    pytest.fail(f"no Debian package owns {path}")


def base_packages():
    """What Debian's slim image holds: the essential and required packages and what they
    depend on (closure over this machine's installed packages)."""
    out = subprocess.run(["dpkg-query", "-W", "-f",
                          "${Package}\\t${Essential}\\t${Priority}\\t${Pre-Depends}, ${Depends}\\n"],
                         capture_output=True, text=True, check=True).stdout
    deps, todo = {}, []
    for line in out.splitlines():
        pkg, essential, prio, dep = line.split("\t")
        names = []
        for alt in dep.split(","):
            alt = alt.strip()
            if alt:
                names.append([re.split(r"[ :(]", a.strip())[0] for a in alt.split("|")])
        deps[pkg] = names
        if essential == "yes" or prio == "required":
            todo.append(pkg)
    seen = set()
    while todo:
        pkg = todo.pop()
        if pkg in seen or pkg not in deps:
            continue
        seen.add(pkg)
        for alts in deps[pkg]:
            todo.extend(a for a in alts[:1] if a in deps)
    return seen


def needed(binary):
    """The absolute paths of the shared libraries |binary| names in ELF NEEDED."""
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                         check=True).stdout
    names = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    cache = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, check=True).stdout
    paths = {}
    for n in names:
        m = re.search(r"^\s+" + re.escape(n) + r" \(libc6,x86-64[^)]*\) => (\S+)$", cache, re.M)
        assert m, f"{n} is not in the dynamic linker's cache"
        paths[n] = m.group(1)
    return paths


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_runtime_stage_installs_exactly_the_libraries_the_binary_needs(name):
    default, var = IMAGES[name]
    binary = os.environ.get(var) or str(ROOT / default)
    if not os.access(binary, os.X_OK):
        pytest.skip(f"no {binary} (build it, or set {var})")
    dockerfile = DOCKER / name
    final = max(s for s, _, _ in instructions(dockerfile))
    runtime = set().union(*(apt_packages(a) for w, a in stage(dockerfile, final) if w == "RUN"))
    base = base_packages()
    providers = {lib: dpkg_owner(path) for lib, path in needed(binary).items()}
    # A sanitizer or coverage build links runtimes the release image does not have.
    providers = {lib: pkg for lib, pkg in providers.items()
                 if not re.match(r"lib(asan|ubsan|clang_rt|gcov)", lib)}
    lacking = {lib: pkg for lib, pkg in providers.items()
               if pkg not in runtime and pkg not in base}
    assert not lacking, f"{name}: the runtime stage lacks {lacking}"
    extra = runtime - set(providers.values()) - {"ca-certificates"}
    assert not extra, f"{name}: the runtime stage installs {sorted(extra)}, which " \
        f"{os.path.basename(binary)} does not link"
