#!/usr/bin/env bash
# Regenerates the tutorial's outputs: builds the examples, runs every command a page names in a
# `<!-- run: NAME ARGS -->` marker, and writes its real output between that marker and the next
# `<!-- end run -->` (docs/render-page.sh; the tutorial_* ctests run the same script and fail
# when a page differs from it). The images the pages show (`](img/NAME)`) are copied from the
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

# The pages come from one OpenBLAS kernel (docs/render-page.sh says why).
reference=$("$root/docs/render-page.sh" --reference-kernel)
kernel=$(source "$root/scripts/blas-env.sh" && echo "${OPENBLAS_CORETYPE:-default}")
if [ "$kernel" != "$reference" ]; then
  echo "generate.sh: this machine runs OpenBLAS's '$kernel' kernel; the pages come from its" >&2
  echo "'$reference' kernel (an AVX-512 CPU), and the tutorial tests compare with those" >&2
  exit 1
fi

work="$build/docs-run"
rm -rf "$work" && mkdir -p "$work"
status=0
for page in "${pages[@]}"; do
  "$root/docs/render-page.sh" "$build/examples" "$work" "$page" >"$page.new" || status=1
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
