// Real-browser scenario of issues 11 and 12 against a running warden (started by
// e2e/ui.sh): sign-up → verify email (dev outbox) → sign in → enrol TOTP → sign out →
// sign in with TOTP → revoke another session → create and revoke an API key → register
// a passkey (Chromium's virtual authenticator over CDP) → sign in with it (no password,
// no TOTP step) → remove it and add another → admin blocks the account → password and
// passkey sign-in refused → admin removes the passkey. Only the labels, roles and ids of the page contract are
// used. Every page visited is screenshotted at phone and desktop size and checked for
// basic accessibility (labels, one h1, lang, image text, contrast, phone layout).
//
// Env: UI_BASE_URL, UI_OUTBOX_DIR, UI_ADMIN_LOGIN, UI_ADMIN_PASSWORD (required);
// UI_SCREENSHOT_DIR (default target/ui-screenshots), CHROMIUM_PATH (/usr/bin/chromium),
// UI_STEP_TIMEOUT_MS (60000), UI_HEADED=1 to watch.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { newestMail, plainText, totp, totpStep } from './support.mjs';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    console.error(`FAIL setup: environment variable ${name} is not set (run e2e/ui.sh)`);
    process.exit(2);
  }
  return v;
};
const BASE = env('UI_BASE_URL').replace(/\/$/, '');
const OUTBOX = env('UI_OUTBOX_DIR');
const ADMIN_LOGIN = env('UI_ADMIN_LOGIN');
const ADMIN_PASSWORD = env('UI_ADMIN_PASSWORD');
const SHOTS = resolve(env('UI_SCREENSHOT_DIR', 'target/ui-screenshots'));
const CHROMIUM = env('CHROMIUM_PATH', '/usr/bin/chromium');
const STEP_MS = Number(env('UI_STEP_TIMEOUT_MS', '60000'));
const ACTION_MS = 10_000;
mkdirSync(SHOTS, { recursive: true });

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const VIEWPORTS = [
  ['phone', PHONE],
  ['desktop', DESKTOP],
];

const suffix = randomBytes(3).toString('hex');
const USER = {
  login: `uiuser${suffix}`,
  email: `uiuser${suffix}@example.test`,
  password: `correct horse ${suffix} battery staple`,
};

// ------------------------------------------------------------------ step runner

const results = [];
const notes = [];
const lastDocument = new WeakMap(); // page → its last main-frame document response
let current = null; // the page the running step works on (for failure screenshots)
let shotNo = 0;
const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

async function alertText(page) {
  try {
    const alerts = page.locator('[role="alert"]');
    const n = await alerts.count();
    const texts = [];
    for (let i = 0; i < n; i++) texts.push((await alerts.nth(i).innerText({ timeout: 1000 })).trim());
    return texts.filter(Boolean).join(' | ');
  } catch {
    return '';
  }
}

async function reportFailure(name, err) {
  const msg = (err && err.message ? err.message : String(err)).split('\n').slice(0, 6).join('\n       ');
  console.log(`FAIL ${name}: ${msg}`);
  const page = current;
  if (page && !page.isClosed()) {
    try {
      const file = join(SHOTS, `FAIL-${slug(name)}.png`);
      await page.screenshot({ path: file, fullPage: true, timeout: 5000 });
      const doc = lastDocument.get(page);
      const st = doc && doc.url === page.url() ? ` (HTTP ${doc.status}${doc.status === 404 ? ': page missing' : ''})` : '';
      console.log(`       url:   ${page.url()}${st}`);
      const alert = await alertText(page);
      if (alert) console.log(`       alert: ${alert}`);
      console.log(`       shot:  ${file}`);
    } catch (e) {
      console.log(`       (no failure screenshot: ${e.message.split('\n')[0]})`);
    }
  }
}

const status = new Map();
/**
 * Runs one step of the scenario. A step whose `needs` did not pass is skipped (and
 * counts as not passed for the steps needing it in turn).
 */
