// trace_budget N [BYTES]: parses a sum of N terms ("x*1+x*2+...", 4 bytes a term) as
// `retrograd trace` does, streams its step-through text to /dev/null, and prints the peak
// memory per graph node beside the text; exits 1 above BYTES per node (default 1024), and the
// parse and trace times. Issue
// 25's budget is about 1 KB per node: the test trace_budget runs it on 20,000 terms.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <retrograd/retrograd.hpp>
#include <string>

#include "expression.hpp"

using namespace retrograd;

int main(int argc, char** argv) {
  const long terms = argc > 1 ? std::atol(argv[1]) : 20000;
  const double budget_per_node = argc > 2 ? std::atof(argv[2]) : 1024;
  std::string source;
  for (long i = 0; i < terms; ++i) source += (i ? "+x*" : "x*") + std::to_string(i % 7 + 1);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  std::size_t nodes = 0;
  {
    const std::map<std::string, VarD> variables = {{"x", VarD(1.0, requires_grad, "x")}};
    const auto start = std::chrono::steady_clock::now();
    const VarD f = cli::parse_expression(source, variables);
    const auto parsed = std::chrono::steady_clock::now();
    rusage after_parse{};
    getrusage(RUSAGE_SELF, &after_parse);
    nodes = topological_order(*f.node(), true).size();
    std::printf("parsed: %.2f s, peak memory %.0f MB above the start\n",
                std::chrono::duration<double>(parsed - start).count(),
                double(after_parse.ru_maxrss - before.ru_maxrss) / 1024.0);
    // The text goes to /dev/null as it is made: what remains is the trace's own memory.
    std::ofstream sink("/dev/null");
    step_through(f, sink);
    std::printf("parsed and traced: %.2f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    const double grown = double(after.ru_maxrss - before.ru_maxrss) * 1024.0;
    const double per_node = grown / double(nodes);
    std::printf(
        "%ld terms, %zu bytes of expression, %zu nodes: parsed and traced (streamed) with "
        "peak memory %.0f MB above the start, %.0f bytes per node (budget %.0f)\n",
        terms, source.size(), nodes, grown / 1e6, per_node, budget_per_node);
    return per_node <= budget_per_node ? 0 : 1;
  }
}
