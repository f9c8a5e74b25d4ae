#include "retrograd/html.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

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

const char* const page_style = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1rem 1.5rem;
  color: #1d1d1f; background: #fafafa; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; font-family: ui-monospace, monospace; }
p.help { margin: 0 0 .75rem; color: #555; font-size: .9rem; }
#controls { display: flex; gap: .4rem; align-items: center; flex-wrap: wrap;
  margin-bottom: .75rem; }
#controls button { font-size: .95rem; padding: .35rem .8rem; border-radius: 6px;
  border: 1px solid #999; background: #fff; cursor: pointer; }
#controls button:disabled { color: #aaa; border-color: #ddd; cursor: default; }
#controls #forward { border-color: #1e7b34; }
#controls #backward { border-color: #c0392b; }
#progress { margin-left: .5rem; color: #555; font-size: .9rem; }
#layout { display: flex; gap: 1rem; align-items: flex-start; flex-wrap: wrap; }
#graph { flex: 1 1 480px; min-width: 0; overflow: auto; background: #fff;
  border: 1px solid #ddd; border-radius: 8px; padding: .5rem; }
#graph svg { display: block; height: auto; margin: 0 auto; }
#side { flex: 0 1 430px; min-width: 300px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: .6rem .8rem;
  margin-bottom: .8rem; }
.card h2 { font-size: 1rem; margin: 0 0 .4rem; }
.card p { margin: .25rem 0; }
.formula { font-family: ui-monospace, monospace; }
table { border-collapse: collapse; font-size: .9rem; width: 100%; }
th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid #eee;
  vertical-align: top; }