async function step(name, fn, { timeoutMs = STEP_MS, needs = [] } = {}) {
  const missing = needs.filter((n) => status.get(n) !== 'ok');
  if (missing.length) {
    console.log(`skip ${name} (needs: ${missing.join(', ')})`);
    results.push({ name, status: 'skip' });
    status.set(name, 'skip');
    return undefined;
  }
  const started = Date.now();
  let timer;
  try {
    const value = await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`step timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    results.push({ name, status: 'ok' });
    status.set(name, 'ok');
    return value;
  } catch (err) {
    await reportFailure(name, err);
    results.push({ name, status: 'fail' });
    status.set(name, 'fail');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ page checks

/** Accessibility and layout checks run inside the page; returns a list of problems. */
function pageChecks() {
  const problems = [];
  const visible = (el) => {
    const s = getComputedStyle(el);
    return s.display !== 'none' && s.visibility !== 'hidden' && el.getClientRects().length > 0;
  };
  const lang = document.documentElement.getAttribute('lang');
  if (!lang || !lang.trim()) problems.push('<html> has no lang');
  const h1s = document.querySelectorAll('h1');
  if (h1s.length !== 1) problems.push(`${h1s.length} <h1> elements (expected exactly one)`);
  if (!document.title.trim()) problems.push('empty <title>');

  const named = (el) => {
    const al = el.getAttribute('aria-label');
    if (al && al.trim()) return true;
    const lb = el.getAttribute('aria-labelledby');
    if (lb && lb.split(/\s+/).some((id) => document.getElementById(id)?.textContent.trim())) return true;
    return false;
  };
  const skip = new Set(['hidden', 'submit', 'button', 'reset', 'image']);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.tagName === 'INPUT' && skip.has((el.getAttribute('type') || 'text').toLowerCase())) continue;
    const byFor = el.id && [...document.querySelectorAll('label[for]')].some(
      (l) => l.htmlFor === el.id && l.textContent.trim(),
    );
    const wrapped = el.closest('label')?.textContent.trim();
    if (!byFor && !wrapped && !named(el)) {
      problems.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name || '?'} id=${el.id || '?'}`);
    }
  }
  for (const img of document.querySelectorAll('img')) {
    const alt = img.getAttribute('alt');
    const decorative = img.getAttribute('role') === 'presentation' || img.getAttribute('aria-hidden') === 'true';
    if (!decorative && !(alt && alt.trim()) && !named(img)) problems.push(`img without alt: ${img.src}`);
  }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.closest('[aria-hidden="true"]') || svg.parentElement?.closest('svg')) continue;
    const fig = svg.closest('figure');
    const ok = named(svg) || svg.querySelector(':scope > title')?.textContent.trim() ||
      (fig && (named(fig) || fig.querySelector('figcaption')?.textContent.trim()));
    if (!ok) problems.push('svg without a text alternative (aria-label, <title> or a labelled <figure>)');
  }
  for (const fig of document.querySelectorAll('figure')) {
    const hasAlt = named(fig) || fig.querySelector('figcaption')?.textContent.trim() ||
      [...fig.querySelectorAll('img, svg')].some((m) => named(m) || (m.getAttribute('alt') || '').trim() ||
        m.querySelector?.(':scope > title')?.textContent.trim());
    if (!hasAlt) problems.push('<figure> without alt text');
  }
  for (const el of document.querySelectorAll('[aria-describedby]')) {
    for (const id of el.getAttribute('aria-describedby').split(/\s+/).filter(Boolean)) {
      if (!document.getElementById(id)) problems.push(`aria-describedby="${id}" names no element`);
    }
  }
  for (const b of document.querySelectorAll('button, a[href]')) {
    if (visible(b) && !b.textContent.trim() && !named(b) && !b.querySelector('img[alt]')) {
      problems.push(`${b.tagName.toLowerCase()} without an accessible name`);
    }
  }

  // Contrast (WCAG 2): text colour against the composited background.
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const rgba = (css) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = '#000';
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage && s.backgroundImage !== 'none') return null; // cannot tell
      const c = rgba(s.backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [255, 255, 255, 1];
    for (const l of layers.reverse()) bg = over(l, bg);
    return bg;
  };
  const lum = ([r, g, b]) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const keyElements = [
    ['body text', document.querySelector('main p, main td, main label, main li, body p')],
    ['h1', document.querySelector('h1')],
    ['label', document.querySelector('label')],
    ['primary button', document.querySelector('form button[type="submit"], form button:not([type]), button')],
    ['link', document.querySelector('main a[href], nav a[href], a[href]')],
    ['alert', document.querySelector('.alert, [role="alert"]')],
    ['notice', document.querySelector('.notice, [role="status"]')],
    ['field error', document.querySelector('.field-error')],
  ];
  const contrast = [];
  for (const [what, el] of keyElements) {
    if (!el || !visible(el) || !el.textContent.trim()) continue;
    const s = getComputedStyle(el);
    const bg = background(el);
    if (!bg) continue;
    const fg = over(rgba(s.color), bg);
    const size = parseFloat(s.fontSize);
    const bold = Number(s.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const need = large ? 3 : 4.5;
    const r = ratio(fg, bg);
    contrast.push(`${what} ${r.toFixed(1)}`);
    if (r < need) problems.push(`contrast of ${what} is ${r.toFixed(2)}:1 (needs ${need}:1): ${s.color} on rgb(${bg.slice(0, 3).join(',')})`);
  }
  return { problems, contrast };
}

/**
 * Screenshots the page at phone and desktop size (full page), checks accessibility at
 * the page's own size and that nothing overflows sideways on the phone.
 */
async function visit(page, name, { postOk = false } = {}) {
  current = page;
  await page.waitForLoadState('load');
  const doc = lastDocument.get(page);
  if (doc && doc.method === 'POST' && doc.status < 300 && !postOk) {
    console.log(`note ${name}: ${doc.url.replace(BASE, '')} was the ${doc.status} answer of a POST, not a 303 redirect to a GET page (contract: PRG)`);
    notes.push(name);
  }
  const own = page.viewportSize();
  const problems = [];
  const { problems: p } = await page.evaluate(pageChecks);
  problems.push(...p);
  const n = String(++shotNo).padStart(2, '0');
  for (const [vp, size] of VIEWPORTS) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SHOTS, `${n}-${slug(name)}-${vp}.png`), fullPage: true });
    if (vp === 'phone') {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (overflow > 1) problems.push(`scrolls sideways by ${overflow}px at 390px wide`);
    }
  }
  await page.setViewportSize(own);
  if (problems.length) {
    console.log(`FAIL a11y ${n}-${name}: ${page.url().replace(BASE, '')}\n       - ${problems.join('\n       - ')}`);
    results.push({ name: `a11y ${name}`, status: 'fail' });
  } else {
    console.log(`ok   a11y ${n}-${name} ${page.url().replace(BASE, '')}`);
    results.push({ name: `a11y ${name}`, status: 'ok' });
  }
}

