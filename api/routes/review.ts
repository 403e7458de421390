import { createHash } from 'node:crypto';
import type { ApiDeps } from '../deps';
import { route, type AnyRouteSpec } from '../registry';

/**
 * `GET /review`: one self-contained page on which a person signs in (POST /auth/login; the access
 * token stays in the tab's sessionStorage) and reviews the contents awaiting approval
 * (GET /contents?awaiting_approval=true): each video plays from its presigned link beside its
 * script, safety score and flags and cost (GET /contents/:id/usage), and is approved for a time
 * (POST /contents/:id/approve) or rejected with a reason (POST /contents/:id/reject).
 *
 * The page holds no data, so the route is public. It loads nothing but the API and the media: one
 * inline style and one inline script, each allowed by its hash, and the store's origin for the
 * videos and thumbnails. Everything the API answers is put into the page as text, never as markup.
 */

const STYLE = `
:root{color-scheme:light;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#0f766e;--bad:#cf222e;--warn:#9a6700}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK KR",sans-serif;color:var(--ink);background:var(--soft)}
header{display:flex;align-items:center;gap:12px;padding:14px 28px;background:#fff;border-bottom:1px solid var(--line)}
header h1{margin:0;font-size:20px}header .who{margin-left:auto;color:var(--muted);font-size:14px}
main{max-width:1180px;margin:0 auto;padding:20px 28px 40px}
button{font:inherit;border:1px solid var(--line);border-radius:6px;background:#fff;padding:5px 14px;cursor:pointer}button:hover{border-color:var(--accent)}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}button.danger{color:var(--bad)}button:disabled{opacity:.5;cursor:default}
input{font:inherit;border:1px solid var(--line);border-radius:6px;padding:5px 8px}
.signin{max-width:360px;margin:60px auto;background:#fff;border:1px solid var(--line);border-radius:10px;padding:24px}
.signin h2{margin:0 0 14px;font-size:18px}.signin label{display:block;margin:10px 0;font-size:14px;color:var(--muted)}.signin input{display:block;width:100%;margin-top:4px}
.error{color:var(--bad)}.note{color:var(--muted)}
.card{display:grid;grid-template-columns:minmax(220px,320px) 1fr;gap:24px;background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px;margin:0 0 20px}
.card video{width:100%;max-height:560px;background:#000;border-radius:8px;display:block}
.card h2{margin:0;font-size:19px}.meta{margin:2px 0 8px;color:var(--muted);font-size:13px}
.card h3{margin:14px 0 4px;font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
.card p{margin:4px 0}.script ol{margin:4px 0;padding-left:22px}.script .part{font-weight:600;color:var(--accent);margin-right:6px}
.flags{margin:4px 0;padding-left:18px}.flags .high{color:var(--bad)}.flags .medium{color:var(--warn)}.flags code{font:13px ui-monospace,monospace}
.score{font-weight:600}.cost{font-weight:600}
.decide{display:flex;flex-wrap:wrap;gap:10px;align-items:end;margin-top:16px;padding-top:14px;border-top:1px solid var(--line)}
.decide form{display:flex;gap:8px;align-items:end}.decide label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
.status{margin:10px 0 0;font-weight:600}.status.approved{color:var(--accent)}.status.rejected{color:var(--bad)}
@media (max-width:760px){.card{grid-template-columns:1fr}}
`;

