// Settings page of the Reachy Mini Device Connect driver. Plain browser JavaScript, no build step,
// no external resources (the robot may be offline). Every server value reaches the DOM through
// textContent or form values, never innerHTML.
'use strict';

(() => {
  const MAX_UPLOAD_BYTES = 256 * 1024;
  const STATUS_INTERVAL_MS = 2000;

  const FIELDS = [
    { key: 'use_portal', type: 'bool' },
    { key: 'nats_credentials_file', type: 'text' },
    { key: 'device_id', type: 'text' },
    { key: 'tenant', type: 'text' },
    { key: 'reachy_target', type: 'text' },
    { key: 'transport_mode', type: 'select' },
    { key: 'allow_insecure', type: 'bool' },
    { key: 'simulate', type: 'bool' },
    { key: 'no_media', type: 'bool' },
    { key: 'media_policy', type: 'select' },
    { key: 'messaging_backend', type: 'select' },
    { key: 'messaging_urls', type: 'text' },
    { key: 'discovery_mode', type: 'select' },
    { key: 'portal_credentials_dir', type: 'text' },
    { key: 'portal_credentials_glob', type: 'text' },
    { key: 'reachy_prefix', type: 'text' },
    // A composite control (the per-axis table): its own read/write; `null` when no axis is narrowed.
    { key: 'safety_envelope', type: 'envelope', read: () => readEnvelope() ?? null, write: (_table, value) => fillEnvelope(value), display: (value) => envelopeText(value), settledWord: 'configured', note: 'the envelope in force is under Live status' },
  ];
  /** The envelope's axes, as the rows of the safety envelope table name them. */
  const ENVELOPE_AXES = [...document.querySelectorAll('#safety_envelope tr[data-axis]')].map((row) => row.dataset.axis);
  const FIELD_KEYS = new Set(FIELDS.map((f) => f.key));

  /** How each source reads in a sentence ("in effect: … (<phrase>)"). */
  const SOURCE_TEXT = {
    flag: 'from a command-line flag',
    env: 'from the environment',
    settings: 'from the settings file',
    credentials: 'from the credentials file',
    default: 'the built-in default',
    derived: 'derived from other settings',
    simulator: 'the embedded emulator: simulation is on',
  };

  const $ = (id) => document.getElementById(id);
  const form = $('settings-form');
  const formMessage = $('form-message');
  const formIssues = $('form-issues');
  const authBanner = $('auth-banner');

  /** The last /api/effective answer. */
  let effective = {};

  // ---------- small helpers ----------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setMessage(node, text, kind) {
    node.textContent = text;
    node.classList.remove('ok', 'error', 'busy');
    if (kind) node.classList.add(kind);
  }

  function displayValue(value) {
    if (value === null || value === undefined || value === '') return '(empty)';
    if (Array.isArray(value)) return value.map(displayValue).join(', ');
    if (typeof value === 'object') return compactObject(value);
    return String(value);
  }

  function compactObject(obj) {
    return Object.entries(obj)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' · ');
  }

  class HttpError extends Error {
    constructor(status, body) {
      super((body && typeof body.error === 'string' && body.error) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  function showAuth(needed) {
    authBanner.hidden = !needed;
  }

  async function api(method, path, body) {
    return (await apiWithHeaders(method, path, body)).data;
  }

  async function apiWithHeaders(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new HttpError(0, { error: `the settings server did not answer (${err && err.message ? err.message : 'network error'})` });
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { error: `unexpected answer from the server (HTTP ${response.status})` };
      }
    }
    if (response.status === 401) {
      showAuth(true);
      throw new HttpError(401, { error: "not logged in: open the login link printed in the driver's log" });
    }
    showAuth(false);
    if (!response.ok) throw new HttpError(response.status, data);
    return { data, headers: response.headers };
  }

  // ---------- form <-> settings ----------
  //
  // Field by field: each field reads and writes its own value (FIELD_IO by type, or the field's own
  // `read`/`write` for a composite control), the form is pre-filled with what the driver uses (or
  // the saved value it does not use yet), and a save sends only the fields whose value differs from
  // that pre-filled baseline. A field added to FIELDS takes part in all of it.

  const FIELD_IO = {
    bool: { read: (input) => input.checked, write: (input, value) => { input.checked = value === true; } },
    select: {
      read: (input) => input.value,
      write: (input, value) => {
        const text = value === null || value === undefined ? '' : String(value);
        if (![...input.options].some((o) => o.value === text)) {
          // Keep an unexpected value visible instead of silently replacing it.
          const option = el('option', '', `${text} (current value)`);
          option.value = text;
          input.append(option);
        }
        input.value = text;
      },
    },
    text: {
      read: (input) => input.value.trim(),
      write: (input, value) => { input.value = value === null || value === undefined ? '' : Array.isArray(value) ? value.join(',') : String(value); },
    },
  };

  function fieldIo(field) {
    const io = FIELD_IO[field.type] || FIELD_IO.text;
    return { read: field.read || io.read, write: field.write || io.write };
  }

  /** A box's number, null when blank (the server then names the axis), NaN-free: bad text is sent as written. */
  function envelopeBound(id) {
    const text = $(id).value.trim();
    if (text === '') return null;
    const n = Number(text);
    return Number.isFinite(n) ? n : text;
  }

  /** The axes with a box filled in, each {min, max}; undefined when none is. */
  function readEnvelope() {
    const out = {};
    for (const axis of ENVELOPE_AXES) {
      const min = envelopeBound(`envelope-${axis}-min`);
      const max = envelopeBound(`envelope-${axis}-max`);
      if (min !== null || max !== null) out[axis] = { min, max };
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  function fillEnvelope(envelope) {
    for (const axis of ENVELOPE_AXES) {
      const range = envelope && typeof envelope === 'object' ? envelope[axis] : undefined;
      $(`envelope-${axis}-min`).value = range && typeof range.min === 'number' ? String(range.min) : '';
      $(`envelope-${axis}-max`).value = range && typeof range.max === 'number' ? String(range.max) : '';
    }
  }

  /** "head_pitch_deg −10 … 30 · body_yaw_deg …", or the mechanical ranges when no axis is narrowed. */
  function envelopeText(envelope) {
    const axes = envelope && typeof envelope === 'object' ? Object.entries(envelope) : [];
    if (axes.length === 0) return 'the mechanical ranges';
    return axes.map(([axis, r]) => `${axis} ${r && typeof r === 'object' ? `${r.min} … ${r.max}` : displayValue(r)}`).join(' · ');
  }

  /** The value each field had when the form was filled; a save sends the fields that differ from it. */
  let baseline = {};
  /** Whether /api/effective described the running driver (else the configuration it would start with). */
  let driverRunning = false;

  function fieldContainer(key) {
    return form.querySelector(`.field[data-key="${key}"]`);
  }

  /** Adds the badge, the effective-value note and the error slot under every field. */
  function decorateFields() {
    for (const { key } of FIELDS) {
      const box = fieldContainer(key);
      const input = $(key);
      if (!box || !input) continue;
      const meta = el('div', 'meta');
      meta.id = `${key}-meta`;
      const badge = el('span', 'badge badge-unknown', '…');
      badge.id = `${key}-source`;
      const note = el('span', 'effective');
      note.id = `${key}-effective`;
      meta.append(badge, note);
      const error = el('p', 'field-error');
      error.id = `${key}-error`;
      error.hidden = true;
      box.append(meta, error);
      input.setAttribute('aria-describedby', `${key}-meta ${key}-error`);
    }
  }

  function readField(field) {
    const input = $(field.key);
    return input ? fieldIo(field).read(input) : undefined;
  }

  function readForm() {
    const out = {};
    for (const field of FIELDS) {
      const value = readField(field);
      if (value !== undefined) out[field.key] = value;
    }
    return out;
  }

  function sameJson(a, b) {
    return JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b);
  }

  /** Only the fields the user changed since the form was filled. */
  function changedFields() {
    const changes = {};
    for (const field of FIELDS) {
      const value = readField(field);
      if (value !== undefined && !sameJson(value, baseline[field.key])) changes[field.key] = value;
    }
    return changes;
  }

  /** What a field shows: the saved value the driver does not use yet, else the value in effect. */
  function shownValue(key, fallback) {
    const entry = effective[key];
    if (entry && typeof entry === 'object') return entry.pending && typeof entry.pending === 'object' ? entry.pending.value : entry.value;
    return fallback ? fallback[key] : undefined;
  }

  /**
   * Fills every field from /api/effective (the saved file's values for keys it does not describe);
   * with `keepEdits`, a field the user changed keeps the change.
   */
  function fillForm(fallback, keepEdits) {
    const edits = keepEdits ? changedFields() : {};
    const next = {};
    for (const field of FIELDS) {
      const input = $(field.key);
      if (!input) continue;
      const value = shownValue(field.key, fallback);
      if (value === undefined) continue;
      fieldIo(field).write(input, value);
      next[field.key] = fieldIo(field).read(input);
      if (field.key in edits) fieldIo(field).write(input, edits[field.key]);
    }
    baseline = next;
    renderEffective();
  }

  /** A credentials file replaced at the same path: the path alone does not say which file the driver uses. */
  function earlierFile(entry, pending) {
    if (typeof entry.fingerprint !== 'string' || entry.fingerprint === pending.fingerprint || JSON.stringify(entry.value) !== JSON.stringify(pending.value)) return '';
    return `, the earlier file at that path (${entry.fingerprint})`;
  }

  function renderEffective() {
    const changes = changedFields();
    for (const field of FIELDS) {
      const key = field.key;
      const shown = field.display || displayValue;
      const extra = field.note ? `; ${field.note}` : '';
      const badge = $(`${key}-source`);
      const note = $(`${key}-effective`);
      const box = fieldContainer(key);
      if (!badge || !note) continue;
      if (box) box.classList.toggle('changed', key in changes);
      const entry = effective[key];
      if (!entry || typeof entry !== 'object') {
        badge.className = 'badge badge-unknown';
        badge.textContent = 'source unknown';
        badge.title = 'The server did not report where this value comes from';
        note.textContent = key in changes ? 'changed, not saved yet' : '';
        continue;
      }
      const source = String(entry.source ?? 'unknown');
      const phrase = SOURCE_TEXT[source] ?? `from ${source}`;
      const pending = entry.pending && typeof entry.pending === 'object' ? entry.pending : null;
      if (pending && source === 'simulator') {
        // Under simulation the driver dials its emulator: the address in the field is never used.
        badge.className = 'badge badge-pending';
        badge.textContent = 'not in effect';
        badge.title = 'Simulation is on: the driver uses its embedded emulator, not this address';
        note.textContent = driverRunning
          ? `not in effect: the driver runs on its embedded emulator at ${shown(entry.value)}; this address is used when it starts without simulation`
          : 'not used while simulation is on: the driver will run on its embedded emulator; this address is used when it starts without simulation';
      } else if (pending) {
        badge.className = 'badge badge-pending';
        badge.textContent = 'not in effect';
        badge.title = 'Saved, but the running driver does not use this value yet';
        note.textContent = `saved, not in effect yet: the driver uses ${shown(entry.value)}${earlierFile(entry, pending)} (${phrase})${extra}`;
      } else {
        badge.className = `badge badge-${SOURCE_TEXT[source] ? source : 'unknown'}`;
        badge.textContent = source;
        badge.title = `The value in effect is ${phrase}`;
        // A field may name its settled value its own way (the envelope: "configured", the supervisor may change the one in force).
        const word = field.settledWord || (driverRunning ? 'in effect' : 'used when the driver starts');
        const settled = `${word}: ${shown(entry.value)} (${phrase})`;
        note.textContent = (key in changes ? `changed, not saved yet; ${settled}` : field.display ? settled : driverRunning ? `in effect (${phrase})` : `used when the driver starts (${phrase})`) + extra;
      }
      note.classList.toggle('differs', Boolean(pending) || key in changes);
    }
  }

  function clearIssues() {
    for (const { key } of FIELDS) {
      const error = $(`${key}-error`);
      const input = $(key);
      if (error) {
        error.textContent = '';
        error.hidden = true;
      }
      if (input) input.removeAttribute('aria-invalid');
    }
    formIssues.replaceChildren();
    formIssues.hidden = true;
  }

  /** Shows each issue next to its field (`field` or `field.part`); other issues go in the list under the buttons. */
  function showIssues(issues) {
    clearIssues();
    if (!Array.isArray(issues)) return null;
    let firstInvalid = null;
    for (const issue of issues) {
      if (!issue || typeof issue !== 'object') continue;
      const field = typeof issue.field === 'string' ? issue.field : '';
      const message = typeof issue.message === 'string' ? issue.message : JSON.stringify(issue);
      // `safety_envelope.<axis>` goes under its field, naming the part.
      const key = FIELD_KEYS.has(field) ? field : field.split('.')[0];
      const error = FIELD_KEYS.has(key) ? $(`${key}-error`) : null;
      if (error) {
        const text = key === field ? message : `${field.slice(key.length + 1)} ${message}`;
        error.textContent = error.textContent ? `${error.textContent} ${text}` : text;
        error.hidden = false;
        const input = $(key);
        input.setAttribute('aria-invalid', 'true');
        if (!firstInvalid) firstInvalid = input.matches('input, select') ? input : input.querySelector('input');
        if (input.closest('details')) input.closest('details').open = true;
      } else {
        formIssues.append(el('li', '', field ? `${field}: ${message}` : message));
        formIssues.hidden = false;
      }
    }
    return firstInvalid;
  }

  // ---------- actions ----------

  /** /api/effective: `{key: {value, source, pending?}}`; `x-driver-running` says whose configuration it is. */
  async function loadEffective() {
    const note = $('effective-message');
    try {
      const { data, headers } = await apiWithHeaders('GET', '/api/effective');
      effective = data && typeof data === 'object' ? data : {};
      driverRunning = headers.get('x-driver-running') === 'true';
      // A --sim driver's daemon address is always pending: it counts as a saved value only when it was saved.
      const pending = Object.values(effective).some((e) => e && typeof e === 'object' && e.pending && (e.source !== 'simulator' || e.pending.source === 'settings'));
      if (pending) {
        setMessage(note, 'Some saved values are not in effect: the running driver still uses the values shown under those fields (see the message under Save).', 'error');
      } else if (!driverRunning && headers.get('x-driver-running') !== null) {
        setMessage(note, 'The driver is not running: the form shows the values it will start with.', null);
      } else {
        setMessage(note, '', null);
      }
    } catch (err) {
      effective = {};
      setMessage(note, `Could not load the values in effect: ${err.message}`, 'error');
    }
  }

  /** Reloads the values in effect and the form (keeping the user's unsaved edits when asked). */
  async function refresh(keepEdits) {
    const settings = await api('GET', '/api/settings');
    await loadEffective();
    fillForm(settings && typeof settings === 'object' ? settings : {}, keepEdits);
  }

  async function reload() {
    setMessage(formMessage, 'Loading settings…', 'busy');
    clearIssues();
    try {
      await refresh(false);
      setMessage(formMessage, 'Settings loaded.', 'ok');
    } catch (err) {
      setMessage(formMessage, `Could not load the settings: ${err.message}`, 'error');
    }
  }

  /** Reports an apply result: ok, or the advice (what to change, next to each field). */
  function reportApplied(prefix, applied) {
    if (applied && typeof applied === 'object' && applied.ok === false) {
      setMessage(formMessage, `${prefix}, but not applied: ${applied.error || 'unknown error'}`, 'error');
      showIssues(applied.issues);
    } else if (applied && typeof applied === 'object' && applied.ok === true && Array.isArray(applied.not_in_effect) && applied.not_in_effect.length > 0) {
      // Applied except some fields (a daemon address on a --sim driver, safety fields whose change the
      // supervisor's range in force no longer allowed): say which, next to them.
      setMessage(formMessage, `${prefix} and applied, except: ${applied.message || applied.not_in_effect.join(', ')}`, 'error');
      showIssues(applied.issues);
    } else if (applied === true || (applied && typeof applied === 'object' && applied.ok === true)) {
      setMessage(formMessage, `${prefix} and applied${describeApplied(applied)}.`, 'ok');
    } else {
      setMessage(formMessage, `${prefix}.`, 'ok');
    }
  }

  async function save() {
    clearIssues();
    const changes = changedFields();
    if (Object.keys(changes).length === 0) {
      setMessage(formMessage, 'Nothing to save: no field was changed.', 'ok');
      return;
    }
    setMessage(formMessage, 'Saving…', 'busy');
    try {
      const data = await api('PATCH', '/api/settings', { changes });
      await refresh(false);
      reportApplied('Saved', data ? data.applied : undefined);
      pollStatus();
    } catch (err) {
      const first = err.body ? showIssues(err.body.issues) : null;
      setMessage(formMessage, `Not saved: ${err.message}`, 'error');
      if (first) first.focus();
    }
  }

  /** ": <message>" from an apply result, or nothing. */
  function describeApplied(applied) {
    return applied && typeof applied === 'object' && typeof applied.message === 'string' && applied.message ? `: ${applied.message}` : '';
  }

  async function validate() {
    setMessage(formMessage, 'Validating…', 'busy');
    clearIssues();
    try {
      const data = await api('POST', '/api/validate', { changes: changedFields() });
      if (data && data.ok) {
        const warnings = Array.isArray(data.warnings) ? data.warnings.filter((w) => typeof w === 'string') : [];
        setMessage(formMessage, 'Valid: the driver would start with these settings.', 'ok');
        for (const warning of warnings) formIssues.append(el('li', 'warning', `Warning: ${warning}`));
        formIssues.hidden = warnings.length === 0;
      } else {
        showIssues(data && data.issues);
        setMessage(formMessage, `Not valid: ${(data && data.error) || 'unknown error'}`, 'error');
      }
    } catch (err) {
      if (err.body) showIssues(err.body.issues);
      setMessage(formMessage, `Validation failed: ${err.message}`, 'error');
    }
  }

  async function apply() {
    setMessage(formMessage, 'Applying…', 'busy');
    clearIssues();
    try {
      const data = await api('POST', '/api/apply', {});
      if (data && data.ok) {
        setMessage(formMessage, `Applied${describeApplied(data)}.`, 'ok');
      } else {
        setMessage(formMessage, `Not applied: ${(data && data.error) || 'unknown error'}`, 'error');
        showIssues(data && data.issues);
      }
      await refresh(true);
      pollStatus();
    } catch (err) {
      setMessage(formMessage, `Not applied: ${err.message}`, 'error');
    }
  }

  // ---------- live status ----------

  const statusList = $('status-list');
  const statusUpdated = $('status-updated');
  const STATUS_LABELS = {
    mesh: 'Mesh',
    daemon_link: 'Daemon link',
    power: 'Power',
    interlock: 'Interlock',
    lease: 'Lease',
    media: 'Media',
    last_error: 'Last error',
    safety_envelope: 'Safety envelope in force',
  };
  const GOOD = /^(registered|connected|up|ok|awake|clear|idle|released|free|none|ready|enabled|running)$/i;
  const BAD = /^(tripped|error|failed|down|disconnected|closed|unavailable|fault)/i;
  let statusTimer = null;
  let statusInFlight = false;

  function statusTone(value) {
    const head = typeof value === 'string' ? value : value && typeof value === 'object' && typeof value.state === 'string' ? value.state : '';
    if (GOOD.test(head)) return 'good';
    if (BAD.test(head)) return 'bad';
    return 'neutral';
  }

  function renderStatus(status) {
    const rows = [];
    for (const [key, value] of Object.entries(status)) {
      const dt = el('dt', '', STATUS_LABELS[key] ?? key.replace(/_/g, ' '));
      const dd = el('dd', `tone-${key === 'last_error' ? (value ? 'bad' : 'good') : statusTone(value)}`);
      dd.dataset.key = key;
      if (key === 'last_error' && (value === null || value === undefined || value === '')) {
        dd.textContent = 'none';
      } else if (key === 'safety_envelope') {
        dd.className = 'tone-neutral';
        dd.textContent = envelopeText(value);
      } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const { state, ...rest } = value;
        if (state !== undefined) dd.append(el('span', 'state', displayValue(state)));
        const restText = compactObject(rest);
        if (restText) dd.append(el('span', 'detail', restText));
      } else {
        dd.textContent = displayValue(value);
      }
      rows.push(dt, dd);
    }
    statusList.replaceChildren(...rows);
  }

  async function pollStatus() {
    if (statusInFlight) return;
    statusInFlight = true;
    try {
      const status = await api('GET', '/api/status');
      renderStatus(status && typeof status === 'object' ? status : {});
      statusUpdated.textContent = `updated ${new Date().toLocaleTimeString()}`;
      statusUpdated.classList.remove('error');
    } catch (err) {
      statusUpdated.textContent = `not updated: ${err.message}`;
      statusUpdated.classList.add('error');
    } finally {
      statusInFlight = false;
    }
  }

  function scheduleStatus() {
    clearTimeout(statusTimer);
    statusTimer = setTimeout(async () => {
      if (document.visibilityState !== 'hidden') await pollStatus();
      scheduleStatus();
    }, STATUS_INTERVAL_MS);
  }

  // ---------- upload ----------

  const uploadForm = $('upload-form');
  const uploadInput = $('upload-file');
  const uploadProgress = $('upload-progress');
  const uploadMessage = $('upload-message');
  const uploadResult = $('upload-result');

  function upload() {
    uploadResult.hidden = true;
    const file = uploadInput.files && uploadInput.files[0];
    if (!file) {
      setMessage(uploadMessage, 'Choose a .json or .creds file first.', 'error');
      uploadInput.focus();
      return;
    }
    if (!/\.(json|creds)$/i.test(file.name)) {
      setMessage(uploadMessage, 'The credentials file must be .json or .creds.', 'error');
      return;
    }
    if (file.size > MAX_UPLOAD_BYTES) {
      setMessage(uploadMessage, `The file is too large (${Math.ceil(file.size / 1024)} KiB; max 256 KiB).`, 'error');
      return;
    }
    const body = new FormData();
    body.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', $('upload-replace').checked ? '/api/credentials/upload?replace=1' : '/api/credentials/upload');
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'text';
    uploadProgress.hidden = false;
    uploadProgress.value = 0;
    uploadProgress.removeAttribute('aria-valuetext');
    setMessage(uploadMessage, 'Uploading…', 'busy');
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) {
        uploadProgress.value = Math.round((event.loaded / event.total) * 100);
        uploadProgress.setAttribute('aria-valuetext', `${uploadProgress.value}%`);
      }
    });
    xhr.addEventListener('error', () => {
      uploadProgress.hidden = true;
      setMessage(uploadMessage, 'Upload failed: the settings server did not answer.', 'error');
    });
    xhr.addEventListener('load', () => {
      uploadProgress.value = 100;
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status === 401) {
        showAuth(true);
        setMessage(uploadMessage, "Not logged in: open the login link printed in the driver's log.", 'error');
        return;
      }
      showAuth(false);
      if (xhr.status >= 200 && xhr.status < 300 && data && data.ok) {
        $('upload-path').textContent = displayValue(data.path);
        $('upload-fingerprint').textContent = displayValue(data.fingerprint);
        $('upload-kind').textContent = displayValue(data.kind);
        $('upload-device-id').textContent = displayValue(data.device_id);
        $('upload-tenant').textContent = displayValue(data.tenant);
        uploadResult.hidden = false;
        const how = { unchanged: ' (the same file was already stored)', replaced: ' (replaced the earlier file of that name)' }[data.stored] ?? '';
        // The upload is applied like a save: say whether the driver took it.
        const applied = data.applied && typeof data.applied === 'object' ? data.applied : null;
        if (applied && applied.ok === false) {
          setMessage(uploadMessage, `Credentials stored${how}, but not applied: ${applied.error || 'unknown error'}`, 'error');
          showIssues(applied.issues);
        } else {
          setMessage(uploadMessage, `Credentials stored${how}${applied && applied.ok === true ? ` and applied${describeApplied(applied)}` : ''}.`, 'ok');
        }
        $('upload-replace').checked = false;
        uploadInput.value = '';
        refresh(true).catch((err) => setMessage(formMessage, `Could not reload the settings: ${err.message}`, 'error'));
        pollStatus();
      } else {
        const error = data && typeof data.error === 'string' ? data.error : `HTTP ${xhr.status}`;
        setMessage(uploadMessage, `Upload refused: ${error}`, 'error');
      }
    });
    xhr.send(body);
  }

  // ---------- wiring ----------

  decorateFields();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save();
  });
  form.addEventListener('input', renderEffective);
  form.addEventListener('change', renderEffective);
  $('validate-button').addEventListener('click', validate);
  $('reload-button').addEventListener('click', reload);
  $('apply-button').addEventListener('click', apply);
  uploadForm.addEventListener('submit', (event) => {
    event.preventDefault();
    upload();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') pollStatus();
  });

  reload();
  pollStatus();
  scheduleStatus();
})();
