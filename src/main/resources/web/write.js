// The Write panel: streams a continuation of the prompt, each character shaded by its probability.
import { postStream } from './api.js';
import { shade, formatP } from './chars.js';

let controller = null; // the AbortController of the generation in progress, if any

const $ = (id) => document.getElementById(id);

/** The sampling settings of a panel's knobs (ids prefix-temperature, prefix-topk, ...), as the API wants them. */
export function samplingOf(prefix) {
  const value = (name) => Number($(`${prefix}-${name}`).value);
  return {
    temperature: value('temperature'),
    topK: Math.round(value('topk')), // not clamped: the server checks the limits and says what is wrong
    topP: value('topp'),
    greedy: $(`${prefix}-greedy`).checked,
    seed: Math.round(value('seed')),
  };
}

/** Appends one character to a text box as a span shaded by p, with p on hover. */
export function appendChar(box, text, p) {
  const span = document.createElement('span');
  span.className = text === '\n' ? 'tok nl' : 'tok';
  span.textContent = text;
  span.dataset.p = String(p);
  span.style.background = shade(p);
  span.title = `p = ${formatP(p)}`;
  box.append(span);
  return span;
}

/** Appends text that the user wrote (the prompt): not shaded, underlined. */
export function appendPlain(box, text, cls = 'prompt') {
  const span = document.createElement('span');
  span.className = cls;
  span.textContent = text;
  box.append(span);
  return span;
}

/**
 * Honours a busy server's Retry-After: the button stays off for that many seconds, counting down on its
 * label, so nobody hammers a server that asked for a pause.
 */
export function holdFor(button, seconds) {
  const label = button.dataset.label ?? button.textContent;
  button.dataset.label = label;
  button.disabled = true;
  let left = seconds;
  const tick = () => {
    if (left <= 0) {
      button.textContent = label;
      button.disabled = false;
      delete button.dataset.held;
      return;
    }
    button.textContent = `${label} (${left} s)`;
    button.dataset.held = String(left);
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
}

export function setupWrite({ checkpoint, showError, clearError }) {
  const output = $('w-output');
  const status = $('w-status');
  const generate = $('w-generate');
  const stop = $('w-stop');

  for (const [input, out, digits] of [['w-temperature', 'w-temperature-out', 2], ['w-topp', 'w-topp-out', 2]]) {
    $(input).addEventListener('input', () => { $(out).textContent = Number($(input).value).toFixed(digits); });
  }

  async function run() {
    if (controller || generate.dataset.held) return; // Enter in the prompt while the button waits out a busy server
    const id = checkpoint();
    if (!id) { showError('Pick a model first: no checkpoint yet.'); return; }
    const length = Number($('w-length').value);
    if (!(length >= 1 && length <= 2000)) { showError('length must be between 1 and 2000 characters'); return; }
    clearError();
    controller = new AbortController();
    generate.disabled = true;
    stop.disabled = false;
    output.replaceChildren();
    output.dataset.state = 'running';
    status.textContent = 'generating…';
    let count = 0;
    let busyFor = 0;
    const started = performance.now();
    try {
      await postStream('/api/generate', {
        checkpoint: id, prompt: $('w-prompt').value, maxNewTokens: length, ...samplingOf('w'),
      }, controller.signal, (event, data) => {
        if (event === 'start') {
          appendPlain(output, data.prompt);
          if (data.dropped) status.textContent = `generating… (${data.dropped})`;
        } else if (event === 'token') {
          appendChar(output, data.text, data.p);
          count++;
        } else if (event === 'done') {
          const why = { length: 'reached the length', time: 'stopped: time limit', stopped: 'stopped' }[data.reason] ?? data.reason;
          const seconds = (performance.now() - started) / 1000;
          status.textContent = `${data.tokens} characters in ${seconds.toFixed(1)} s, ${why}`;
        } else if (event === 'error') {
          showError(data.error);
        }
      });
      output.dataset.state = 'done';
    } catch (e) {
      if (e.name === 'AbortError') {
        status.textContent = `stopped after ${count} characters`;
        output.dataset.state = 'stopped';
      } else {
        showError(e.message);
        status.textContent = '';
        output.dataset.state = e.status === 429 ? 'busy' : 'error';
      }
      if (e.status === 429) busyFor = e.retryAfter;
    } finally {
      controller = null;
      stop.disabled = true;
      if (busyFor) holdFor(generate, busyFor); else generate.disabled = false;
    }
  }

  generate.addEventListener('click', run);
  stop.addEventListener('click', () => controller?.abort());
  $('write-form').addEventListener('submit', (e) => { e.preventDefault(); run(); });
  $('w-prompt').addEventListener('keydown', (e) => {
    // Enter generates; Shift+Enter keeps its usual meaning, a new line in the prompt.
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); run(); }
  });
  return { generatedText: () => [...output.querySelectorAll('.tok')].map((s) => s.textContent).join('') };
}