const SCRIPT = `
'use strict';
const SESSION = 'autoclip.review';
const root = document.getElementById('app');
const who = document.getElementById('who');
const actions = document.getElementById('actions');
let session = JSON.parse(sessionStorage.getItem(SESSION) || 'null');

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (name === 'class') node.className = value;
    else if (name === 'data') Object.assign(node.dataset, value);
    else node[name] = value;
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

function problem(body, status) {
  const error = body && body.error;
  if (!error) return 'the API answered ' + status;
  const details = Object.entries(error.details || {}).map(([field, why]) => field.replace(/^(body|query)\\./, '') + ' ' + why);
  return error.message + (details.length ? ': ' + details.join('; ') : '');
}

async function call(method, path, body) {
  const headers = body === undefined ? {} : { 'content-type': 'application/json' };
  if (session) headers.authorization = 'Bearer ' + session.token;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (res.status === 401 && session) {
    signOut('Your session has ended: sign in again.');
  }
  if (!res.ok) throw new Error(problem(data, res.status));
  return data;
}

function signOut(message) {
  session = null;
  sessionStorage.removeItem(SESSION);
  showSignIn(message);
}

function showSignIn(message) {
  who.textContent = '';
  actions.hidden = true;
  const email = el('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = el('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const error = el('p', { class: 'error', role: 'alert' }, message || '');
  const button = el('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = el('form', { class: 'signin', id: 'signin' },
    el('h2', {}, 'Sign in to review'),
    el('label', {}, 'Email', email),
    el('label', {}, 'Password', password),
    button, error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.textContent = '';
    try {
      const answer = await call('POST', '/auth/login', { email: email.value, password: password.value });
      session = { token: answer.access_token, email: answer.user.email };
      sessionStorage.setItem(SESSION, JSON.stringify(session));
      await showQueue();
    } catch (err) {
      error.textContent = err.message;
      button.disabled = false;
    }
  });
  root.replaceChildren(form);
  email.focus();
}

const pad = (n) => String(n).padStart(2, '0');
/** A datetime-local value (the browser's own time zone). */
function localInput(date) {
  return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + 'T' + pad(date.getHours()) + ':' + pad(date.getMinutes());
}
function inAnHour() {
  const date = new Date(Date.now() + 3600000);
  date.setMinutes(Math.ceil(date.getMinutes() / 5) * 5, 0, 0);
  return date;
}
const when = (iso) => new Date(iso).toLocaleString();
const usd = (value) => '$' + Number(value).toFixed(4);

function scriptSection(script) {
  const body = (script.body || []).map((part) => el('li', {}, part));
  return el('section', { class: 'script' },
    el('h3', {}, 'Script'),
    el('p', { class: 'hook' }, el('span', { class: 'part' }, 'Hook'), script.hook || ''),
    body.length ? el('ol', { class: 'body' }, ...body) : null,
    el('p', { class: 'cta' }, el('span', { class: 'part' }, 'Call to action'), script.cta || ''));
}

function safetySection(content) {
  const flags = content.safety_flags || [];
  const score = content.safety_score === null ? 'not checked' : Number(content.safety_score).toFixed(2);
  return el('section', { class: 'safety' },
    el('h3', {}, 'Safety'),
    el('p', {}, 'Score ', el('span', { class: 'score' }, score), flags.length ? '' : ' · no flags'),
    flags.length ? el('ul', { class: 'flags' }, ...flags.map((flag) => el('li', { class: flag.severity }, el('code', {}, flag.code), ' (' + flag.severity + ') ' + flag.message + (flag.excerpt ? ': “' + flag.excerpt + '”' : '')))) : null);
}

function costSection(usage) {
  const totals = usage.totals;
  return el('section', { class: 'usage' },
    el('h3', {}, 'Cost'),
    el('p', {}, el('span', { class: 'cost' }, usd(totals.estimated_cost_usd)),
      ' · ' + totals.calls + ' provider call' + (totals.calls === 1 ? '' : 's'),
      usage.cost_cap_usd === null ? '' : ' · cap ' + usd(usage.cost_cap_usd)));
}

function decisionForms(content, status) {
  const forms = [];
  const decided = (text, kind) => {
    status.textContent = text;
    status.className = 'status ' + kind;
    for (const form of forms) for (const field of form.elements) field.disabled = true;
  };
  const at = el('input', { type: 'datetime-local', name: 'scheduled_at', required: true, value: localInput(inAnHour()), min: localInput(new Date()) });
  const approve = el('form', { class: 'approve' },
    el('label', {}, 'Publish at (' + Intl.DateTimeFormat().resolvedOptions().timeZone + ')', at),
    el('button', { type: 'submit', class: 'primary' }, 'Approve'));
  const reason = el('input', { type: 'text', name: 'reason', maxLength: 1000, required: true, placeholder: 'what should change' });
  const reject = el('form', { class: 'reject' },
    el('label', {}, 'Reason', reason),
    el('button', { type: 'submit', class: 'danger' }, 'Reject'));
  forms.push(approve, reject);
  const send = (form, run) => form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.textContent = '';
    status.className = 'status';
    try {
      await run();
    } catch (err) {
      status.textContent = err.message;
      status.className = 'status error';
    }
  });
  send(approve, async () => {
    const scheduledAt = new Date(at.value).toISOString();
    await call('POST', '/contents/' + encodeURIComponent(content.id) + '/approve', { scheduled_at: scheduledAt });
    decided('Approved: publishes ' + when(scheduledAt), 'approved');
  });
  send(reject, async () => {
    await call('POST', '/contents/' + encodeURIComponent(content.id) + '/reject', { reason: reason.value });
    decided('Rejected: ' + reason.value, 'rejected');
  });
  return el('div', { class: 'decide' }, approve, reject);
}

function card(content, usage) {
  const video = el('video', { controls: true, muted: true, defaultMuted: true, autoplay: true, loop: true, playsInline: true, preload: 'auto' });
  if (content.thumbnail_url) video.poster = content.thumbnail_url;
  if (content.video_url) video.src = content.video_url;
  const status = el('p', { class: 'status', role: 'status' });
  const facts = [content.video_duration === null ? null : content.video_duration + ' s', content.video_resolution, 'made ' + when(content.created_at)].filter(Boolean);
  return el('article', { class: 'card', data: { contentId: content.id } },
    el('div', { class: 'media' }, video),
    el('div', { class: 'details' },
      el('h2', {}, content.title),
      el('p', { class: 'meta' }, facts.join(' · ')),
      scriptSection(content.script),
      safetySection(content),
      costSection(usage),
      decisionForms(content, status),
      status));
}

async function showQueue() {
  who.textContent = session.email;
  actions.hidden = false;
  root.replaceChildren(el('p', { class: 'note' }, 'Loading…'));
  try {
    const { items, next_cursor: more } = await call('GET', '/contents?awaiting_approval=true&limit=50');
    const cards = await Promise.all(items.map(async (item) => {
      const path = '/contents/' + encodeURIComponent(item.id);
      const [read, usage] = await Promise.all([call('GET', path), call('GET', path + '/usage')]);
      return card(read.content, usage);
    }));
    if (!session) return;
    const notes = more ? [el('p', { class: 'note' }, 'More are waiting: decide on these, then Refresh.')] : [];
    root.replaceChildren(...(cards.length ? cards : [el('p', { class: 'note' }, 'Nothing awaits approval.')]), ...notes);
  } catch (err) {
    if (session) root.replaceChildren(el('p', { class: 'error', role: 'alert' }, err.message));
  }
}

document.getElementById('refresh').addEventListener('click', () => showQueue());
document.getElementById('signout').addEventListener('click', () => signOut(''));
if (session) showQueue(); else showSignIn('');
`;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>AutoClip · Review</title><style>${STYLE}</style></head>
<body><header><h1>AutoClip review</h1><span class="who" id="who"></span><span id="actions" hidden><button type="button" id="refresh">Refresh</button> <button type="button" id="signout">Sign out</button></span></header>
<main id="app"></main><script>${SCRIPT}</script></body></html>`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Its own style and script, the API for its calls, the store for the media; nothing else. */
function reviewPolicy(mediaOrigin: string): string {
  return [
    "default-src 'none'",
    `script-src ${sha256(SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    `media-src ${mediaOrigin}`,
    `img-src ${mediaOrigin}`,
    "form-action 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function reviewRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  let policy: string | undefined;
  return [
    route({
      method: 'get',
      path: '/review',
      summary:
        'The review page: sign in, watch each video awaiting approval (from its presigned link) beside its script, safety flags and cost, ' +
        'approve it for a time or reject it with a reason. The page holds no data: it calls the API with the token of the person signed in',
      tag: 'review',
      auth: 'public',
      responses: { 200: 'an HTML page' },
      handler: async (_req, res) => {
        policy ??= reviewPolicy(await ctx.db.objects.linkOrigin());
        res.setHeader('Content-Security-Policy', policy);
        res.type('html').send(PAGE);
      },
    }),
  ];
}
