#!/usr/bin/python3
"""Checks the module layering of src/ against the links CMake declares (build target `layering`).

    check_layers.py LAYERS_TXT SRC_DIR [--pretend FILE:HEADER ...]

LAYERS_TXT has one line per module, written by portline_record_layer():
    name|folder|source,source,...|public link,...|private link,...

Rules, each reported with the file and line that breaks it:
  * every non-test .cpp under src/ belongs to exactly one module;
  * a file may include a project header only from its own module or from a module it links
    (PUBLIC or PRIVATE, with what those link PUBLIC, as CMake passes it on), and a header only
    from its own module or a PUBLIC link (what a header includes, every user of the module
    includes too; the executable's own headers are private to it);
  * a PUBLIC link that no header of the module needs should be PRIVATE;
  * the module graph has no cycle;
  * Beast only in the HTTP shell, Asio only in the shells (SIP endpoint, HTTP, app, CLI), SQLite
    only in store/sqlite.cpp, libpq only in store/postgres.cpp: domain code never sees them.
--pretend adds an include to a file, so a test can show that a violation is caught.
"""
import os
import re
import sys

THIRD_PARTY = [
    # (pattern of the include, modules or files allowed to include it, what it is)
    (re.compile(r"^boost/beast"), {"http"}, "Beast"),
    (re.compile(r"^boost/asio"), {"http", "sip_endpoint", "app", "cli"}, "Asio"),
    (re.compile(r"^sqlite3\.h$"), {"store/sqlite.cpp"}, "SQLite"),
    (re.compile(r"^libpq-fe\.h$"), {"store/postgres.cpp"}, "libpq"),
]
EXECUTABLES = {"cli"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def load(layers_txt, src):
    modules = {}
    for line in open(layers_txt, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        name, folder, sources, public, private = line.split("|")
        deps = lambda text: {d.split("::")[1] for d in text.split(",") if d.startswith("portline::")}
        files = set()
        for s in filter(None, sources.split(",")):
            path = os.path.normpath(os.path.join(folder, s))
            if path.startswith(os.path.abspath(src) + os.sep):
                files.add(os.path.relpath(path, src))
        modules[name] = {"folder": os.path.relpath(folder, src), "files": files,
                         "public": deps(public), "private": deps(private)}
    return modules


def owner_map(modules, src):
    """Every file under src/ to its module: listed sources, then headers beside them."""
    owner = {}
    for name, m in modules.items():
        for f in m["files"]:
            owner[f] = name
    by_folder = {}
    for name, m in modules.items():
        # The module named like its folder owns the folder's other headers (sip, not sip_endpoint).
        if os.path.basename(m["folder"]) == name or m["folder"] not in by_folder:
            by_folder[m["folder"]] = name
    problems = []
    for root, _, names in os.walk(src):
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(root, n), src)
            if not n.endswith((".cpp", ".hpp")) or n.endswith("_test.cpp") or rel in owner:
                continue
            twin = rel[:-4] + ".cpp"
            if n.endswith(".hpp") and twin in owner:
                owner[rel] = owner[twin]
            elif n.endswith(".hpp") and os.path.dirname(rel) in by_folder:
                owner[rel] = by_folder[os.path.dirname(rel)]
            else:
                problems.append(f"{rel}: in no module (add it to a portline_module's SOURCES)")
    return owner, problems


def public_closure(modules, start):
    """start and everything it passes on: its PUBLIC links, theirs, and so on."""
    seen, todo = set(), [start]
    while todo:
        n = todo.pop()
        if n in seen or n not in modules:
            continue
        seen.add(n)
        todo.extend(modules[n]["public"])
    return seen


def find_cycle(modules):
    state = {}

    def visit(n, path):
        state[n] = 1
        for d in sorted(modules[n]["public"] | modules[n]["private"]):
            if d not in modules:
                continue
            if state.get(d) == 1:
                return path + [n, d]
            if d not in state:
                found = visit(d, path + [n])
                if found:
                    return found
        state[n] = 2
        return None

    for n in sorted(modules):
        if n not in state:
            found = visit(n, [])
            if found:
                return found[found.index(found[-1]):]
    return None


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    layers_txt, src = argv[1], argv[2]
    pretend = {}
    args = argv[3:]
    while args:
        if args[0] != "--pretend" or len(args) < 2 or ":" not in args[1]:
            print("usage: --pretend FILE:HEADER", file=sys.stderr)
            return 2
        f, h = args[1].split(":", 1)
        pretend.setdefault(f, []).append(h)
        args = args[2:]

    modules = load(layers_txt, src)
    owner, problems = owner_map(modules, src)
    needed_public = {n: set() for n in modules}
    sees, sees_public = {}, {}
    for n, m in modules.items():
        sees_public[n] = set().union(*[public_closure(modules, d) for d in m["public"]])
        sees[n] = sees_public[n].union(*[public_closure(modules, d) for d in m["private"]])
    for rel, mod in sorted(owner.items()):
        lines = open(os.path.join(src, rel), encoding="utf-8").read().splitlines()
        lines += [f'#include "{h}"' if "/" in h and not h.startswith("boost/") else f"#include <{h}>"
                  for h in pretend.get(rel, [])]
        m = modules[mod]
        for number, line in enumerate(lines, 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            quote, header = match.groups()
            where = f"{rel}:{number}"
            for pattern, allowed, what in THIRD_PARTY:
                if pattern.search(header) and mod not in allowed and rel not in allowed:
                    problems.append(f"{where}: {mod} includes {what} ({header}); only "
                                    f"{', '.join(sorted(allowed))} may")
            if quote != '"':
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(rel), header))
            if target not in owner:
                target = os.path.normpath(header)
            if target not in owner:
                if os.path.exists(os.path.join(src, target)):
                    problems.append(f"{where}: {header} belongs to no module")
                continue
            dep = owner[target]
            if dep == mod:
                continue
            if rel.endswith(".hpp") and mod not in EXECUTABLES:
                needed_public[mod].add(dep)
                if dep not in sees_public[mod]:
                    problems.append(f"{where}: the header includes {header} but {mod} links "
                                    f"{dep} {'PRIVATE' if dep in m['private'] else 'not at all'}"
                                    f" (a header's includes are its users' too: link it PUBLIC)")
            elif dep not in sees[mod]:
                problems.append(f"{where}: {mod} includes {header} of {dep}, which it does not "
                                f"link (add portline::{dep}, or move the code)")
    for name, m in sorted(modules.items()):
        for dep in sorted(m["public"] - needed_public[name]):
            problems.append(f"{name}: links portline::{dep} PUBLIC but none of its headers "
                            f"includes it: make it PRIVATE")
    cycle = find_cycle(modules)
    if cycle:
        problems.append("module cycle: " + " -> ".join(cycle))
    if problems:
        print("layering: %d problem(s)" % len(problems), file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print(f"layering: {len(modules)} modules, {len(owner)} files, no problem")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
