// The Runs panel: the list of runs and their loss curves, kept up to date by the server's event stream.
import { getJson, runPath } from './api.js';
import { OKABE_ITO, visibleText } from './chars.js';

// Chart colours: Okabe-Ito without its yellow, which is too pale on white for a projector.
const RUN_COLOURS = OKABE_ITO.filter((c) => c !== '#F0E442');

const runs = new Map();      // id -> the run as listed by /api/runs
const metrics = new Map();   // id -> [{step, trainLoss, valLoss, ...}], in step order
const shown = new Set();     // ids of the runs drawn on the chart
let chart = null;            // the uPlot instance, rebuilt when the set of shown runs changes
let chartKey = '';

const table = () => document.querySelector('#runs-table tbody');
const chartBox = () => document.getElementById('loss-chart');

/** Loads the listing and the metrics of every run, then draws. Returns the runs. */
export async function loadRuns() {
  const listing = await getJson('/api/runs');
  document.getElementById('runs-dir').textContent = listing.runsDir ?? 'runs';
  await setRuns(listing.runs);
  return listing.runs;
}

/** Forgets every run's metrics and loads them all again (after the event stream was interrupted). */
export async function reloadRuns() {
  runs.clear();
  metrics.clear();
  return loadRuns();
}

/** A new listing (from /api/runs or the 'runs' event): fetches metrics of runs not seen before. */
export async function setRuns(list) {
  const fresh = list.filter((r) => !runs.has(r.id));
  runs.clear();
  for (const r of list) runs.set(r.id, r);
  for (const id of [...shown]) if (!runs.has(id)) shown.delete(id);
  // At first, show the most recently updated run so the chart is never empty when there is a run.
  if (shown.size === 0 && list.length > 0) {
    shown.add([...list].sort((a, b) => (b.updated ?? 0) - (a.updated ?? 0))[0].id);
  }
  await Promise.all(fresh.map(async (r) => {
    const m = await getJson(`${runPath(r.id)}/metrics`);
    mergeRows(r.id, m.rows);
  }));
  renderTable();
  renderChart();
}

/** New metrics rows of one run (the 'metrics' event). */
export function addMetrics(id, rows) {
  mergeRows(id, rows);
  const run = runs.get(id);
  if (run && rows.length > 0) {
    const last = rows[rows.length - 1];
    run.step = Math.max(run.step ?? 0, last.step);
    run.lastTrainLoss = last.trainLoss;
    run.lastValLoss = last.valLoss;
    if (last.valLoss != null && (run.bestValLoss == null || last.valLoss < run.bestValLoss)) run.bestValLoss = last.valLoss;
    renderTable();
  }
  if (shown.has(id)) renderChart();
}

/** Keeps one row per step (a resumed run may send a step again), sorted by step. */
function mergeRows(id, rows) {
  const byStep = new Map((metrics.get(id) ?? []).map((r) => [r.step, r]));
  for (const r of rows) byStep.set(r.step, r);
  metrics.set(id, [...byStep.values()].sort((a, b) => a.step - b.step));
}

function colourOf(id) {
  const ids = [...runs.keys()].sort();
  return RUN_COLOURS[Math.max(0, ids.indexOf(id)) % RUN_COLOURS.length];
}

function renderTable() {
  const body = table();
  body.replaceChildren();
  const list = [...runs.values()].sort((a, b) => a.id.localeCompare(b.id));
  document.getElementById('runs-empty').hidden = list.length > 0;
  for (const run of list) {
    const tr = document.createElement('tr');
    tr.dataset.run = run.id;
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = shown.has(run.id);
    box.setAttribute('aria-label', `show ${run.id} on the chart`);
    box.addEventListener('change', () => {
      if (box.checked) shown.add(run.id); else shown.delete(run.id);
      renderChart();
      renderSample();
    });
    const swatch = document.createElement('span');
    swatch.className = 'run-swatch';
    swatch.style.background = colourOf(run.id);
    const name = document.createElement('span');
    name.textContent = run.id;
    const nameCell = cell('', 'run-name');
    nameCell.append(swatch, name);
    if (run.training) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = 'training';
      nameCell.append(badge);
    }
    const check = cell('');
    check.append(box);
    tr.append(check, nameCell, cell(run.model ?? '–'),
      cell(run.parameters != null ? run.parameters.toLocaleString('en') : '–', 'num'),
      cell(`${(run.step ?? 0).toLocaleString('en')} / ${run.maxIters != null ? run.maxIters.toLocaleString('en') : '–'}`, 'num'),
      cell(run.bestValLoss != null ? run.bestValLoss.toFixed(3) : '–', 'num'));
    body.append(tr);
  }
  renderSample();
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

