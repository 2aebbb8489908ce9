// The Chat panel: the `toygpt chat` loop. The conversation is one text; the model continues it after each
// line you type, until a blank line, and the server warns when it no longer fits the model's context.
import { postStream } from './api.js';
import { appendChar, holdFor } from './write.js';

const $ = (id) => document.getElementById(id);

export function setupChat({ checkpoint, showError, clearError }) {
  let conversation = '';
  let turn = 0;
  let controller = null;
  const log = $('c-log');

  function line(cls, text) {
    const div = document.createElement('div');
    div.className = cls;
    if (text != null) div.textContent = text;
    log.append(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  async function send() {
    const message = $('c-message').value;
    const id = checkpoint();
    if (controller || $('c-send').dataset.held || !id) { if (!id) showError('Pick a model first: no checkpoint yet.'); return; }
    clearError();
    controller = new AbortController();
    $('c-send').disabled = true;
    $('c-stop').disabled = false;
    line('you', message);
    const reply = line('model');
    reply.dataset.state = 'running';
    let text = '';
    let busyFor = 0;
    let ended = false; // the reply came to its end (not stopped, not failed)
    let said = null; // the line as the model got it (start event); null when the server refused the request
    try {
      await postStream('/api/chat', {
        checkpoint: id, conversation, message,
        maxNewTokens: Number($('c-length').value), temperature: Number($('c-temperature').value),
        topK: 0, topP: 1, greedy: false, seed: 1337 + turn,
      }, controller.signal, (event, data) => {
        if (event === 'start') {
          said = data.prompt;
        } else if (event === 'token') {
          appendChar(reply, data.text, data.p);
          text += data.text;
          log.scrollTop = log.scrollHeight;
        } else if (event === 'notice') {
          $('c-notice').textContent = data.text;
          $('c-notice').hidden = false;
        } else if (event === 'done') {
          ended = true;
        } else if (event === 'error') {
          showError(data.error);
        }
      });
      $('c-message').value = '';
    } catch (e) {
      if (e.name !== 'AbortError') showError(e.message);
      if (e.status === 429) busyFor = e.retryAfter;
    } finally {
      if (ended && !text.trim()) {
        // Only new lines: the model ended its turn at once (a blank line is how a reply ends).
        line('system', 'the model answered with a blank line: it ended its turn at once; try another line or a higher temperature');
      }
      // What the model said so far stays in the conversation, as in the terminal (also when stopped).
      if (said !== null) {
        conversation += said + text;
        turn++;
      } else {
        reply.remove();
      }
      reply.dataset.state = 'done';
      controller = null;
      if (busyFor) holdFor($('c-send'), busyFor); else $('c-send').disabled = false;
      $('c-stop').disabled = true;
      $('c-message').focus();
    }
  }

  $('c-form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('c-stop').addEventListener('click', () => controller?.abort());
  $('c-reset').addEventListener('click', () => {
    controller?.abort();
    conversation = '';
    turn = 0;
    log.replaceChildren();
    $('c-notice').hidden = true;
    line('system', 'conversation forgotten');
  });
  return { conversation: () => conversation };
}