/** Tab from the top of the page until the sign-in button has the focus. */
async function tabReaches(page, buttonName, maxTabs = 30) {
  // Start from the page heading (a click on plain text moves Chromium's focus
  // navigation starting point there), not from an autofocused field.
  await page.evaluate(() => document.activeElement?.blur());
  await page.locator('h1').first().click();
  await page.evaluate(() => document.activeElement?.blur());
  const seen = [];
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const s = getComputedStyle(el);
      return {
        tag: el.tagName.toLowerCase(),
        type: el.getAttribute('type'),
        text: (el.textContent || el.getAttribute('aria-label') || el.getAttribute('name') || '').trim(),
        submit: el.tagName === 'BUTTON' && (el.type === 'submit') && !!el.form,
        focusRing: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none',
      };
    });
    if (!info) continue;
    seen.push(`${info.tag}${info.text ? `"${info.text.slice(0, 20)}"` : ''}`);
    if (info.submit && info.text === buttonName) {
      if (!info.focusRing) throw new Error(`"${buttonName}" has the focus but no visible focus ring (outline/box-shadow)`);
      return i + 1;
    }
  }
  throw new Error(`${maxTabs} Tab presses did not reach the "${buttonName}" button; focus went through ${seen.join(' → ')}`);
}

// ------------------------------------------------------------------ helpers

const label = (page, text) => page.getByLabel(text, { exact: true });
const button = (scope, name) => scope.getByRole('button', { name, exact: true });
const pathOf = (page) => new URL(page.url()).pathname;

async function h1Is(page, text) {
  const h1 = page.locator('h1');
  await h1.first().waitFor({ timeout: ACTION_MS });
  const got = (await h1.first().innerText()).trim();
  assert.equal(got, text, `h1 is "${got}", expected "${text}" at ${page.url()}`);
}

async function expectPath(page, path) {
  try {
    await page.waitForURL((u) => u.pathname === path, { timeout: ACTION_MS });
  } catch {
    const alert = await alertText(page);
    throw new Error(`expected ${path}, at ${pathOf(page)}${alert ? ` with alert "${alert}"` : ''}`);
  }
  const doc = lastDocument.get(page);
  if (doc && doc.url === page.url() && doc.status >= 400) {
    throw new Error(`${path} answered HTTP ${doc.status}${doc.status === 404 ? ' (page missing)' : ''}`);
  }
}

async function fillSignIn(page, login, password) {
  await label(page, 'Login').fill(login);
  await label(page, 'Password').fill(password);
  await button(page, 'Sign in').click();
  await page.waitForLoadState('load');
}

async function signInWithSecondFactor(page, code) {
  await h1Is(page, 'Two-step verification');
  await label(page, 'Authentication code').fill(code);
  await button(page, 'Verify').click();
  await page.waitForLoadState('load');
}

async function signOutButton(page) {
  const inHeader = page.getByRole('banner').getByRole('button', { name: 'Sign out', exact: true });
  if (await inHeader.count()) return inHeader.first();
  return button(page, 'Sign out').first();
}

async function accountNav(page, name) {
  const nav = page.getByRole('navigation', { name: 'Account' });
  await nav.getByRole('link', { name, exact: true }).click();
  await page.waitForLoadState('load');
}

/** On /ui/account, signing in again (password, then TOTP or a recovery code) if needed. */
async function ensureSignedIn(page) {
  await page.goto(`${BASE}/ui/account`);
  if (pathOf(page) === '/ui/account') return;
  await page.goto(`${BASE}/ui/sign-in`);
  await fillSignIn(page, USER.login, USER.password);
  if ((await page.locator('h1').first().innerText()).trim() === 'Two-step verification') {
    assert.ok(state.recovery?.length, 'the second factor is asked but no recovery code is left');
    await signInWithSecondFactor(page, state.recovery.shift());
  }
  await expectPath(page, '/ui/account');
}

// ------------------------------------------------------------------ passkeys (WebAuthn)

const PASSKEY_NAME = 'ui test passkey';

/**
 * Chromium's virtual authenticator (CDP WebAuthn domain) on `page`: a platform
 * authenticator with resident keys and user verification that answers at once. It
 * belongs to the page's tab and lasts across its navigations, so it is made once.
 */
async function authenticator(page) {
  if (state.authn) return state.authn;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  state.authn = {
    cdp,
    authenticatorId,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    clear: () => cdp.send('WebAuthn.clearCredentials', { authenticatorId }),
  };
  return state.authn;
}

/** A passkey row's "Remove" button (its accessible name may add the passkey's name). */
const removeButton = (row) => row.getByRole('button', { name: /^Remove\b/ });

