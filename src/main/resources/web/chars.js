// Small helpers for showing characters and probabilities.

/** A character as a learner can see it: whitespace gets a visible sign. */
export function visible(ch) {
  switch (ch) {
    case '\n': return '⏎';
    case ' ': return '␣';
    case '\t': return '⇥';
    case '\r': return '↵';
    default: return ch;
  }
}

/** A whole string with its whitespace made visible. */
export function visibleText(text) {
  return Array.from(text, visible).join('');
}

/**
 * The background of a generated character with probability p. The less likely the character was,
 * the stronger the orange: a learner's eye goes to where the model was unsure or surprised.
 */
export function shade(p) {
  const alpha = Math.min(0.85, Math.pow(Math.max(0, 1 - p), 1.3) * 0.85);
  return `rgba(230, 159, 0, ${alpha.toFixed(3)})`;
}

/** p as a short number: 0.532, 0.0041. */
export function formatP(p) {
  if (p >= 0.01 || p === 0) return p.toFixed(3);
  return p.toPrecision(2);
}

/** The Okabe-Ito palette: eight colours told apart with every common colour blindness. */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