/** The latest sample of each run shown on the chart. */
function renderSample() {
  const box = document.getElementById('run-sample');
  box.replaceChildren();
  for (const id of shown) {
    const run = runs.get(id);
    if (!run || !run.sample) continue;
    const head = document.createElement('div');
    head.className = 'sample-head';
    head.textContent = `Latest sample of ${id} (step ${run.step ?? 0}):`;
    const text = document.createElement('pre');
    text.textContent = run.sample;
    box.append(head, text);
  }
}

/**
 * uPlot wants one x array shared by all series: the union of the shown runs' steps, with null where a
 * run has no row at that step (spanGaps draws the line across).
 */
function chartData(ids) {
  const steps = [...new Set(ids.flatMap((id) => (metrics.get(id) ?? []).map((r) => r.step)))].sort((a, b) => a - b);
  const data = [steps];
  for (const id of ids) {
    const byStep = new Map((metrics.get(id) ?? []).map((r) => [r.step, r]));
    data.push(steps.map((s) => byStep.get(s)?.trainLoss ?? null));
    data.push(steps.map((s) => byStep.get(s)?.valLoss ?? null));
  }
  return data;
}

/** As tall as the window allows under the tabs (a projector has few pixels to spare), within limits. */
function chartHeight() {
  return Math.max(220, Math.min(420, window.innerHeight - 250));
}

function chartOptions(ids, width) {
  const axis = { font: '15px system-ui, sans-serif', labelFont: 'bold 15px system-ui, sans-serif', stroke: '#222',
    grid: { stroke: '#e4e4e4' }, ticks: { stroke: '#ccc' } };
  const series = [{ label: 'step' }];
  for (const id of ids) {
    const colour = colourOf(id);
    series.push({ label: `${id} train`, stroke: colour, width: 2, dash: [8, 6], spanGaps: true, points: { show: false } });
    series.push({ label: `${id} val`, stroke: colour, width: 3, spanGaps: true });
  }
  return {
    width,
    height: chartHeight(),
    scales: { x: { time: false } },
    series,
    axes: [{ ...axis, label: 'step', labelSize: 28 }, { ...axis, label: 'loss (nats per character)', labelSize: 30, size: 60 }],
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
  };
}

/** Draws (or redraws) the chart of the shown runs. Recreated when the set changes, updated otherwise. */
export function renderChart() {
  const box = chartBox();
  const ids = [...shown].filter((id) => runs.has(id)).sort();
  const data = chartData(ids);
  box.dataset.points = String(ids.reduce((n, id) => n + (metrics.get(id)?.length ?? 0), 0));
  box.dataset.runs = ids.join(',');
  if (typeof uPlot === 'undefined') return; // the WebJar did not load: the table still works
  const width = Math.max(300, box.clientWidth || 600);
  const key = ids.join('|');
  if (chart && key === chartKey) {
    chart.setData(data);
    if (Math.abs(chart.width - width) > 2 || chart.height !== chartHeight()) chart.setSize({ width, height: chartHeight() });
    return;
  }
  if (chart) chart.destroy();
  box.replaceChildren();
  chartKey = key;
  chart = ids.length ? new uPlot(chartOptions(ids, width), data, box) : null;
}

/** What the page has drawn, for tests and the curious (window.__toygpt). */
export function chartState() {
  const ids = [...shown].sort();
  return { runs: ids, points: Object.fromEntries(ids.map((id) => [id, metrics.get(id)?.length ?? 0])) };
}
