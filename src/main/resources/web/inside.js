// The Inside panel: attention heatmaps of every layer and head, and the embedding table as a 2-D scatter.
import { getJson, postJson } from './api.js';
import { visible, formatP } from './chars.js';

const $ = (id) => document.getElementById(id);
let drawn = { attention: null, embeddings: null, picked: null }; // what the page drew, for tests (window.__toygpt)

/**
 * One T x T heatmap on a canvas: row = query (the character looking), column = key (the character looked
 * at); darker = more weight. The characters run along the top and down the left side.
 */
function drawHeatmap(canvas, tokens, weights, cell, labels = true) {
  const T = tokens.length;
  const margin = labels && cell >= 8 ? Math.max(16, cell + 4) : 0; // room for the characters when they can be read
  const size = margin + T * cell;
  const g = blankCanvas(canvas, size);
  for (let q = 0; q < T; q++) {
    for (let k = 0; k < T; k++) {
      // Blue (Okabe-Ito #0072B2) at full weight, white at zero; the square root lets small weights show.
      const w = Math.sqrt(Math.max(0, Math.min(1, weights[q][k])));
      g.fillStyle = `rgb(${Math.round(255 - w * 255)}, ${Math.round(255 - w * (255 - 114))}, ${Math.round(255 - w * (255 - 178))})`;
      g.fillRect(margin + k * cell, margin + q * cell, cell, cell);
    }
  }
  if (margin) {
    g.fillStyle = '#222';
    g.font = `${Math.min(15, Math.max(10, cell))}px ui-monospace, monospace`;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    tokens.forEach((t, i) => {
      g.fillText(visible(t), margin + i * cell + cell / 2, margin / 2);
      g.fillText(visible(t), margin / 2, margin + i * cell + cell / 2);
    });
  }
  canvas.dataset.margin = String(margin); // where the cells are, for hover (and tests reading the pixels back)
  canvas.dataset.cell = String(cell);
  return { margin, cell };
}

/**
 * Every layer and head as a small heatmap (rows = layers, columns = heads), and the one picked (click or
 * Enter) drawn large with its characters, where hovering tells query, key and weight.
 */
function showAttention(answer, picked) {
  const box = $('i-heatmaps');
  box.replaceChildren();
  const T = answer.tokens.length;
  // Both sized to the height left below the text box (a projector shows about 1280 x 600 of page), so every
  // head and the large map's caption are in view without scrolling: small ones about 420 px wide at most.
  const top = box.getBoundingClientRect().top + window.scrollY;
  const room = Math.max(220, window.innerHeight - top - 56);
  const small = Math.max(2, Math.min(6, Math.floor(Math.min(400 / answer.nHead - 8, (room - 24) / answer.nLayer - 10) / T)));
  const large = Math.max(8, Math.min(22, Math.floor(room / (T + 1))));
  for (let layer = 0; layer < answer.nLayer; layer++) {
    const row = document.createElement('div');
    row.className = 'heat-row';
    const name = document.createElement('span');
    name.className = 'heat-layer';
    name.textContent = `layer ${layer + 1}`;
    row.append(name);
    for (let head = 0; head < answer.nHead; head++) {
      const canvas = document.createElement('canvas');
      canvas.className = 'heat-small';
      canvas.dataset.layer = String(layer);
      canvas.dataset.head = String(head);
      canvas.tabIndex = 0;
      canvas.setAttribute('role', 'button');
      canvas.setAttribute('aria-label', `layer ${layer + 1}, head ${head + 1}: show large`);
      canvas.title = `layer ${layer + 1} · head ${head + 1}`;
      drawHeatmap(canvas, answer.tokens, answer.weights[layer][head], small, false);
      const pick = () => { drawn.picked = { layer, head }; showAttention(answer, { layer, head, focus: true }); };
      canvas.addEventListener('click', pick);
      canvas.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); pick(); } });
      if (layer === picked.layer && head === picked.head) canvas.classList.add('picked');
      row.append(canvas);
    }
    box.append(row);
  }
  const heads = document.createElement('div');
  heads.className = 'heat-heads';
  heads.textContent = `one map per head (${answer.nHead} across) and layer: click one to see it large`;
  box.prepend(heads);
  showLarge(answer, picked, large);
  if (document.activeElement?.classList.contains('heat-small') || picked.focus) {
    box.querySelector(`canvas[data-layer="${picked.layer}"][data-head="${picked.head}"]`)?.focus();
  }
}