/** The text of a shown `#passkey-error` (the JS ceremony's error), else ''. */
async function passkeyError(page) {
  const el = page.locator('#passkey-error');
  if (!(await el.count()) || !(await el.first().isVisible())) return '';
  return (await el.first().innerText()).trim();
}

/**
 * Waits for `success` (a locator) after a WebAuthn button was clicked; a message in
 * `#passkey-error` (the ceremony failed) fails at once with its text.
 */
async function passkeyOutcome(page, success, what) {
  const error = page.locator('#passkey-error').filter({ hasText: /\S/ });
  try {
    await success.or(error).first().waitFor({ timeout: ACTION_MS });
  } catch {
    const alert = await alertText(page);
    throw new Error(`no ${what} after ${ACTION_MS} ms at ${pathOf(page)}${alert ? ` (alert "${alert}")` : ''}`);
  }
  const err = await passkeyError(page);
  if (err && !(await success.count())) throw new Error(`#passkey-error: "${err}" (expected ${what})`);
}

/** On /ui/account/passkeys: adds a passkey named `name`; returns its row's id. */
async function addPasskey(page, name, shot) {
  await accountNav(page, 'Passkeys');
  await expectPath(page, '/ui/account/passkeys');
  await h1Is(page, 'Passkeys');
  if (shot) await visit(page, shot);
  const add = button(page, 'Add a passkey');
  await add.waitFor(); // shown once the page's JS sees window.PublicKeyCredential
  assert.equal(await add.getAttribute('id'), 'passkey-add', 'the "Add a passkey" button is not #passkey-add');
  await label(page, 'Passkey name').fill(name);
  await add.click();
  const notice = page.getByRole('status').filter({ hasText: 'Passkey added.' });
  await passkeyOutcome(page, notice, 'notice "Passkey added."');
  await page.waitForLoadState('load');
  await expectPath(page, '/ui/account/passkeys');
  const rows = page.locator('tr[data-passkey-id]').filter({ hasText: name });
  assert.equal(await rows.count(), 1, `no row <tr data-passkey-id> with the name "${name}"`);
  await removeButton(rows.first()).waitFor();
  return rows.first().getAttribute('data-passkey-id');
}

/** Asserts the virtual authenticator holds exactly one resident credential for localhost. */
async function oneResidentCredential() {
  const creds = await state.authn.credentials();
  assert.equal(creds.length, 1, `the virtual authenticator holds ${creds.length} credentials, expected 1`);
  assert.equal(creds[0].isResidentCredential, true, 'the passkey is not a resident (discoverable) credential');
  const host = new URL(BASE).hostname;
  assert.equal(creds[0].rpId, host, `the credential's rpId is ${creds[0].rpId}, expected ${host}`);
  return creds[0];
}

/** On /ui/sign-in: clicks "Sign in with a passkey" (no login, no password). */
async function clickPasskeySignIn(page) {
  await page.goto(`${BASE}/ui/sign-in`);
  await expectPath(page, '/ui/sign-in');
  const pk = button(page, 'Sign in with a passkey');
  await pk.waitFor(); // hidden until the JS sees window.PublicKeyCredential
  assert.equal(await pk.getAttribute('id'), 'passkey-sign-in', 'the "Sign in with a passkey" button is not #passkey-sign-in');
  await pk.click();
}

async function meWithKey(key) {
  const r = await fetch(`${BASE}/auth/me`, { headers: { 'X-API-Key': key } });
  return { status: r.status, body: await r.text() };
}

