// The interactive page: what to_html writes (tests/browser/ clicks through it in Chromium).

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "test_helpers.hpp"

using namespace retrograd;

namespace {
std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("the page of (x + y) * z is one file with its graph, data and script", "[html]") {
  VarD x(-2.0, requires_grad, "x"), y(5.0, requires_grad, "y"), z(-4.0, requires_grad, "z");
  VarD q = (x + y).named("q");
  VarD f = (q * z).named("f");
  const Trace<double> trace = traced_backward(f);
  const std::string page = to_html(trace);
  CHECK_THAT(page, Catch::StartsWith("<!DOCTYPE html>"));
  CHECK_THAT(page, Catch::Contains("<h1>f = q * z</h1>"));
  // self-contained: the graph inline, nothing fetched
  CHECK(count(page, "<svg") == 1);
  CHECK_THAT(page, !Catch::Contains("<?xml"));
  CHECK_THAT(page, !Catch::Contains("src="));
  CHECK_THAT(page, !Catch::Contains("https:"));
  CHECK_THAT(page, !Catch::Contains("rel=\"stylesheet\""));
  CHECK(count(page, "http:") == count(page, "http://www.w3.org/"));  // SVG namespaces only
  // the buttons the student clicks and the arrow keys
  for (const char* id : {"id=\"forward\"", "id=\"backward\"", "id=\"undo\"", "id=\"reset\""}) {
    CHECK_THAT(page, Catch::Contains(id));
  }
  CHECK_THAT(page, Catch::Contains("ArrowRight"));
  CHECK_THAT(page, Catch::Contains("ArrowLeft"));
  // Graphviz laid out the trace's nodes under the trace's names, with the ids the script uses
  CHECK_THAT(page, Catch::Contains("<title>q</title>"));
  CHECK_THAT(page, Catch::Contains("id=\"node&#45;2\""));
  CHECK_THAT(page, Catch::Contains("id=\"edge&#45;2&#45;4&#45;0\""));
  CHECK_THAT(page, Catch::Contains(">q = x + y</text>"));
  // the steps as data: forward order, the seed, each gate's upstream x local = downstream
  CHECK_THAT(page, Catch::Contains("\"forward\":[2,4]"));
  CHECK_THAT(page, Catch::Contains("\"seed\":{\"line\":\"seed: df/df = 1\""));
  CHECK_THAT(page, Catch::Contains("\"line\":\"q = x + y = 3\""));
  CHECK_THAT(page, Catch::Contains("\"upstream\":\"-4\""));
  CHECK_THAT(page, Catch::Contains("\"rule\":\"z\",\"local\":\"-4\",\"product\":\"1 x -4 = -4\""));
  CHECK_THAT(page, Catch::Contains("\"rule\":\"1\",\"local\":\"1\",\"product\":\"-4 x 1 = -4\""));
  CHECK_THAT(page, Catch::Contains("\"box\":\"df/dx = -4\""));
  CHECK_THAT(page, Catch::Contains("\"box\":\"df/dz = 3\""));
}

TEST_CASE("the page shows the partial sums of an input with several paths", "[html]") {
  VarD x(3.0, requires_grad, "x"), y(2.0, requires_grad, "y");
  VarD f = (x * y + x).named("f");
  const std::string page = to_html(traced_backward(f));
  CHECK_THAT(page, Catch::Contains("\"sum\":\"1 (path 1 of 2)\""));
  CHECK_THAT(page, Catch::Contains("\"sum\":\"1 + 2 = 3 (path 2 of 2)\""));
  CHECK_THAT(page, Catch::Contains("\"box\":\"df/dx = 1 (1 of 2)\""));
  // the layout leaves room for the longer, partial text of x's gradient box
  CHECK_THAT(page, Catch::Contains(">df/dx = 1 (1 of 2)</text>"));
}

TEST_CASE("the page of a dense neuron shows shapes and compact values", "[html]") {
  VarD X(TensorD{{0, 0}, {0, 1}, {1, 0}, {1, 1}}, false, "X");
  TensorD w{0.5, -1.0};
  w.reshape({2, 1});
  VarD W(w, requires_grad, "W");
  VarD b(TensorD{0.25}, requires_grad, "b");
  VarD L = mean(sigmoid(matmul(X, W) + b)).named("L");
  const std::string page = to_html(traced_backward(L), "dense neuron");
  CHECK_THAT(page, Catch::Contains("<h1>dense neuron</h1>"));
  CHECK_THAT(page, Catch::Contains(">[[0, 0], [0, 1], [1, 0], [1, 1]] (4x2)</text>"));
  CHECK_THAT(page, Catch::Contains("\"rule\":\"X^T . upstream\""));
  CHECK_THAT(page, Catch::Contains("\"derivative\":\"dL/dW\""));

  // a large tensor's box shows its shape; the panel keeps a shortened view of its values
  VarD big(zeros<double>({30, 20}), requires_grad, "big");
  const std::string large = to_html(traced_backward(sum(big * 2.0)));
  CHECK_THAT(large, Catch::Contains(">(30x20) tensor</text>"));
  CHECK_THAT(large, Catch::Contains("[[0, 0, ..., 0, 0], [0, 0, ..., 0, 0], ..., "));
}

TEST_CASE("the page's data cannot close its script element", "[html]") {
  VarD x(1.0, requires_grad, "</script><b>x");
  const std::string page = to_html(traced_backward((x * 2.0).named("f")));
  CHECK(count(page, "</script>") == 2);
  CHECK_THAT(page, Catch::Contains("\\u003c/script\\u003e\\u003cb\\u003ex"));
  CHECK_THAT(page, Catch::Contains("&lt;/script&gt;&lt;b&gt;x"));  // in the SVG
}

TEST_CASE("write_html writes the page and reports what it cannot do", "[html][errors]") {
  VarD x(-2.0, requires_grad, "x"), y(5.0, requires_grad, "y");
  VarD f = (x * y).named("f");
  Trace<double> untraced(f);
  CHECK_THROWS_WITH(to_html(untraced), Catch::Contains("no backward pass"));

  const std::string path = std::string(RETROGRAD_BINARY_DIR) + "/test_html_page.html";
  write_html(f, path);
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  CHECK_THAT(text.str(), Catch::Contains("<h1>f = x * y</h1>"));
  CHECK_THAT(text.str(), Catch::EndsWith("</html>\n"));
  std::remove(path.c_str());
  CHECK(x.grad_item() == 5.0);  // write_html ran the backward pass, once

  CHECK_THROWS_WITH(write_html(f, "/nonexistent-dir/page.html"),
                    Catch::Contains("/nonexistent-dir/page.html"));
}
