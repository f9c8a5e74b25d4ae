// The page of `retrograd trace --html` in a real browser: headless Chromium loads it, a student's
// clicks step through the forward and the backward pass, and the gradients shown are checked.
//
//   RETROGRAD=build/tools/retrograd DENSE_NEURON=build/examples/dense_neuron \
//     [SCREENSHOT=gates.png] [SCREENSHOT_DENSE=dense.png] [CHROMIUM=/usr/bin/chromium] \
//     node --test step_through.test.mjs

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import puppeteer from 'puppeteer-core';

const cli = process.env.RETROGRAD;
const denseNeuron = process.env.DENSE_NEURON;
if (!cli || !denseNeuron) {
  throw new Error('set RETROGRAD and DENSE_NEURON to the retrograd and dense_neuron binaries');
}
const work = mkdtempSync(path.join(tmpdir(), 'retrograd-browser-'));
let browser;

before(async () => {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${path.join(work, 'profile')}`],
  });
});

after(async () => {
  if (browser) await browser.close();
  rmSync(work, { recursive: true, force: true });
});

/** Opens a page; `problems` collects every console error, page error and request that leaves
 * the file. */
async function open(file) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 720 });
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith('file:') && !request.url().startsWith('data:')) {
      problems.push(`network request: ${request.url()}`);
    }
  });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return { page, problems };
}

/** Writes the page of an expression with the CLI and opens it. */
async function openPage(name, expression, ...values) {
  const file = path.join(work, `${name}.html`);
  execFileSync(cli, ['trace', expression, ...values, '--html', file], { stdio: 'pipe' });
  return open(file);
}

const isDisabled = (page, id) => page.$eval(`#${id}`, (button) => button.disabled);

/** Clicks a button until it is disabled; returns how many clicks it took. */
async function clickThrough(page, id) {
  let clicks = 0;
  while (!(await isDisabled(page, id))) {
    await page.click(`#${id}`);
    clicks += 1;
    assert.ok(clicks < 100, `#${id} never got disabled`);
  }
  return clicks;
}

/** The gradients table: derivative name -> text shown. */
const gradients = (page) => page.$$eval('#gradients tr', (rows) =>
  Object.fromEntries(rows.map((row) => [row.cells[0].textContent, row.cells[1].textContent])));

/** The texts of a node's box in the graph: title, value, gradient. */
const box = (page, label) => page.$$eval('#graph g.node', (nodes, wanted) => {
  const node = nodes.find((g) => g.querySelector('title').textContent === wanted);
  return node ? Array.from(node.querySelectorAll('text'), (t) => t.textContent) : null;
}, label);

test('(x+y)z at x=-2, y=5, z=-4: clicking through both passes shows -4, -4, 3', async () => {
  const { page, problems } = await openPage('gates', '(x + y) * z', 'x=-2', 'y=5', 'z=-4');
  assert.deepEqual(await gradients(page), { 'df/dx': '?', 'df/dy': '?', 'df/dz': '?' });
  assert.equal(await isDisabled(page, 'backward'), true, 'backward before the forward pass');
  assert.deepEqual(await box(page, 'n1'), ['n1 = x + y', '?', 'df/dn1 = ?']);

  assert.equal(await clickThrough(page, 'forward'), 2);
  assert.deepEqual(await box(page, 'n1'), ['n1 = x + y', '3', 'df/dn1 = ?']);
  assert.deepEqual(await box(page, 'f'), ['f = n1 * z', '-12', 'df/df = ?']);

  assert.equal(await clickThrough(page, 'backward'), 3, 'the seed and two gates');
  assert.deepEqual(await gradients(page), { 'df/dx': '-4', 'df/dy': '-4', 'df/dz': '3' });
  assert.deepEqual(await box(page, 'x'), ['x', '-2', 'df/dx = -4']);
  assert.deepEqual(await box(page, 'z'), ['z', '-4', 'df/dz = 3']);
  assert.deepEqual(await box(page, 'n1'), ['n1 = x + y', '3', 'df/dn1 = -4']);
  // The last gate: upstream, local gradient and downstream of the add gate.
  const step = await page.$eval('#step-body', (e) => e.innerText);
  assert.match(step, /upstream df\/dn1 = -4/);
  assert.match(step, /dn1\/dx = 1/);
  assert.match(step, /-4 x 1 = -4/);
  const current = await page.$$eval('#graph g.node.current title', (t) => t.map((e) => e.textContent));
  assert.deepEqual(current, ['n1']);

  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });

  // The arrow keys: one step back forgets the add gate's gradients, one step forward shows them.
  await page.keyboard.press('ArrowLeft');
  assert.deepEqual(await gradients(page), { 'df/dx': '?', 'df/dy': '?', 'df/dz': '3' });
  await page.keyboard.press('ArrowRight');
  assert.deepEqual(await gradients(page), { 'df/dx': '-4', 'df/dy': '-4', 'df/dz': '3' });
  await page.click('#reset');
  assert.deepEqual(await box(page, 'f'), ['f = n1 * z', '?', 'df/df = ?']);
  assert.deepEqual(problems, []);
});

test('x*y + x: x collects the gradients of two paths and the page shows their sum', async () => {
  const { page, problems } = await openPage('fan_in', 'x * y + x', 'x=3', 'y=2');
  await clickThrough(page, 'forward');
  await page.click('#backward');  // the seed
  await page.click('#backward');  // f = n1 + x: x gets 1 (its first path)
  assert.deepEqual(await gradients(page), { 'df/dx': '1 (1 of 2 paths so far)', 'df/dy': '?' });
  assert.deepEqual(await box(page, 'x'), ['x', '3', 'df/dx = 1 (1 of 2)']);
  await page.click('#backward');  // n1 = x * y: x gets 2 more
  assert.deepEqual(await gradients(page), { 'df/dx': '3', 'df/dy': '3' });
  assert.deepEqual(await box(page, 'x'), ['x', '3', 'df/dx = 3']);
  assert.match(await page.$eval('#step-body', (e) => e.innerText), /1 \+ 2 = 3 \(path 2 of 2\)/);
  assert.equal(await isDisabled(page, 'backward'), true);
  assert.deepEqual(problems, []);
});

test('a dense neuron: tensors with their shapes, the bias summing its broadcast rows', async () => {
  execFileSync(denseNeuron, [work], { stdio: 'pipe' });
  const { page, problems } = await open(path.join(work, 'dense_neuron.html'));
  await clickThrough(page, 'forward');
  assert.deepEqual((await box(page, 'X')).slice(0, 2),
    ['X', '[[0, 0], [0, 1], [1, 0], [1, 1]] (4x2)']);
  assert.equal((await box(page, 'n1'))[1], '[[0], [-1], [0.5], [-0.5]] (4x1)');
  assert.equal(await clickThrough(page, 'backward'), 8, 'the seed and seven gates');
  // dC/dz_i = (a_i - t_i) sigmoid'(z_i) / 4; W sums them over the rows where its input is 1
  assert.deepEqual(await gradients(page), {
    'dC/dW': '[[-0.052069], [-0.0715901]] (2x1)',
    'dC/db': '[-0.0544737] (1)',
  });
  assert.match(await page.$eval('#step-body', (e) => e.innerText),
    /X\^T \. upstream = \[\[-0\.052069\], \[-0\.0715901\]\] \(2x1\)/);
  if (process.env.SCREENSHOT_DENSE) {
    await page.screenshot({ path: process.env.SCREENSHOT_DENSE, fullPage: true });
  }
  assert.deepEqual(problems, []);
});
