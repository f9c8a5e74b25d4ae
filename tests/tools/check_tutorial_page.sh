#!/usr/bin/env bash
# Runs the examples a tutorial page runs, as docs/generate.sh does (docs/render-page.sh), and
# fails with a diff when the page shows anything else: a page cannot drift from the code.
#   check_tutorial_page.sh PAGE.md EXAMPLES-DIR WORK-DIR
set -euo pipefail
page=$(realpath "$1")
examples=$(realpath "$2")
work=$(realpath -m "$3")
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work" && mkdir -p "$work/run"
if ! "$root/docs/render-page.sh" "$examples" "$work/run" "$page" >"$work/page.md"; then
  echo "FAIL: an example the page runs exited non-zero"
  exit 1
fi
if ! diff -u --label "${page#"$root"/} (the page)" --label "what this build prints" \
    "$page" "$work/page.md"; then
  # The one machine dependence (docs/render-page.sh): another OpenBLAS kernel rounds the
  # products of a training run differently. On the kernel the pages come from, a difference
  # always fails.
  source "$root/scripts/blas-env.sh"
  reference=$("$root/docs/render-page.sh" --reference-kernel)
  if [ "${OPENBLAS_CORETYPE:-}" != "$reference" ]; then
    echo "skipped: this machine runs OpenBLAS's '${OPENBLAS_CORETYPE:-default}' kernel, the pages"
    echo "come from its '$reference' kernel, whose rounding differs (docs/render-page.sh)"
    exit 77
  fi
  echo "FAIL: ${page#"$root"/} differs from the examples' output; if the change is intended,"
  echo "regenerate it with docs/generate.sh BUILD-DIR ${page#"$root"/} and review the diff"
  exit 1
fi
echo "the page shows what the examples print"
