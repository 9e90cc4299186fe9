// A throw-away in-memory imitation of the /ui page contract (/tmp/ui-contract.md at the
// time of writing), NOT the real server: it only lets the harness itself be tested
// (locators, TOTP, outbox parsing, step order) when the real pages are missing or
// broken, to tell a harness bug from a page bug:
//   PORT=39555 OUTBOX=/tmp/ui-mock-outbox node e2e/ui/contract-mock.mjs &
//   UI_BASE_URL=http://127.0.0.1:39555 UI_OUTBOX_DIR=/tmp/ui-mock-outbox \
//     UI_ADMIN_LOGIN=admin UI_ADMIN_PASSWORD=adminpw node e2e/ui/test.mjs
import http from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
const PORT = Number(process.env.PORT || 39555);
const BASE = `http://127.0.0.1:${PORT}`;
const OUTBOX = process.env.OUTBOX || '/tmp/mock/outbox';
mkdirSync(OUTBOX, { recursive: true });
function base32Decode(s) { const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'; let bits = 0, v = 0; const o = []; for (const c of s) { v = (v << 5) | a.indexOf(c); bits += 5; if (bits >= 8) { o.push((v >>> (bits - 8)) & 255); bits -= 8; } } return Buffer.from(o); }
function totp(secret, step) { const c = Buffer.alloc(8); c.writeBigUInt64BE(BigInt(step)); const m = createHmac('sha1', base32Decode(secret)).update(c).digest(); const off = m[19] & 15; return String((m.readUInt32BE(off) & 0x7fffffff) % 1e6).padStart(6, '0'); }
const rid = () => randomBytes(8).toString('hex');
const users = new Map(); // id -> user
const sessions = new Map(); // sid -> {uid, device}
const keys = new Map();
const flashes = new Map();
let n = 0;
const adminId = rid(); users.set(adminId, { id: adminId, login: 'admin', password: 'adminpw', email: '', scopes: ['admin'] });
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
function page(res, { title, body, user, alert, notice, status = 200, setCookie }) {
  const nav = user ? `<nav aria-label="Account"><a href="/ui/account">Profile</a> <a href="/ui/account/password">Password</a> <a href="/ui/account/two-factor">Two-factor</a> <a href="/ui/account/sessions">Sessions</a> <a href="/ui/account/api-keys">API keys</a> <a href="/ui/account/identities">Identities</a>${user.scopes?.includes('admin') ? ' <a href="/ui/admin/accounts">Admin</a>' : ''}</nav>` : '';
  const hdr = `<header><a href="/ui/">Warden</a>${user ? `<form method="post" action="/ui/sign-out"><input type="hidden" name="_csrf" value="x"><button type="submit">Sign out</button></form>` : ''}</header>`;
  const h = { 'content-type': 'text/html; charset=utf-8' }; if (setCookie) h['set-cookie'] = setCookie;
  res.writeHead(status, h);
  res.end(`<!doctype html><html lang="en"><head><title>${esc(title)}</title><meta name="viewport" content="width=device-width"><style>body{font-family:sans-serif;color:#111;background:#fff;max-width:600px;margin:auto}button{color:#fff;background:#1d4ed8}button:focus-visible{outline:2px solid #f90}label{display:block}</style></head><body>${hdr}${nav}<main>${alert ? `<div class="alert" role="alert">${esc(alert)}</div>` : ''}${notice ? `<div class="notice" role="status">${esc(notice)}</div>` : ''}${body}</main></body></html>`);
}
const redirect = (res, to, cookie) => { const h = { location: to }; if (cookie) h['set-cookie'] = cookie; res.writeHead(303, h); res.end(); };
const field = (id, label, type = 'text') => `<label for="${id}">${label}</label><input id="${id}" name="${id}" type="${type}">`;
const form = (action, inner, btn) => `<form method="post" action="${action}"><input type="hidden" name="_csrf" value="x">${inner}<button type="submit">${btn}</button></form>`;
const cookies = (req) => Object.fromEntries((req.headers.cookie || '').split(/;\s*/).filter(Boolean).map((c) => c.split('=')));
function mail(to, link) {
  const qp = link.replace(/=/g, '=3D').replace(/(.{70})/g, '$1=\r\n');
  const b = 'BOUNDARY123';
  writeFileSync(`${OUTBOX}/${Math.floor(Date.now() / 1000)}-${rid()}.eml`, `From: w@x\r\nTo: ${to}\r\nSubject: Verify\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="${b}"\r\n\r\n--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nOpen this link:\r\n${qp}\r\n--${b}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D"x">x</a>\r\n--${b}--\r\n`);
}
http.createServer(async (req, res) => {
  const url = new URL(req.url, BASE); const p = url.pathname;
  let body = ''; for await (const c of req) body += c; const f = Object.fromEntries(new URLSearchParams(body));
  const ck = cookies(req); const sess = sessions.get(ck.warden_ui); const user = sess && users.get(sess.uid);
  const flash = flashes.get(ck.warden_ui) || {}; flashes.delete(ck.warden_ui);
  const byLogin = (l) => [...users.values()].find((u) => u.login === l);
  const signIn = (u) => { const sid = rid(); sessions.set(sid, { uid: u.id, device: req.headers['user-agent'].includes('Mobile') ? 'Phone' : 'Desktop', ip: '127.0.0.1' }); return redirect(res, '/ui/account', `warden_ui=${sid}; Path=/ui; HttpOnly`); };
  if (p === '/auth/me') { const k = [...keys.values()].find((k) => k.key === req.headers['x-api-key'] && !k.revoked); if (!k) { res.writeHead(401); return res.end('{}'); } res.writeHead(200, { 'content-type': 'application/json' }); return res.end(JSON.stringify({ login: users.get(k.uid).login })); }
  if (p === '/ui/sign-in' && req.method === 'GET') return page(res, { title: 'Sign in', body: `<h1>Sign in</h1>${form('/ui/sign-in', field('login', 'Login') + field('password', 'Password', 'password') + '<input id="r" name="r" type="checkbox"><label for="r">Remember me</label>', 'Sign in')}<a href="/ui/sign-up">Create an account</a> <a href="/ui/forgot-password">Forgot your password?</a>` });
  if (p === '/ui/sign-in') { const u = byLogin(f.login); if (!u || u.password !== f.password) return page(res, { status: 401, title: 'Sign in', alert: 'Invalid login or password', body: `<h1>Sign in</h1>${form('/ui/sign-in', field('login', 'Login') + field('password', 'Password', 'password'), 'Sign in')}` }); if (u.blocked) return page(res, { status: 403, title: 'Sign in', alert: 'This account is blocked', body: `<h1>Sign in</h1>${form('/ui/sign-in', field('login', 'Login') + field('password', 'Password', 'password'), 'Sign in')}` }); if (u.mfa) { const t = rid(); flashes.set('mfa' + t, u.id); return redirect(res, '/ui/sign-in/mfa', `mfa=${t}; Path=/ui`); } return signIn(u); }
  if (p === '/ui/sign-in/mfa' && req.method === 'GET') return page(res, { title: '2sv', body: `<h1>Two-step verification</h1>${form('/ui/sign-in/mfa', field('code', 'Authentication code'), 'Verify')}` });
  if (p === '/ui/sign-in/mfa') { const u = users.get(flashes.get('mfa' + ck.mfa)); const step = Math.floor(Date.now() / 30000); const ri = u.recovery.indexOf(f.code); if (ri >= 0) u.recovery.splice(ri, 1); else if (f.code !== totp(u.secret, step) || u.lastStep >= step) return page(res, { title: '2sv', alert: 'Invalid code', body: `<h1>Two-step verification</h1>${form('/ui/sign-in/mfa', field('code', 'Authentication code'), 'Verify')}` }); else u.lastStep = step; return signIn(u); }
  if (p === '/ui/sign-up' && req.method === 'GET') return page(res, { title: 'Sign up', body: `<h1>Create an account</h1>${form('/ui/sign-up', field('login', 'Login') + field('email', 'Email') + field('password', 'Password', 'password'), 'Create account')}` });
  if (p === '/ui/sign-up') { const id = rid(); const tok = rid(); users.set(id, { id, login: f.login, email: f.email, password: f.password, scopes: [], tok }); mail(f.email, `${BASE}/ui/verify-email?token=${tok}`); return redirect(res, '/ui/check-email'); }
  if (p === '/ui/check-email') return page(res, { title: 'Check', body: '<h1>Check your email</h1>' });
  if (p === '/ui/verify-email' && req.method === 'GET') return url.searchParams.get('done') ? page(res, { title: 'Confirm', notice: 'Your email address is confirmed.', body: '<h1>Confirm your email</h1><a href="/ui/sign-in">Sign in</a>' }) : page(res, { title: 'Confirm', body: `<h1>Confirm your email</h1>${form('/ui/verify-email', `<input type="hidden" name="token" value="${url.searchParams.get('token')}">`, 'Confirm email')}` });
  if (p === '/ui/verify-email') return redirect(res, '/ui/verify-email?done=1');
  if (p === '/ui/forgot-password') return page(res, { title: 'Forgot', body: `<h1>Forgot your password</h1>${form('/ui/forgot-password', field('email', 'Email'), 'Send reset link')}` });
  if (p === '/ui/sign-out') { sessions.delete(ck.warden_ui); return redirect(res, '/ui/sign-in'); }
  if (p.startsWith('/ui/account') || p.startsWith('/ui/admin')) {
    if (!user) return redirect(res, '/ui/sign-in');
    const me = (extra) => page(res, { user, notice: flash.notice, ...extra });
    const flashTo = (to, v) => { flashes.set(ck.warden_ui, v); return redirect(res, to); };
    if (p === '/ui/account') return me({ title: 'Profile', body: `<h1>Profile</h1><p>${esc(user.login)}</p><p>${esc(user.email)}</p>` });
    if (p === '/ui/account/password') return me({ title: 'Password', body: `<h1>Password</h1>${form('x', field('cur', 'Current password', 'password') + field('new', 'New password', 'password'), 'Change password')}` });
    if (p === '/ui/account/identities') return me({ title: 'Identities', body: '<h1>Linked identities</h1>' });
    if (p === '/ui/account/two-factor' && req.method === 'GET') {
      if (user.mfa) return me({ title: '2fa', body: `<h1>Two-factor</h1>${flash.codes ? `<ul id="recovery-codes">${flash.codes.map((c) => `<li>${c}</li>`).join('')}</ul>` : ''}${form('/ui/account/two-factor/off', field('password', 'Password', 'password'), 'Turn off two-factor')}` });
      if (flash.setup) return me({ title: '2fa', body: `<h1>Set up</h1><figure><svg role="img" aria-label="QR code" width="10" height="10"></svg></figure><code id="totp-secret">${user.secret}</code>${form('/ui/account/two-factor/enable', field('code', 'Authentication code'), 'Enable')}` });
      return me({ title: '2fa', body: `<h1>Two-factor</h1>${form('/ui/account/two-factor/setup', '', 'Set up authenticator app')}` });
    }
    if (p === '/ui/account/two-factor/setup') { user.secret = [...randomBytes(16)].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join(''); return flashTo('/ui/account/two-factor', { setup: 1 }); }
    if (p === '/ui/account/two-factor/enable') { const step = Math.floor(Date.now() / 30000); if (f.code !== totp(user.secret, step)) return flashTo('/ui/account/two-factor', { setup: 1 }); user.lastStep = step; user.mfa = true; user.recovery = [rid(), rid(), rid()]; return flashTo('/ui/account/two-factor', { codes: user.recovery }); }
    if (p === '/ui/account/sessions') return me({ title: 'Sessions', body: `<h1>Sessions</h1><table>${[...sessions].filter(([, s]) => s.uid === user.id).map(([id, s]) => `<tr data-session-id="${id}"><td>${s.device}</td><td>${id === ck.warden_ui ? 'This device' : form(`/ui/account/sessions/${id}/revoke`, '', 'Sign out')}</td></tr>`).join('')}</table>${form('/ui/account/sessions/revoke-others', '', 'Sign out all other sessions')}` });
    let m;
    if ((m = p.match(/^\/ui\/account\/sessions\/(\w+)\/revoke$/))) { sessions.delete(m[1]); return flashTo('/ui/account/sessions', { notice: 'Signed out.' }); }
    if (p === '/ui/account/api-keys' && req.method === 'GET') return me({ title: 'API keys', body: `<h1>API keys</h1>${flash.key ? `<code id="new-api-key">${flash.key}</code><button type="button">Copy</button>` : ''}${form('/ui/account/api-keys', field('name', 'Name') + field('scopes', 'Scopes') + field('days', 'Expires in (days)'), 'Create key')}<table>${[...keys].filter(([, k]) => k.uid === user.id && !k.revoked).map(([id, k]) => `<tr data-api-key-id="${id}"><td>${esc(k.name)}</td><td>${form(`/ui/account/api-keys/${id}/revoke`, '', 'Revoke')}${form('x', '', 'Renew')}<a href="x">Usage</a></td></tr>`).join('')}</table>` });
    if (p === '/ui/account/api-keys') { const key = 'wk_' + rid() + rid(); keys.set(rid(), { uid: user.id, name: f.name, key }); return flashTo('/ui/account/api-keys', { key }); }
    if ((m = p.match(/^\/ui\/account\/api-keys\/(\w+)\/revoke$/))) { keys.get(m[1]).revoked = true; return flashTo('/ui/account/api-keys', { notice: 'Revoked.' }); }
    const anav = '<nav aria-label="Admin"><a href="/ui/admin/accounts">Accounts</a> <a href="/ui/admin/audit">Audit log</a></nav>';
    if (p === '/ui/admin/accounts') { const q = url.searchParams.get('q') || ''; return me({ title: 'Accounts', body: `${anav}<h1>Accounts</h1><form method="get" action="/ui/admin/accounts"><label for="q">Search</label><input id="q" name="q" value="${esc(q)}"><button type="submit">Search</button></form><table>${[...users.values()].filter((u) => u.login.includes(q)).map((u) => `<tr data-account-id="${u.id}"><td><a href="/ui/admin/accounts/${u.id}">${esc(u.login)}</a></td></tr>`).join('')}</table>` }); }
    if ((m = p.match(/^\/ui\/admin\/accounts\/(\w+)$/))) { const u = users.get(m[1]); return me({ title: u.login, body: `${anav}<h1>${esc(u.login)}</h1>${u.blocked ? form(`${p}/unblock`, '', 'Unblock') : form(`${p}/block`, field('reason', 'Reason'), 'Block')}` }); }
    if ((m = p.match(/^\/ui\/admin\/accounts\/(\w+)\/block$/))) { const u = users.get(m[1]); u.blocked = true; for (const [sid, s] of sessions) if (s.uid === u.id) sessions.delete(sid); return flashTo(`/ui/admin/accounts/${u.id}`, { notice: 'Blocked.' }); }
    if (p === '/ui/admin/audit') return me({ title: 'Audit', body: `${anav}<h1>Audit log</h1><table><tr><td>x</td></tr></table>` });
  }
  res.writeHead(404); res.end('not found');
}).listen(PORT, '127.0.0.1', () => console.log('mock on', BASE));
