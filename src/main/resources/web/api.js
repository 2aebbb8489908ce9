// Talking to the ToyGPT server: JSON requests, and the event streams of /api/generate and /api/chat.

/** An error from the API, with the message the server wrote for people (and, when busy, the seconds to wait). */
export class ApiError extends Error {
  constructor(status, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Turns a failed response into an ApiError whose message can be shown as it is. */
async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 429) {
    // Busy: the server writes for a few pages at once and asks the others to come back after Retry-After.
    const wait = Math.max(1, Math.min(60, Number(response.headers.get('Retry-After')) || 2));
    return new ApiError(429, `The server is busy writing other texts (it writes only a few at once). `
      + `Try again in ${wait} s: the button counts down.`, wait);
  }
  return new ApiError(response.status, message);
}

export async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw await failure(response);
  return response.json();
}

export async function postJson(url, body, signal) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/**
 * POSTs body and calls onEvent(name, data) for every server-sent event of the answer, as it arrives.
 * EventSource can only GET, so the stream is read by hand: events are separated by a blank line, each
 * line is "event: NAME" or "data: JSON" (lines starting with ':' are comments, e.g. keep-alive pings).
 * Resolves when the stream ends; rejects with an AbortError when signal aborts (the Stop button).
 */
export async function postStream(url, body, signal, onEvent) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      dispatch(block, onEvent);
    }
  }
  if (buffer.trim()) dispatch(buffer, onEvent);
}

function dispatch(block, onEvent) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return;
  onEvent(name, JSON.parse(data.join('\n')));
}

/** The URL path segment of a run id ("experiments/seed" has a slash, sent as %2F). */
export function runPath(id) {
  return `/api/runs/${encodeURIComponent(id)}`;
}
