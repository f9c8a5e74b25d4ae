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
