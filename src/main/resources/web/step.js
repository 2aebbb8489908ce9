// The One step panel: the next-character distribution as bars, reshaped at once when a knob moves.
import { postJson } from './api.js';
import { visible, visibleText, formatP } from './chars.js';
import { samplingOf } from './write.js';

const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

let latest = null;   // the last answer of /api/next that was drawn, for tests (window.__toygpt.next)
let asked = 0;       // numbers the requests, so a slow old answer never overwrites a newer one
let timer = null;

/**
 * The bars to draw: the ten characters the model itself finds likeliest (temperature 1), so the bars stay
 * in place while the knobs move and a filtered-out character visibly drops to zero; then the drawn
 * character if it is not among them; then "the rest", the probability of all the others.
 */
export function barsOf(answer) {
  const order = answer.rawProbs.map((p, id) => id).sort((a, b) => answer.rawProbs[b] - answer.rawProbs[a] || a - b);
  const ids = order.slice(0, 10);
  const drawn = answer.drawn ? answer.drawn.id : -1;
  if (drawn >= 0 && !ids.includes(drawn)) ids.push(drawn);
  const bars = ids.map((id) => ({ label: visible(answer.vocab[id]), char: answer.vocab[id], p: answer.probs[id],
    raw: answer.rawProbs[id], drawn: id === drawn }));
  const inBars = bars.reduce((s, b) => s + b.p, 0);
  const rawIn = bars.reduce((s, b) => s + b.raw, 0);
  bars.push({ label: 'the rest', char: null, p: Math.max(0, answer.probs.reduce((s, p) => s + p, 0) - inBars),
    raw: Math.max(0, 1 - rawIn), drawn: false, rest: true });
  return bars;
}

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

/** Horizontal bars: label, bar (length = p), the p value; a thin tick marks the model's own probability. */
function drawBars(svg, bars) {
  const rowH = 23, labelW = 110, valueW = 70; // eleven rows and the key below them fit a projector's height
  const width = Math.max(400, svg.clientWidth || 700);
  const barW = width - labelW - valueW - 10;
  svg.setAttribute('viewBox', `0 0 ${width} ${bars.length * rowH + 4}`);
  svg.setAttribute('height', bars.length * rowH + 4);
  svg.replaceChildren();
  bars.forEach((b, i) => {
    const y = i * rowH + 2;
    const g = el('g', { class: `bar${b.drawn ? ' drawn' : ''}${b.rest ? ' rest' : ''}`, 'data-p': b.p,
      'data-raw': b.raw, 'data-char': b.char ?? '' });
    g.append(el('title', {}, `${b.rest ? 'all other characters' : `'${b.label}'`}: p = ${formatP(b.p)} (model: ${formatP(b.raw)})`));
    g.append(el('text', { x: labelW - 10, y: y + rowH * 0.7, 'text-anchor': 'end', class: b.rest ? 'bar-label rest' : 'bar-label' }, b.label));
    g.append(el('rect', { x: labelW, y: y + 4, width: barW, height: rowH - 8, class: 'bar-track' }));
    g.append(el('rect', { x: labelW, y: y + 4, width: Math.max(0, b.p * barW), height: rowH - 8, class: 'bar-fill' }));
    g.append(el('line', { x1: labelW + b.raw * barW, x2: labelW + b.raw * barW, y1: y + 1, y2: y + rowH - 1, class: 'bar-raw' }));
    g.append(el('text', { x: labelW + barW + 8, y: y + rowH * 0.7, class: 'bar-value' }, formatP(b.p)));
    svg.append(g);
  });
}

export function setupStep({ checkpoint, showError, clearError }) {
  const status = $('s-status');

  /** Asks /api/next for the current text and draws the answer; draw=true also draws one character. */
  async function ask(draw = false) {
    const id = checkpoint();
    if (!id) return null;
    const mine = ++asked;
    const body = { checkpoint: id, text: $('s-text').value, ...samplingOf('s'), draw };
    try {
      const answer = await postJson('/api/next', body);
      if (mine !== asked) return null; // a newer question was asked meanwhile
      clearError();
      latest = { ...answer, bars: barsOf(answer), settings: body };
      $('s-context').textContent = visibleText(answer.context);
      drawBars($('s-bars'), latest.bars);
      $('s-bars').dataset.version = String(mine);
      return answer;
    } catch (e) {
      if (mine === asked) showError(e.message);
      return null;
    }
  }

  /** Knob moves come in bursts (dragging a slider): ask once the hand pauses for a moment. */
  function askSoon() {
    clearTimeout(timer);
    timer = setTimeout(() => ask(false), 80);
  }

  const outputs = { 's-temperature': (v) => Number(v).toFixed(2), 's-topk': (v) => (Number(v) === 0 ? 'off' : v),
    's-topp': (v) => Number(v).toFixed(2) };
  for (const [input, fmt] of Object.entries(outputs)) {
    $(input).addEventListener('input', () => { $(`${input}-out`).textContent = fmt($(input).value); askSoon(); });
  }
  for (const input of ['s-greedy', 's-seed']) $(input).addEventListener('change', askSoon);
  $('s-text').addEventListener('input', askSoon);
  $('s-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); drawOne(); }
  });
  $('step-form').addEventListener('submit', (e) => e.preventDefault());

  async function drawOne() {
    const answer = await ask(true);
    if (!answer || !answer.drawn) return;
    $('s-text').value += answer.drawn.char;
    status.textContent = `drew '${visible(answer.drawn.char)}' (p = ${formatP(answer.drawn.p)})`;
    // The seed moves on, so the next draw is a new random number, and a whole sequence can be replayed.
    $('s-seed').value = String(Number($('s-seed').value) + 1);
  }
  $('s-draw').addEventListener('click', drawOne);

  return { refresh: () => ask(false), latest: () => latest };
}