// ------------------------------------------------------------------ scenario

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: !process.env.UI_HEADED,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});
const newContext = async (viewport, extra = {}) => {
  const ctx = await browser.newContext({ viewport, locale: 'en-US', ...extra });
  ctx.on('page', (p) => p.on('response', (r) => {
    const req = r.request();
    if (req.isNavigationRequest() && r.frame() === p.mainFrame()) {
      lastDocument.set(p, { method: req.method(), status: r.status(), url: r.url() });
    }
  }));
  ctx.setDefaultTimeout(ACTION_MS);
  ctx.setDefaultNavigationTimeout(ACTION_MS * 2);
  return ctx;
};
const t0 = Date.now();
const state = {};
let exitCode = 1;
try {
  const ctx1 = await newContext(DESKTOP);
  const page = await ctx1.newPage();
  current = page;
  page.on('dialog', (d) => d.accept()); // "are you sure?" confirmations, if any

  await step('server serves /ui/sign-in', async () => {
    const r = await fetch(`${BASE}/ui/sign-in`);
    assert.equal(r.status, 200, `GET /ui/sign-in answered ${r.status}`);
    assert.match(r.headers.get('content-type') || '', /text\/html/);
  });

  await step('sign-in page: keyboard reaches "Sign in"', async () => {
    await page.goto(`${BASE}/ui/sign-in`);
    await page.locator('h1').first().waitFor();
    await visit(page, 'sign-in');
    const tabs = await tabReaches(page, 'Sign in');
    console.log(`       (${tabs} Tab presses)`);
  });

  await step('forgot-password page', async () => {
    await page.goto(`${BASE}/ui/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?', exact: true }).click();
    await expectPath(page, '/ui/forgot-password');
    await label(page, 'Email').waitFor();
    await button(page, 'Send reset link').waitFor();
    await visit(page, 'forgot-password');
  });

  await step('sign up', async () => {
    await page.goto(`${BASE}/ui/sign-in`);
    await page.getByRole('link', { name: 'Create an account', exact: true }).click();
    await expectPath(page, '/ui/sign-up');
    await visit(page, 'sign-up');
    state.signUpAt = Date.now();
    await label(page, 'Login').fill(USER.login);
    await label(page, 'Email').fill(USER.email);
    await label(page, 'Password').fill(USER.password);
    await button(page, 'Create account').click();
    await page.waitForLoadState('load');
    await h1Is(page, 'Check your email');
    await visit(page, 'check-your-email');
  });

  await step('verification mail links to /ui/email/verify', async () => {
    const mail = await newestMail(OUTBOX, USER.email, state.signUpAt);
    const { text } = plainText(mail.raw);
    const links = [...text.matchAll(/https?:\/\/[^\s<>"')]+/g)].map((m) => m[0]);
    const withToken = links.filter((l) => /[?&]token=/.test(l));
    assert.ok(withToken.length, `no link with token= in ${mail.f}:\n${text.slice(0, 400)}`);
    const ui = withToken.find((l) => new URL(l).pathname === '/ui/email/verify');
    state.token = new URL(ui || withToken[0]).searchParams.get('token');
    // The scenario goes on with the mail's link (what a user opens) even when its path
    // differs from the contract; that difference fails this (soft) step.
    state.verifyLink = ui || withToken[0];
    assert.ok(ui, `the mail links to ${withToken[0].replace(/token=[^&]+/, 'token=…')}, not to ${BASE}/ui/email/verify?token=… (contract)`);
    assert.ok(ui.startsWith(`${BASE}/`), `the link ${ui} does not start with WARDEN_PUBLIC_URL ${BASE}`);
  }, { needs: ['sign up'] });

  await step('confirm email', async () => {
    assert.ok(state.verifyLink, 'no verification token was found in the outbox');
    await page.goto(state.verifyLink);
    await h1Is(page, 'Confirm your email');
    await visit(page, 'verify-email');
    await button(page, 'Confirm email').click();
    await page.waitForLoadState('load');
    const notice = page.getByRole('status');
    await notice.filter({ hasText: 'Your email address is confirmed.' }).first().waitFor();
    await page.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
    await visit(page, 'email-confirmed');
  }, { needs: ['sign up'] });

  await step('sign in', async () => {
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await expectPath(page, '/ui/sign-in');
    await fillSignIn(page, USER.login, USER.password);
    await expectPath(page, '/ui/account');
    await page.getByText(USER.login).first().waitFor();
    await page.getByText(USER.email).first().waitFor();
    await visit(page, 'account-profile');
    // The Admin link is only for scope admin.
    const adminLinks = await page.getByRole('navigation', { name: 'Account' })
      .getByRole('link', { name: 'Admin', exact: true }).count();
    assert.equal(adminLinks, 0, 'a user without scope admin sees the "Admin" link');
  }, { needs: ['confirm email'] });

  await step('other account pages', async () => {
    await accountNav(page, 'Password');
    await expectPath(page, '/ui/account/password');
    await label(page, 'Current password').waitFor();
    await label(page, 'New password').waitFor();
    await visit(page, 'account-password');
    await accountNav(page, 'Identities');
    await expectPath(page, '/ui/account/identities');
    await visit(page, 'account-identities');
  }, { needs: ['sign in'] });

  await step('enrol TOTP', async () => {
    await page.goto(`${BASE}/ui/account`);
    await accountNav(page, 'Two-factor');
    await expectPath(page, '/ui/account/two-factor');
    await visit(page, 'two-factor-off');
    await button(page, 'Set up authenticator app').click();
    await page.waitForLoadState('load');
    const secret = (await page.locator('#totp-secret').innerText()).trim();
    assert.match(secret.replace(/\s/g, ''), /^[A-Z2-7]+=*$/i, `#totp-secret is not base32: ${secret}`);
    // The QR code: an inline <svg> or an <img> (SVG data URL, allowed by the CSP) in a <figure>, with text.
    const qr = page.locator('figure svg, figure img[alt]:not([alt=""])');
    assert.ok(await qr.count(), 'no QR code (<figure> with an <svg> or an <img alt>)');
    assert.ok(await qr.first().isVisible(), 'the QR code is not visible');
    await visit(page, 'two-factor-setup');
    state.secret = secret;
    state.enrolStep = totpStep();
    await label(page, 'Authentication code').fill(totp(secret, state.enrolStep));
    await button(page, 'Enable').click();
    await page.waitForLoadState('load');
    const codes = (await page.locator('#recovery-codes li').allInnerTexts()).map((c) => c.trim()).filter(Boolean);
    assert.ok(codes.length >= 2, `expected recovery codes in <ul id="recovery-codes">, got ${codes.length}`);
    state.recovery = codes;
    await visit(page, 'recovery-codes');
    // Shown once: not on the next load of the page.
    await page.goto(`${BASE}/ui/account/two-factor`);
    assert.equal(await page.locator('#recovery-codes').count(), 0, 'recovery codes are shown again');
    await label(page, 'Password').waitFor();
    await button(page, 'Turn off two-factor').waitFor();
    await visit(page, 'two-factor-on');
  }, { needs: ['sign in'] });

  await step('sign out', async () => {
    await (await signOutButton(page)).click();
    await page.waitForLoadState('load');
    await page.goto(`${BASE}/ui/account`);
    await expectPath(page, '/ui/sign-in');
    await visit(page, 'signed-out');
  }, { needs: ['sign in'] });

  await step('sign in with password and TOTP', async () => {
    await page.goto(`${BASE}/ui/sign-in`);
    await fillSignIn(page, USER.login, USER.password);
    await h1Is(page, 'Two-step verification');
    await visit(page, 'two-step-verification');
    // Codes are single use: wait for the step after the one used at enrolment.
    const wait = (state.enrolStep + 1) * 30_000 - Date.now();
    if (wait > 0) {
      console.log(`       (waiting ${(wait / 1000).toFixed(1)} s for the next TOTP step)`);
      await new Promise((r) => setTimeout(r, wait + 200));
    }
    await signInWithSecondFactor(page, totp(state.secret));
    await expectPath(page, '/ui/account');
  }, { timeoutMs: STEP_MS + 35_000, needs: ['enrol TOTP', 'sign out'] });

  const ctx2 = await newContext(PHONE, { hasTouch: true, isMobile: true });
  const phone = await ctx2.newPage();
  await step('sign in on a second device (phone, recovery code)', async () => {
    current = phone;
    await phone.goto(`${BASE}/ui/sign-in`);
    await visit(phone, 'phone-sign-in');
    await fillSignIn(phone, USER.login, USER.password);
    if (state.secret) await signInWithSecondFactor(phone, state.recovery.shift());
    await expectPath(phone, '/ui/account');
    await visit(phone, 'phone-account');
  }, { needs: ['sign in'] });

  await step('revoke the other session', async () => {
    current = page;
    await ensureSignedIn(page);
    await accountNav(page, 'Sessions');
    await expectPath(page, '/ui/account/sessions');
    await visit(page, 'sessions');
    const rows = page.locator('tr[data-session-id]');
    const mine = rows.filter({ hasText: 'This device' });
    assert.equal(await mine.count(), 1, 'expected one row saying "This device"');
    const others = rows.filter({ hasNotText: 'This device' });
    const n = await others.count();
    assert.equal(n, 1, `expected one other session (the phone), found ${n}`);
    await button(page, 'Sign out all other sessions').waitFor();
    const id = await others.first().getAttribute('data-session-id');
    await button(others.first(), 'Sign out').click();
    await page.waitForLoadState('load');
    await expectPath(page, '/ui/account/sessions');
    assert.equal(await page.locator(`tr[data-session-id="${id}"]`).count(), 0, 'the revoked session is still listed');
    await visit(page, 'sessions-after-revoke');
    current = phone;
    await phone.reload();
    await phone.waitForLoadState('load');
    await expectPath(phone, '/ui/sign-in');
    current = page;
  }, { needs: ['sign in on a second device (phone, recovery code)'] });
  await ctx2.close();

  await step('create an API key (shown once, works with X-API-Key)', async () => {
    current = page;
    await ensureSignedIn(page);
    await accountNav(page, 'API keys');
    await expectPath(page, '/ui/account/api-keys');
    await visit(page, 'api-keys');
    await label(page, 'Name').fill('ui test key');
    await label(page, 'Scopes').fill('');
    await label(page, 'Expires in (days)').fill('7');
    await button(page, 'Create key').click();
    await page.waitForLoadState('load');
    const key = (await page.locator('#new-api-key').innerText()).trim();
    assert.ok(key.length >= 16, `#new-api-key looks empty: "${key}"`);
    await button(page, 'Copy').waitFor();
    await visit(page, 'api-key-created');
    state.apiKey = key;
    const rows = page.locator('tr[data-api-key-id]').filter({ hasText: 'ui test key' });
    assert.equal(await rows.count(), 1, 'the new key has no row with its name');
    await button(rows.first(), 'Renew').waitFor();
    await rows.first().getByRole('link', { name: 'Usage', exact: true }).waitFor();
    await page.goto(`${BASE}/ui/account/api-keys`);
    assert.equal(await page.locator('#new-api-key').count(), 0, 'the key is shown again on reload');
    assert.ok(!(await page.content()).includes(key), 'the key is in the page again on reload');
    const me = await meWithKey(key);
    assert.equal(me.status, 200, `GET /auth/me with X-API-Key: ${me.status} ${me.body.slice(0, 200)}`);
    assert.equal(JSON.parse(me.body).login, USER.login);
  }, { needs: ['sign in'] });

  await step('revoke the API key (X-API-Key then refused)', async () => {
    const row = page.locator('tr[data-api-key-id]').filter({ hasText: 'ui test key' }).first();
    await button(row, 'Revoke').click();
    await page.waitForLoadState('load');
    await visit(page, 'api-key-revoked');
    const me = await meWithKey(state.apiKey);
    assert.equal(me.status, 401, `GET /auth/me with the revoked key: ${me.status}`);
  }, { needs: ['create an API key (shown once, works with X-API-Key)'] });

  // Passkeys (issue 12): the user's tab gets a virtual authenticator.
  await step('register a passkey', async () => {
    current = page;
    const authn = await authenticator(page);
    assert.equal((await authn.credentials()).length, 0, 'the new virtual authenticator is not empty');
    await ensureSignedIn(page);
    state.passkeyId = await addPasskey(page, PASSKEY_NAME, 'passkeys-none');
    await visit(page, 'passkey-added');
    const cred = await oneResidentCredential();
    state.credentialId = cred.credentialId;
    // Reloading keeps the row but not the notice (flash).
    await page.goto(`${BASE}/ui/account/passkeys`);
    assert.equal(await page.locator(`tr[data-passkey-id="${state.passkeyId}"]`).count(), 1, 'the passkey row is gone after a reload');
  }, { needs: ['sign in'] });

  await step('sign in with a passkey (no password, no TOTP step)', async () => {
    current = page;
    await (await signOutButton(page)).click();
    await page.waitForLoadState('load');
    await page.goto(`${BASE}/ui/account`);
    await expectPath(page, '/ui/sign-in');
    const before = (await state.authn.credentials())[0]?.signCount ?? 0;
    await clickPasskeySignIn(page);
    // The user has TOTP on: a passkey is two factors, so no "Two-step verification".
    await passkeyOutcome(page, page.getByRole('navigation', { name: 'Account' }), 'account page');
    await expectPath(page, '/ui/account');
    await page.getByText(USER.login).first().waitFor();
    const after = (await state.authn.credentials())[0]?.signCount ?? 0;
    assert.ok(after > before, `the authenticator's signCount did not grow (${before} → ${after}): no assertion was made`);
    await visit(page, 'account-after-passkey-sign-in');
  }, { needs: ['register a passkey', 'sign out'] });

  await step('remove the passkey, then add another', async () => {
    current = page;
    await ensureSignedIn(page);
    await accountNav(page, 'Passkeys');
    await expectPath(page, '/ui/account/passkeys');
    const row = page.locator(`tr[data-passkey-id="${state.passkeyId}"]`);
    assert.equal(await row.count(), 1, 'the passkey has no row');
    await removeButton(row).click(); // a confirm() dialog, if any, is accepted
    await page.waitForLoadState('load');
    await expectPath(page, '/ui/account/passkeys');
    await page.getByRole('status').filter({ hasText: /\S/ }).first().waitFor();
    assert.equal(await page.locator(`tr[data-passkey-id="${state.passkeyId}"]`).count(), 0, 'the removed passkey is still listed');
    assert.equal(await page.getByRole('alert').filter({ hasText: /\S/ }).count(), 0,
      `an alert after removing a passkey of a user with a password: "${await alertText(page)}"`);
    await visit(page, 'passkey-removed');
    // The authenticator still holds the old credential: forget it so that the sign-in
    // below has exactly one passkey to offer.
    await state.authn.clear();
    state.passkeyId = await addPasskey(page, `${PASSKEY_NAME} 2`);
    state.passkeyName = `${PASSKEY_NAME} 2`;
    const cred = await oneResidentCredential();
    assert.notEqual(cred.credentialId, state.credentialId, 'the new passkey has the old credential id');
  }, { needs: ['register a passkey'] });

  const ctx3 = await newContext(DESKTOP);
  const admin = await ctx3.newPage();
  admin.on('dialog', (d) => d.accept());
  await step('admin signs in', async () => {
    current = admin;
    await admin.goto(`${BASE}/ui/sign-in`);
    await fillSignIn(admin, ADMIN_LOGIN, ADMIN_PASSWORD);
    await expectPath(admin, '/ui/account');
    await accountNav(admin, 'Admin');
    await admin.getByRole('navigation', { name: 'Admin' }).waitFor();
    await visit(admin, 'admin-home');
  });

  await step('admin finds and blocks the account', async () => {
    current = admin;
    await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Accounts', exact: true }).click();
    await admin.waitForLoadState('load');
    await expectPath(admin, '/ui/admin/accounts');
    await visit(admin, 'admin-accounts');
    await label(admin, 'Search').fill(USER.login);
    await button(admin, 'Search').click();
    await admin.waitForLoadState('load');
    const row = admin.locator('tr[data-account-id]').filter({ hasText: USER.login });
    assert.equal(await row.count(), 1, `searching "${USER.login}" did not give one row`);
    state.accountId = await row.getAttribute('data-account-id');
    await visit(admin, 'admin-accounts-search');
    await row.getByRole('link', { name: USER.login, exact: true }).click();
    await expectPath(admin, `/ui/admin/accounts/${state.accountId}`);
    await visit(admin, 'admin-account');
    state.adminAccountUrl = admin.url();
    await label(admin, 'Reason').fill('ui test: blocked by the browser test');
    await button(admin, 'Block').click();
    await admin.waitForLoadState('load');
    await expectPath(admin, `/ui/admin/accounts/${state.accountId}`);
    await button(admin, 'Unblock').waitFor();
    await visit(admin, 'admin-account-blocked');
  }, { needs: ['admin signs in', 'sign up'] });

  await step('admin audit log', async () => {
    current = admin;
    await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Audit log', exact: true }).click();
    await admin.waitForLoadState('load');
    await expectPath(admin, '/ui/admin/audit');
    await visit(admin, 'admin-audit');
    await admin.goto(`${BASE}/ui/admin/audit?account=${encodeURIComponent(state.accountId)}`);
    await admin.locator('table').first().waitFor();
    await visit(admin, 'admin-audit-account');
  }, { needs: ['admin finds and blocks the account'] });

  await step('blocked account: sign-in refused', async () => {
    current = page;
    // Blocking revoked the user's sessions.
    await page.goto(`${BASE}/ui/account`);
    await expectPath(page, '/ui/sign-in');
    await page.goto(`${BASE}/ui/sign-in`);
    await fillSignIn(page, USER.login, USER.password);
    if ((await page.locator('h1').first().innerText()).trim() === 'Two-step verification') {
      await signInWithSecondFactor(page, state.recovery.shift());
    }
    const alert = page.getByRole('alert');
    await alert.first().waitFor();
    const text = await alertText(page);
    assert.match(text, /blocked/i, `alert "${text}" does not say "blocked"`);
    assert.notEqual(pathOf(page), '/ui/account', 'the blocked user reached /ui/account');
    await visit(page, 'sign-in-blocked', { postOk: true });
  }, { needs: ['admin finds and blocks the account'] });

  await step('audit: the passkey sign-in has amr hwk or swk', async () => {
    current = admin;
    await admin.goto(`${BASE}/ui/admin/audit?account=${encodeURIComponent(state.accountId)}&type=login.success`);
    const rows = admin.locator('tr[data-event="login.success"]').filter({ hasText: 'passkey' });
    const n = await rows.count();
    assert.ok(n >= 1, 'no login.success event with method passkey in the account\'s audit log');
    const detail = (await rows.first().innerText()).replace(/\s+/g, ' ');
    assert.match(detail, /amr\W+(hwk|swk)\b/, `the passkey login's detail has no amr hwk/swk: ${detail}`);
    assert.doesNotMatch(detail, /amr\W+[^\]]*(pwd|otp)/, `the passkey login's amr names pwd/otp: ${detail}`);
    console.log(`       (${detail.match(/amr\W+[a-z", ]+/)?.[0]})`);
  }, { needs: ['admin audit log', 'sign in with a passkey (no password, no TOTP step)'] });

  await step('blocked account: passkey sign-in refused', async () => {
    current = page;
    await clickPasskeySignIn(page);
    const blocked = page.getByRole('alert').filter({ hasText: /blocked/i });
    const anyError = page.locator('#passkey-error').filter({ hasText: /\S/ });
    try {
      await blocked.or(anyError).first().waitFor({ timeout: ACTION_MS });
    } catch {
      throw new Error(`no alert after "Sign in with a passkey" at ${pathOf(page)}`);
    }
    const text = (await passkeyError(page)) || (await alertText(page));
    assert.match(text, /blocked/i, `the alert "${text}" does not say "blocked"`);
    assert.notEqual(pathOf(page), '/ui/account', 'the blocked user reached /ui/account');
    await visit(page, 'sign-in-passkey-blocked', { postOk: true });
    await page.goto(`${BASE}/ui/account`);
    await expectPath(page, '/ui/sign-in');
  }, { needs: ['admin finds and blocks the account', 'remove the passkey, then add another'] });

  await step('admin removes the passkey', async () => {
    current = admin;
    await admin.goto(state.adminAccountUrl);
    const row = admin.locator(`tr[data-passkey-id="${state.passkeyId}"]`);
    assert.equal(await row.count(), 1, `the admin account page lists no <tr data-passkey-id="${state.passkeyId}">`);
    assert.ok((await row.innerText()).includes(state.passkeyName), `the admin's passkey row does not name "${state.passkeyName}"`);
    await visit(admin, 'admin-account-passkeys');
    await removeButton(row).click();
    await admin.waitForLoadState('load');
    await expectPath(admin, new URL(state.adminAccountUrl).pathname);
    assert.equal(await admin.locator(`tr[data-passkey-id="${state.passkeyId}"]`).count(), 0, 'the removed passkey is still listed');
    await visit(admin, 'admin-passkey-removed');
  }, { needs: ['admin finds and blocks the account', 'remove the passkey, then add another'] });

  await ctx3.close();
  await ctx1.close();
} catch (err) {
  await reportFailure('harness', err);
  results.push({ name: 'harness', status: 'fail' });
} finally {
  await browser.close().catch(() => {});
  const count = (s) => results.filter((r) => r.status === s).length;
  const failed = results.filter((r) => r.status === 'fail').map((r) => r.name);
  console.log(
    `ui: ${count('ok')} ok, ${count('fail')} failed, ${count('skip')} skipped in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
      (failed.length ? `; failed: ${failed.join(', ')}` : '') +
      (notes.length ? `; ${notes.length} PRG notes` : ''),
  );
  exitCode = failed.length || count('skip') ? 1 : 0;
}
process.exit(exitCode);
