#!/usr/bin/env bash
# Prints a tutorial page with each `<!-- run: NAME ARGS -->` block replaced by what
# `EXAMPLES/NAME ARGS` prints now (stdout and stderr, run in WORK), up to its `<!-- end run -->`.
# docs/generate.sh writes the result over the page; the tutorial_* ctests compare it with the
# page (tests/tools/check_tutorial_page.sh). Exits 1 when a command exits non-zero.
#
#   docs/render-page.sh EXAMPLES-DIR WORK-DIR PAGE.md
#   docs/render-page.sh --reference-kernel     the OpenBLAS kernel the pages come from
#
# What a training example prints depends on how its matrix products round: on the BLAS
# thread count (one thread here) and on OpenBLAS's kernel. The pages are generated with the
# SkylakeX kernels, which scripts/blas-env.sh selects on every AVX-512 CPU; the Haswell kernels
# (an AVX2 CPU) round some training runs differently in the last printed digits
# (training_aids's BatchNorm line, for one).
set -euo pipefail
reference_kernel=SkylakeX
if [ "$1" = "--reference-kernel" ]; then
  echo "$reference_kernel"
  exit 0
fi
export EXAMPLES=$1 WORK=$2 OPENBLAS_NUM_THREADS=1
page=$3
# shellcheck source=../scripts/blas-env.sh
source "$(dirname "$0")/../scripts/blas-env.sh"
mkdir -p "$WORK"
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
        print "render-page.sh: " command ": " line > "/dev/stderr"
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
' "$page"