function showLarge(answer, { layer, head }, cell) {
  const canvas = $('i-large');
  const weights = answer.weights[layer][head];
  const T = answer.tokens.length;
  canvas.dataset.layer = String(layer);
  canvas.dataset.head = String(head);
  $('i-large-caption').textContent = `layer ${layer + 1} · head ${head + 1}: row = query (the character looking), `
    + 'column = key (the character looked at); darker = more attention';
  const geometry = drawHeatmap(canvas, answer.tokens, weights, cell);
  const tip = $('i-tip');
  tip.hidden = true; // a new map: the last one's cell is gone
  $('i-cell').hidden = true;
  // One cell told in words: below the heatmap, and in a tooltip next to the cell (read from afar on a projector).
  const tell = (q, k) => {
    const what = `query '${visible(answer.tokens[q])}' (position ${q + 1}) → key '${visible(answer.tokens[k])}'`
      + ` (position ${k + 1}): weight ${formatP(weights[q][k])}`;
    const ahead = k > q ? ' — a later character: always 0, the model may not look ahead' : '';
    $('i-hover').textContent = what + ahead;
    tip.replaceChildren();
    const line1 = document.createElement('div');
    line1.textContent = `'${visible(answer.tokens[q])}' looks at '${visible(answer.tokens[k])}'`;
    const line2 = document.createElement('div');
    line2.className = 'tip-weight';
    line2.textContent = `weight ${formatP(weights[q][k])}`;
    tip.append(line1, line2);
    tip.dataset.query = String(q);
    tip.dataset.key = String(k);
    tip.hidden = false;
    // Beside the cell, inside the figure; flipped to the left of the cell near the right edge.
    const x = canvas.offsetLeft + geometry.margin + (k + 1) * geometry.cell + 10;
    const y = canvas.offsetTop + geometry.margin + q * geometry.cell - 4;
    const room = canvas.offsetParent ? canvas.offsetParent.clientWidth : 1e9;
    tip.style.left = `${x + tip.offsetWidth > room ? x - tip.offsetWidth - geometry.cell - 20 : x}px`;
    tip.style.top = `${y}px`;
    // The cell itself outlined, so a room watching the projector sees which one is meant.
    const mark = $('i-cell');
    mark.style.left = `${canvas.offsetLeft + geometry.margin + k * geometry.cell - 2}px`;
    mark.style.top = `${canvas.offsetTop + geometry.margin + q * geometry.cell - 2}px`;
    mark.style.width = mark.style.height = `${geometry.cell + 4}px`;
    mark.hidden = false;
    cursor = { q, k };
  };
  let cursor = null;
  canvas.onmousemove = (e) => {
    const k = Math.floor((e.offsetX - geometry.margin) / geometry.cell);
    const q = Math.floor((e.offsetY - geometry.margin) / geometry.cell);
    if (q < 0 || k < 0 || q >= T || k >= T) { hide(); return; }
    tell(q, k);
  };
  const hide = () => { tip.hidden = true; $('i-cell').hidden = true; };
  canvas.onmouseleave = hide;
  // From the keyboard: the arrow keys move from cell to cell.
  canvas.onfocus = () => tell(cursor?.q ?? T - 1, cursor?.k ?? 0);
  canvas.onblur = hide;
  canvas.onkeydown = (e) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[e.key];
    if (!move) return;
    e.preventDefault();
    const at = cursor ?? { q: T - 1, k: 0 };
    tell(Math.max(0, Math.min(T - 1, at.q + move[0])), Math.max(0, Math.min(T - 1, at.k + move[1])));
  };
}

/** Sizes a square canvas for sharp drawing on high-density screens and paints it white; returns its context. */
function blankCanvas(canvas, size) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = size * ratio;
  canvas.height = size * ratio;
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, size, size);
  return g;
}

/** Each character drawn at its point; axes are the two principal components. */
function drawScatter(canvas, answer) {
  const size = 420, pad = 34;
  const g = blankCanvas(canvas, size);
  const xs = answer.points.map((p) => p[0]);
  const ys = answer.points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (size - 2 * pad);
  const sy = (y) => size - pad - ((y - y0) / (y1 - y0 || 1)) * (size - 2 * pad);
  g.strokeStyle = '#bbb';
  g.strokeRect(pad - 10, pad - 10, size - 2 * pad + 20, size - 2 * pad + 20);
  g.fillStyle = '#444';
  g.font = '13px system-ui, sans-serif';
  g.textAlign = 'center';
  const [e1, e2] = answer.explained ?? [null, null];
  g.fillText(`direction 1${e1 != null ? ` (${(e1 * 100).toFixed(0)}% of variance)` : ''}`, size / 2, size - 6);
  g.save();
  g.translate(12, size / 2);
  g.rotate(-Math.PI / 2);
  g.fillText(`direction 2${e2 != null ? ` (${(e2 * 100).toFixed(0)}% of variance)` : ''}`, 0, 0);
  g.restore();
  g.font = '17px ui-monospace, monospace';
  g.textBaseline = 'middle';
  answer.chars.forEach((c, i) => {
    // Letters, digits and the rest in three Okabe-Ito colours: groups the model learned become visible.
    g.fillStyle = /\p{L}/u.test(c) ? (c === c.toUpperCase() ? '#D55E00' : '#0072B2') : /\d/.test(c) ? '#009E73' : '#000';
    g.fillText(visible(c), sx(xs[i]), sy(ys[i]));
  });
}

export function setupInside({ checkpoint, showError, clearError }) {
  const status = $('i-status');

  async function look() {
    const id = checkpoint();
    if (!id) return;
    status.textContent = 'looking…';
    const text = $('i-text').value;
    const [attention, embeddings] = await Promise.allSettled([
      postJson('/api/attention', { checkpoint: id, text }),
      getJson(`/api/embeddings?checkpoint=${encodeURIComponent(id)}`),
    ]);
    const problems = [];
    if (attention.status === 'fulfilled') {
      drawn.attention = attention.value;
      const keep = drawn.picked && drawn.picked.layer < attention.value.nLayer && drawn.picked.head < attention.value.nHead;
      showAttention(attention.value, keep ? drawn.picked : { layer: 0, head: 0 });
    } else {
      drawn.attention = null;
      $('i-heatmaps').replaceChildren();
      problems.push(attention.reason.message);
    }
    if (embeddings.status === 'fulfilled') {
      drawn.embeddings = embeddings.value;
      drawScatter($('i-scatter'), embeddings.value);
      $('i-scatter').hidden = false;
    } else {
      drawn.embeddings = null;
      $('i-scatter').hidden = true;
      problems.push(embeddings.reason.message);
    }
    if (problems.length) showError(problems.join('; ')); else clearError();
    status.textContent = attention.status === 'fulfilled'
      ? `${attention.value.tokens.length} characters, ${attention.value.nLayer} layers × ${attention.value.nHead} heads` : '';
    $('i-heatmaps').dataset.version = String(Date.now());
  }

  $('i-look').addEventListener('click', look);
  $('i-text').addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); look(); } });
  return { refresh: look, drawn: () => drawn };
}
