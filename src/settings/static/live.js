// Live view of the driver's state machines: one server-sent `frame` per change from
// /api/live/stream (every machine's current state and the latest events, already sanitised by the
// server). Plain browser JavaScript, no external resources (works offline on a robot LAN); every
// value reaches the DOM through textContent, never innerHTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const actorsBox = $('live-actors');
  const eventsList = $('live-events');
  const statusText = $('live-status');
  const authBanner = $('auth-banner');

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** A state value as text: `"safe"`, or `"running.waiting"` for nested states (parallel ones joined by ", "). */
  function stateText(value) {
    if (value === null || value === undefined) return '(none)';
    if (typeof value !== 'object') return String(value);
    return Object.entries(value).map(([k, v]) => (v && typeof v === 'object' && Object.keys(v).length === 0 ? k : `${k}.${stateText(v)}`)).join(', ');
  }

  function renderActors(actors) {
    const cards = actors.map((actor) => {
      const card = el('article', 'live-actor');
      card.dataset.actor = actor.system_id || actor.id;
      const title = el('h3', '', actor.system_id || actor.id);
      const state = el('span', 'state', stateText(actor.value));
      state.dataset.state = stateText(actor.value);
      const machine = el('p', 'muted', `machine ${actor.machine || '?'}${actor.parent ? ` · child of ${actor.parent}` : ''}`);
      const details = el('details');
      details.append(el('summary', '', 'context'), el('pre', '', JSON.stringify(actor.context, null, 2)));
      card.append(title, state, machine, details);
      return card;
    });
    // Keep open <details> open across frames.
    const open = new Set([...actorsBox.querySelectorAll('details[open]')].map((d) => d.closest('.live-actor').dataset.actor));
    for (const card of cards) if (open.has(card.dataset.actor)) card.querySelector('details').open = true;
    actorsBox.replaceChildren(...cards);
  }

  function renderEvents(events) {
    const items = [...events].reverse().map((event) => {
      const li = el('li');
      li.dataset.type = event.type;
      li.append(el('span', 'type', event.type), el('span', 'muted', ` → ${event.target}${event.source ? ` from ${event.source}` : ''} · ${new Date(event.at).toLocaleTimeString()}`));
      const details = el('details');
      details.append(el('summary', '', 'event'), el('pre', '', JSON.stringify(event.event, null, 2)));
      li.append(details);
      return li;
    });
    eventsList.replaceChildren(...items);
  }

  function render(frame) {
    if (!frame || typeof frame !== 'object') return;
    renderActors(Array.isArray(frame.actors) ? frame.actors : []);
    renderEvents(Array.isArray(frame.events) ? frame.events : []);
    statusText.textContent = frame.attached === false ? 'no driver attached to this settings app' : `live · updated ${new Date(frame.at).toLocaleTimeString()}`;
  }

  /** On a stream error: a 401 means the session is gone (show how to log in); otherwise EventSource retries. */
  async function checkAuth(source) {
    try {
      const response = await fetch('/api/live', { credentials: 'same-origin', cache: 'no-store' });
      if (response.status === 401) {
        authBanner.hidden = false;
        statusText.textContent = 'not logged in';
        source.close();
      }
    } catch {
      statusText.textContent = 'the driver does not answer; retrying…';
    }
  }

  const source = new EventSource('/api/live/stream');
  source.addEventListener('frame', (message) => {
    authBanner.hidden = true;
    try {
      render(JSON.parse(message.data));
    } catch {
      statusText.textContent = 'unreadable frame from the server';
    }
  });
  source.addEventListener('error', () => {
    statusText.textContent = 'disconnected; retrying…';
    checkAuth(source);
  });
})();
