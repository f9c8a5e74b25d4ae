# Checks what `retrograd predict --probabilities --top-k K` wrote for a model of C classes:
# each row's probabilities sum to 1, its top-K classes come in falling order with their
# probabilities from the p_ columns, and the most probable class is the prediction.
#   awk -F, -v classes=C -v k=K -f check_predictions.awk predictions.csv
function fail(what) {
  print "row " $1 ": " what
  bad = 1
}
NR == 1 { next }
{
  sum = 0
  for (c = 0; c < classes; c++) sum += $(3 + c)
  if (sum < 0.9999 || sum > 1.0001) fail("probabilities sum to " sum)
  top = 3 + classes
  if ($top != $2) fail("top_1 is " $top ", the prediction " $2)
  for (r = 0; r < k; r++) {
    cls = $(top + 2 * r)
    p = $(top + 2 * r + 1)
    if (p != $(3 + cls)) fail("p_top_" r + 1 " is " p ", p_" cls " is " $(3 + cls))
    if (r > 0 && p > previous) fail("top_" r + 1 " is more probable than top_" r)
    previous = p
  }
}
END {
  if (NR < 2) fail("no rows")
  if (!bad) print "predictions checked: " NR - 1 " rows"
}
