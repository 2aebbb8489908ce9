// The ToyGPT playground: wires the panels together. Each panel lives in its own module:
// runs.js (runs and loss charts), write.js (streaming generation), step.js (the next-character bars),
// inside.js (attention and embeddings), chat.js (the chat loop); api.js talks to the server.
import { loadRuns, reloadRuns, setRuns, addMetrics, renderChart, chartState } from './runs.js';
import { setupWrite } from './write.js';
import { setupStep } from './step.js';
import { setupInside } from './inside.js';
import { setupChat } from './chat.js';
import { shade } from './chars.js';

const $ = (id) => document.getElementById(id);

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $('error').hidden = true;
}

/** The checkpoint id picked in the header, or null when there is none yet. */
function checkpoint() {
  return $('checkpoint').value || null;
}

let pickerKey = null; // the choices the picker shows now

/** Fills the picker with every run's checkpoints, keeping the current choice when it still exists. */
function fillPicker(runs) {
  const select = $('checkpoint');
  const before = select.value;
  const withCheckpoints = runs.filter((r) => r.checkpoints && r.checkpoints.length);
  // Rebuilt only when the choices changed: a list replaced under the user's hand would close it.
  const key = JSON.stringify(withCheckpoints.map((r) => r.checkpoints.map((c) => [c.id, c.label])));
  if (key === pickerKey) return false;
  pickerKey = key;
  select.replaceChildren();
  for (const run of withCheckpoints) {
    const group = document.createElement('optgroup');
    group.label = `${run.id} (${run.model})`;
    for (const c of run.checkpoints) {
      const option = document.createElement('option');
      option.value = c.id;
      option.textContent = `${run.id} · ${c.label ?? c.id}`;
      group.append(option);
    }
    select.append(group);
  }
  if (withCheckpoints.length === 0) {
    const option = document.createElement('option');
    option.value = '';
    option.textContent = 'no checkpoint yet';
    select.append(option);
  }
  if ([...select.options].some((o) => o.value === before)) select.value = before;
  return select.value !== before;
}

/** Tabs: one panel at a time, so each fills a projector's screen. */
function setupTabs(onShow) {
  const tabs = [...document.querySelectorAll('[role=tab]')];
  function select(tab) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
    const name = tab.id.replace('tab-', '');
    history.replaceState(null, '', `#${name}`); // a link or a reload opens the same panel
    onShow(name);
  }
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => select(tab));
    // Arrow keys move between tabs, as in every tab strip.
    tab.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      select(next);
    });
  });
  const fromHash = () => tabs.find((t) => `#${t.id.replace('tab-', '')}` === location.hash);
  window.addEventListener('hashchange', () => { if (fromHash()) select(fromHash()); });
  select(fromHash() ?? tabs[0]);
}

/** The server's event stream: new metrics rows and changes in the list of runs, without reloading. */
function listen() {
  const live = $('live');
  const events = new EventSource('/api/events');
  let lost = false;
  events.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live on';
    // The stream sends only rows written while connected: after a break, read everything again.
    if (lost) reloadRuns().then(fillPicker).catch((e) => showError(`cannot list the runs: ${e.message}`));
    lost = false;
  });
  events.addEventListener('error', () => {
    // EventSource reconnects by itself; until then the page says its figures may be behind.
    lost = true;
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  });
  events.addEventListener('metrics', (e) => {
    const data = JSON.parse(e.data);
    addMetrics(data.id, data.rows);
  });
  events.addEventListener('runs', async (e) => {
    const data = JSON.parse(e.data);
    await setRuns(data.runs);
    if (fillPicker(data.runs)) panels.checkpointChanged();
  });
  return events;
}

const ctx = { checkpoint, showError, clearError };
const write = setupWrite(ctx);
const step = setupStep(ctx);
const inside = setupInside(ctx);
const chat = setupChat(ctx);
let current = 'runs';

const panels = {
  // The panels that show the model's answers for the current text ask again when the model changes.
  checkpointChanged() {
    if (current === 'step') step.refresh();
    if (current === 'inside') inside.refresh();
  },
};

setupTabs((name) => {
  current = name;
  if (name === 'runs') renderChart(); // a hidden chart has no width: size it now that it shows
  if (name === 'step') step.refresh();
  if (name === 'inside') inside.refresh();
});
$('checkpoint').addEventListener('change', () => panels.checkpointChanged());
window.addEventListener('resize', () => { if (current === 'runs') renderChart(); });

// A small window into the page's state, for the browser tests and for the curious in the console.
window.__toygpt = {
  chart: chartState,
  next: () => step.latest(),
  attention: () => inside.drawn().attention,
  embeddings: () => inside.drawn().embeddings,
  generated: () => write.generatedText(),
  conversation: () => chat.conversation(),
  ready: false,
};

loadRuns()
  .then((runs) => {
    fillPicker(runs);
    panels.checkpointChanged(); // a page opened on #step or #inside shows its model's answer at once
    window.__toygpt.ready = true;
  })
  .catch((e) => showError(`cannot list the runs: ${e.message}`));
window.__toygpt.events = listen();

// A browser opens at most six connections to one server, and a page kept in the back/forward cache would
// keep its event stream open: close it when the page goes away, open a new one if it comes back.
window.addEventListener('pagehide', () => window.__toygpt.events.close());
window.addEventListener('pageshow', (e) => {
  if (!e.persisted) return;
  window.__toygpt.events = listen();
  reloadRuns().then(fillPicker).catch((x) => showError(`cannot list the runs: ${x.message}`));
});

// The legend's swatches use the same shading as the text.
for (const s of document.querySelectorAll('.swatch')) s.style.background = shade(Number(s.dataset.p));
