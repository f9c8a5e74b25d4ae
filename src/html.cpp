#include "retrograd/html.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "html_assets.hpp"  // page_style and page_script: src/html/page.css and page.js, embedded by CMake
#include "retrograd/dot.hpp"

namespace retrograd {

namespace {

/// A JSON string literal that is also safe inside a <script> element (no "</script>").
std::string json(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

/// Escapes text for HTML element content.
std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

/// The tensor's text, or "" for the size-0 "none".
template <class T>
std::string text_or_empty(const BasicTensor<T>& t) {
  return t.size() == 0 ? "" : tensor_string(t);
}

/// Everything the page's script shows, as JSON: the nodes, the forward order, the seed and
/// every gate with its edges. All text is made here, with the trace's names and formats.
template <class T>
std::string page_data(const Trace<T>& trace, const std::string& title) {
  const auto& nodes = trace.nodes();
  const std::size_t root = nodes.size() - 1;
  std::ostringstream out;
  out << "{\"title\":" << json(title) << ",\"root\":" << root << ",\"nodes\":[";
  std::vector<std::size_t> forward;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node<T>& node = *nodes[i];
    const char* kind = Trace<T>::is_constant(node) ? "constant"
                       : node.inputs().empty()     ? "input"
                                                   : "op";
    if (!node.inputs().empty()) forward.push_back(i);
    const std::string& expression = trace.expression(i);
    out << (i ? "," : "") << "{\"id\":\"node-" << i << "\",\"label\":" << json(trace.label(i))
        << ",\"kind\":\"" << kind << "\",\"title\":"
        << json(expression.empty() ? trace.label(i) : trace.label(i) + " = " + expression)
        << ",\"values\":" << json(trace.value_expression(i))
        << ",\"value\":" << json(tensor_string(node.value()))
        << ",\"box\":" << json(detail::box_string(node.value()))
        << ",\"line\":" << json(trace.forward_line(i))
        << ",\"derivative\":" << json(trace.derivative_name(i))
        << ",\"blank\":" << json(trace.derivative_name(i) + " = ?")
        << ",\"paths\":" << trace.paths(i) << ",\"inputs\":[";
    for (std::size_t k = 0; k < node.inputs().size(); ++k) {
      out << (k ? "," : "") << trace.index(*node.inputs()[k]);
    }
    out << "]}";
  }
  out << "],\"forward\":[";
  for (std::size_t k = 0; k < forward.size(); ++k) out << (k ? "," : "") << forward[k];
  const std::string seed =
      trace.derivative_name(root) + " = " + tensor_string(trace.gradient(root));
  out << "],\"seed\":{\"line\":" << json("seed: " + seed) << ",\"text\":" << json(seed)
      << ",\"total\":" << json(tensor_string(trace.gradient(root)))
      << ",\"box\":" << json(detail::gradient_box(trace, root, trace.gradient(root), 1))
      << ",\"path\":1},\"gates\":[";
  for (std::size_t k = 0; k < trace.gates().size(); ++k) {
    const auto& gate = trace.gates()[k];
    out << (k ? "," : "") << "{\"node\":" << gate.node
        << ",\"upstream\":" << json(tensor_string(gate.upstream))
        << ",\"line\":" << json(trace.gate_text(k)) << ",\"edges\":[";
    for (std::size_t e = 0; e < gate.edges.size(); ++e) {
      const auto& edge = gate.edges[e];
      out << (e ? "," : "") << "{\"input\":" << edge.input << ",\"edge\":\"edge-" << edge.input
          << "-" << gate.node << "-" << edge.slot << "\""
          << ",\"elementwise\":" << (Trace<T>::is_elementwise(*nodes[gate.node]) ? "true" : "false")
          << ",\"rule\":" << json(edge.rule) << ",\"local\":" << json(text_or_empty(edge.local))
          << ",\"product\":" << json(trace.downstream_text(k, e))
          << ",\"sum\":" << json(trace.sum_text(k, e))
          << ",\"total\":" << json(tensor_string(edge.total))
          << ",\"box\":" << json(detail::gradient_box(trace, edge.input, edge.total, edge.path))
          << ",\"path\":" << edge.path << "}";
    }
    out << "]}";
  }
  out << "]}";
  return out.str();
}

/// Graphviz's SVG without its XML prolog and DOCTYPE, ready to sit inside HTML.
std::string inline_svg(const std::string& svg) {
  const std::size_t start = svg.find("<svg");
  if (start == std::string::npos) throw std::runtime_error("to_html: Graphviz wrote no SVG");
  return svg.substr(start);
}

}  // namespace

template <class T>
std::string to_html(const Trace<T>& trace, const std::string& title) {
  const std::size_t root = trace.nodes().size() - 1;
  if (trace.received(root) == 0) {
    throw std::invalid_argument("to_html: the trace has recorded no backward pass");
  }
  const std::string heading = !title.empty() ? title
                              : trace.expression(root).empty()
                                  ? trace.label(root)
                                  : trace.label(root) + " = " + trace.expression(root);
  std::ostringstream page;
  page << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<link rel=\"icon\" href=\"data:,\">\n"
       << "<title>" << escape(heading) << " · retrograd step-through</title>\n"
       << "<style>" << html_assets::page_style << "</style>\n</head>\n<body>\n"
       << "<h1>" << escape(heading) << "</h1>\n"
       << "<p class=\"help\">Forward step fills in the values in topological order; Backward "
          "step then visits every gate: upstream × local = downstream, summed where an input "
          "collects several gradients. Keys: → next step, ← previous step, Home start, End "
          "last step.</p>\n"
       << "<div id=\"controls\">\n"
       << "  <button id=\"reset\" type=\"button\">Reset</button>\n"
       << "  <button id=\"undo\" type=\"button\">↶ Undo</button>\n"
       << "  <button id=\"forward\" type=\"button\">Forward step ▶</button>\n"
       << "  <button id=\"backward\" type=\"button\">◀ Backward step</button>\n"
       << "  <span id=\"progress\"></span>\n</div>\n"
       << "<div id=\"layout\">\n<div id=\"graph\">\n"
       << inline_svg(svg_from_dot(detail::page_dot(trace))) << "</div>\n"
       << "<div id=\"side\">\n"
       << "<div class=\"card\" aria-live=\"polite\"><h2 id=\"step-title\"></h2>"
          "<div id=\"step-body\"></div></div>\n"
       << "<div class=\"card\"><h2>Gradients</h2><table id=\"gradients\"></table></div>\n"
       << "<div class=\"card\"><h2>Steps</h2><ol id=\"log\"></ol></div>\n"
       << "</div>\n</div>\n"
       << "<script id=\"trace-data\" type=\"application/json\">" << page_data(trace, heading)
       << "</script>\n<script>" << html_assets::page_script << "</script>\n</body>\n</html>\n";
  return page.str();
}

template <class T>
void write_html(const Trace<T>& trace, const std::string& path, const std::string& title) {
  const std::string page = to_html(trace, title);
  const std::string temporary = path + ".partial";
  {
    std::ofstream file(temporary, std::ios::binary);
    if (!file) throw std::runtime_error("write_html: cannot open '" + temporary + "' for writing");
    file << page;
    if (!file.flush()) throw std::runtime_error("write_html: failed writing '" + temporary + "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary, error);
    throw std::runtime_error("write_html: cannot move the page to '" + path + "'");
  }
}

template <class T>
void write_html(const BasicVar<T>& f, const std::string& path, const std::string& title) {
  write_html(traced_backward(f), path, title);
}

template std::string to_html(const Trace<float>&, const std::string&);
template std::string to_html(const Trace<double>&, const std::string&);
template void write_html(const Trace<float>&, const std::string&, const std::string&);
template void write_html(const Trace<double>&, const std::string&, const std::string&);
template void write_html(const Var&, const std::string&, const std::string&);
template void write_html(const VarD&, const std::string&, const std::string&);

}  // namespace retrograd
