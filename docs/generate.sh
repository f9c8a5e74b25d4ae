#!/usr/bin/env bash
# Regenerates the tutorial's outputs: builds the examples, runs every command a page names in a
# `<!-- run: NAME ARGS -->` marker, and writes its real output between that marker and the next
# `<!-- end run -->`. The images the pages show (`](img/NAME)`) are copied from the
# examples' output to docs/tutorial/img/, the step-through pages they link (`](html/NAME)`) to
# docs/tutorial/html/. The browser test (scripts/browser-test.sh) takes the screenshots of
# those pages.
#
#   docs/generate.sh [build-dir [page.md ...]]   (default: build, every page of docs/tutorial/)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$root" && mkdir -p "${1:-build}" && cd "${1:-build}" && pwd)
if [ $# -gt 1 ]; then
  pages=()
  for page in "${@:2}"; do pages+=("$(realpath "$page")"); done
else
  pages=("$root"/docs/tutorial/*.md)
fi

# The examples the pages run, once each.
examples=$(sed -n 's/^<!-- run: \([A-Za-z0-9_]*\).* -->$/\1/p' "${pages[@]}" | sort -u)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
# shellcheck disable=SC2086  # one target per word
cmake --build "$build" -j2 --target $examples

work="$build/docs-run"
rm -rf "$work" && mkdir -p "$work"
# Fast OpenBLAS kernels come from ensure_fast_blas; one thread keeps outputs reproducible.
export OPENBLAS_NUM_THREADS=1

export EXAMPLES="$build/examples" WORK="$work"
status=0
for page in "${pages[@]}"; do
  awk '
    /^<!-- run: .* -->$/ {
      print
      command = $0
      sub(/^<!-- run: /, "", command)
      sub(/ -->$/, "", command)
      print "```text"
      print "$ " command
      run = "cd \"$WORK\" && \"$EXAMPLES\"/" command " 2>&1; echo \"exit status $?\""
      while ((run | getline line) > 0) {
        if (line ~ /^exit status [1-9]/) {
          print "generate.sh: " command ": " line > "/dev/stderr"
          failed = 1
        } else if (line != "exit status 0") {
          print line
        }
      }
      close(run)
      print "```"
      skipping = 1
      next
    }
    /^<!-- end run -->$/ { skipping = 0 }
    !skipping { print }
    END { exit failed }
  ' "$page" >"$page.new" || status=1
  mv "$page.new" "$page"
  echo "updated ${page#"$root"/}"
done

# The screenshots of the step-through pages, taken by the browser test.
if grep -q '](img/\(step_through\|dense_neuron_page\)\.png)' "${pages[@]}"; then
  "$root/scripts/browser-test.sh" --screenshots "$work" "$build"
fi

# The images the pages show and the step-through pages they link, as the examples just made them.
sed -n 's/.*](img\/\([^)]*\)).*/\1/p' "${pages[@]}" | sort -u | while read -r image; do
  cp "$work/$image" "$root/docs/tutorial/img/$image"
done
mkdir -p "$root/docs/tutorial/html"
sed -n 's/.*](html\/\([^)]*\)).*/\1/p' "${pages[@]}" | sort -u | while read -r page; do
  cp "$work/$page" "$root/docs/tutorial/html/$page"
done
exit $status
