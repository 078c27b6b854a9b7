#!/usr/bin/env bash
# clang-tidy (.clang-tidy) on the C++ sources changed since a base, so each change is checked
# without re-checking the whole tree (about 10 s a file). Fails on what .clang-tidy makes an
# error; other findings are printed.
#   scripts/tidy.sh [BUILD_DIR]    compile_commands.json from BUILD_DIR (default build/ci)
# The base: $PORTLINE_TIDY_BASE, else where HEAD left its upstream branch, else HEAD~1 (the last
# commit, as in a clean CI clone). Uncommitted and untracked files count as changed. A changed
# header brings in the source file of the same name.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/ci}

base=${PORTLINE_TIDY_BASE:-}
if [ -z "$base" ] && upstream=$(git rev-parse -q --verify '@{upstream}' 2>/dev/null) &&
  [ "$upstream" != "$(git rev-parse HEAD)" ]; then
  base=$(git merge-base HEAD "$upstream")
fi
if [ -z "$base" ]; then
  base=$(git rev-parse -q --verify HEAD~1 || git hash-object -t tree /dev/null)
fi

mapfile -t changed < <({
  git diff --name-only --diff-filter=d "$base" -- 'src/*.cpp' 'src/*.hpp'
  git ls-files --others --exclude-standard -- 'src/*.cpp' 'src/*.hpp'
} | sed 's/\.hpp$/.cpp/' | grep -v '_test\.cpp$' | sort -u)
files=()
for f in "${changed[@]}"; do
  # Only what the build compiles (a header without a source file of its name is checked
  # through the files that include it).
  if [ -f "$f" ] && grep -q "\"file\": \"$PWD/$f\"" "$build/compile_commands.json"; then
    files+=("$f")
  fi
done
if [ ${#files[@]} -eq 0 ]; then
  echo "tidy: no changed source since $(git rev-parse --short "$base")"
  exit 0
fi
echo "tidy: ${#files[@]} file(s) changed since $(git rev-parse --short "$base")"
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 1 clang-tidy -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option
echo "tidy: passed"