th { font-weight: 600; color: #444; }
td.formula, td.grad { font-family: ui-monospace, monospace; }
.upstream { color: #c0392b; }
.value { color: #1e7b34; }
.hint { color: #555; font-size: .9rem; }
#log { font-family: ui-monospace, monospace; font-size: .85rem; margin: 0; padding-left: 2.2rem;
  max-height: 16rem; overflow: auto; }
#log li { white-space: pre-wrap; color: #333; }
#log li.current { background: #fff3b0; }
#graph g.node.pending text { fill: #8a8a8a; }
#graph g.node.input polygon { fill: #e3f4e1; }
#graph g.node.current polygon { fill: #ffe98a; }
#graph g.edge text { visibility: hidden; }
#graph g.edge.sent text { visibility: visible; }
#graph g.edge.forward path { stroke: #1e7b34; stroke-width: 2.5px; }
#graph g.edge.forward polygon { fill: #1e7b34; stroke: #1e7b34; }
#graph g.edge.backward path { stroke: #c0392b; stroke-width: 2.5px; }
#graph g.edge.backward polygon { fill: #c0392b; stroke: #c0392b; }
)css";

const char* const page_script = R"js(
'use strict';
(() => {
  const data = JSON.parse(document.getElementById('trace-data').textContent);
  const F = data.forward.length;
  const G = data.gates.length;
  const last = F + 1 + G;
  const byId = (id) => document.getElementById(id);

  function make(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // Graphviz places each text at its left end; centred, a text keeps its place when it changes.
  // Its cell is the polygon drawn just before it.
  function centre(text) {
    const box = text.getBBox();
    text.setAttribute('text-anchor', 'middle');
    text.setAttribute('x', String(box.x + box.width / 2));
    const cell = text.previousElementSibling;
    text.dataset.room = String(cell && cell.tagName === 'polygon' ? cell.getBBox().width - 4 : 0);
  }
  // The browser's font may be wider than the one Graphviz measured: squeeze what overflows.
  function setText(text, value) {
    text.textContent = value;
    text.removeAttribute('textLength');
    const room = Number(text.dataset.room);
    if (room > 0 && text.getComputedTextLength() > room) {
      text.setAttribute('lengthAdjust', 'spacingAndGlyphs');
      text.setAttribute('textLength', String(room));
    }
  }
  const boxes = data.nodes.map((n) => {
    const g = byId(n.id);
    const texts = g ? Array.from(g.querySelectorAll('text')) : [];
    texts.forEach(centre);
    texts.forEach((t) => setText(t, t.textContent));
    const cell = (k) => (n.kind === 'constant' ? null : texts[k] || null);
    return { g, value: cell(1), grad: cell(2) };
  });
  // Small drawings grow to the width of their frame (up to twice their size); large ones keep
  // a readable size and scroll.
  function fit() {
    const svg = document.querySelector('#graph svg');
    const frame = byId('graph');
    const natural = svg.viewBox.baseVal.width * 4 / 3;  // Graphviz sizes in points
    const room = frame.clientWidth - 16;
    const scale = Math.max(0.8, Math.min(2, room / natural));
    svg.style.width = `${natural * scale}px`;
  }
  fit();
  window.addEventListener('resize', fit);
  const edges = new Map();
  document.querySelectorAll('#graph g.edge').forEach((g) => edges.set(g.id, g));

  let step = 0;

  function state() {
    const forwardDone = Math.min(step, F);
    const gatesDone = Math.max(0, step - F - 1);
    const known = new Set();
    data.nodes.forEach((n, i) => { if (n.kind !== 'op') known.add(i); });
    data.forward.slice(0, forwardDone).forEach((i) => known.add(i));
    const latest = data.nodes.map(() => null);
    if (step > F) latest[data.root] = data.seed;
    const sent = new Set();
    for (let k = 0; k < gatesDone; ++k) {
      for (const e of data.gates[k].edges) { latest[e.input] = e; sent.add(e.edge); }
    }
    let current = -1, inputs = [], active = [], direction = '';
    if (step >= 1 && step <= F) {
      current = data.forward[step - 1];
      direction = 'forward';
      inputs = data.nodes[current].inputs;
      active = inputs.map((from, slot) => `edge-${from}-${current}-${slot}`);
    } else if (step === F + 1) {
      current = data.root;
      direction = 'backward';
    } else if (step > F + 1) {
      const gate = data.gates[gatesDone - 1];
      current = gate.node;
      direction = 'backward';
      inputs = gate.edges.map((e) => e.input);
      active = gate.edges.map((e) => e.edge);
    }
    return { known, latest, sent, current, inputs, active, direction, gatesDone };
  }

  function paintGraph(s) {
    data.nodes.forEach((n, i) => {
      const box = boxes[i];
      if (!box.g) return;
      box.g.classList.toggle('pending', !s.known.has(i));
      box.g.classList.toggle('current', i === s.current);
      box.g.classList.toggle('input', i !== s.current && s.inputs.includes(i));
      if (box.value) setText(box.value, s.known.has(i) ? n.box : '?');
      if (box.grad) setText(box.grad, s.latest[i] ? s.latest[i].box : n.blank);
    });
    edges.forEach((g, id) => {
      g.classList.toggle('sent', s.sent.has(id));
      g.classList.toggle('forward', s.direction === 'forward' && s.active.includes(id));
      g.classList.toggle('backward', s.direction === 'backward' && s.active.includes(id));
    });
  }

  function paintStep(s) {
    const title = byId('step-title');
    const body = byId('step-body');
    body.replaceChildren();
    const line = (text, className) => body.appendChild(make('p', className || 'formula', text));
    if (step === 0) {
      title.textContent = 'Start: the inputs';
      data.nodes.forEach((n) => {
        if (n.kind === 'input') line(`${n.label} = ${n.value}`, 'formula value');
      });
      line('Forward step (or →) computes the next node, in topological order.', 'hint');
    } else if (s.direction === 'forward') {
      const n = data.nodes[s.current];
      title.textContent = `Forward step ${step} of ${F}: ${n.label}`;
      line(n.title);
      if (n.values) line(`  = ${n.values}`);
      line(`  = ${n.value}`, 'formula value');
      if (step === F) {
        line('The forward pass is done. Backward step (or →) starts the backward pass.', 'hint');
      }
    } else if (step === F + 1) {
      title.textContent = `Backward step 1 of ${G + 1}: the seed`;
      line(data.seed.text, 'formula upstream');
      line('The backward pass starts at the output: its gradient with respect to itself is 1.',
        'hint');
    } else {
      const gate = data.gates[s.gatesDone - 1];
      const n = data.nodes[gate.node];
      title.textContent = `Backward step ${s.gatesDone + 1} of ${G + 1}: gate ${n.title}`;
      line(`upstream ${n.derivative} = ${gate.upstream}`, 'formula upstream');
      const fanIn = gate.edges.some((e) => e.sum);
      const table = make('table');
      const head = table.appendChild(make('tr'));
      ['to', 'local gradient', 'upstream x local = downstream']
        .concat(fanIn ? ['sum at the input'] : [])
        .forEach((h) => head.appendChild(make('th', '', h)));
      for (const e of gate.edges) {
        const input = data.nodes[e.input];
        const row = table.appendChild(make('tr'));
        let local = '—';
        if (e.elementwise) {
          local = `d${n.label}/d${input.label} = ${e.rule}`;
          if (e.local && e.local !== e.rule) local += ` = ${e.local}`;
        }
        else if (e.local) local = e.local;
        row.appendChild(make('td', 'formula', input.label));
        row.appendChild(make('td', 'formula', local));
        row.appendChild(make('td', 'formula', e.product));
        if (fanIn) row.appendChild(make('td', 'formula', e.sum || 'one path'));
      }
      body.appendChild(table);
      if (step === last) {
        line('The backward pass is done: every gradient is in the table below.', 'hint');
      }
    }
  }

  function paintGradients(s) {
    const table = byId('gradients');
    table.replaceChildren();
    data.nodes.forEach((n, i) => {
      if (n.kind !== 'input' || (n.paths === 0 && i !== data.root)) return;
      const e = s.latest[i];
      let text = '?';
      if (e && e.path < n.paths) text = `${e.total} (${e.path} of ${n.paths} paths so far)`;
      else if (e) text = e.total;
      const row = table.appendChild(make('tr'));
      row.appendChild(make('td', 'formula', n.derivative));
      const cell = row.appendChild(make('td', 'grad', text));
      cell.dataset.label = n.label;
    });
  }

  function paintLog() {
    const log = byId('log');
    log.replaceChildren();
    for (let k = 1; k <= step; ++k) {
      let text;
      if (k <= F) text = data.nodes[data.forward[k - 1]].line;
      else if (k === F + 1) text = data.seed.line;
      else text = data.gates[k - F - 2].line.trimEnd().replace(/^ {2}/gm, '');
      const item = log.appendChild(make('li', k === step ? 'current' : '', text));
      if (k === step) item.scrollIntoView({ block: 'nearest' });
    }
  }

  function render() {
    const s = state();
    paintGraph(s);
    paintStep(s);
    paintGradients(s);
    paintLog();
    byId('forward').disabled = step >= F;
    byId('backward').disabled = step < F || step >= last;
    byId('undo').disabled = step === 0;
    byId('reset').disabled = step === 0;
    byId('progress').textContent = `step ${step} of ${last}`;
  }

  function go(to) {
    step = Math.max(0, Math.min(last, to));
    render();
  }
  byId('forward').addEventListener('click', () => { if (step < F) go(step + 1); });
  byId('backward').addEventListener('click', () => { if (step >= F && step < last) go(step + 1); });
  byId('undo').addEventListener('click', () => go(step - 1));
  byId('reset').addEventListener('click', () => go(0));
  document.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const keys = { ArrowRight: step + 1, ArrowLeft: step - 1, Home: 0, End: last };
    if (!(event.key in keys)) return;
    event.preventDefault();
    go(keys[event.key]);
  });
  render();
})();
)js";

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
       << "<style>" << page_style << "</style>\n</head>\n<body>\n"
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
       << "</script>\n<script>" << page_script << "</script>\n</body>\n</html>\n";
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
