#pragma once
// The op sequence of the scalar chain benchmarks (bench_chain, bench_chain_adolc): `nodes` ops,
// y + 0.5, y * 0.9, maximum(y, 0.1) and sigmoid(y) in turn, on any number type whose maximum
// and sigmoid are found by argument-dependent lookup.

template <class Number>
Number build_chain(Number y, int nodes) {
  for (int i = 0; i < nodes; ++i) {
    switch (i % 4) {
      case 0:
        y = y + 0.5;
        break;
      case 1:
        y = y * 0.9;
        break;
      case 2:
        y = maximum(y, 0.1);
        break;
      default:
        y = sigmoid(y);
        break;
    }
  }
  return y;
}
