// What the browser scenarios of e2e/ui share: TOTP codes (RFC 6238) and reading the
// dev mail outbox (WARDEN_OUTBOX_DIR: one .eml file per mail).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// ------------------------------------------------------------------ TOTP (RFC 6238)

export function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = s.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${JSON.stringify(s)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export const totpStep = (ms = Date.now()) => Math.floor(ms / 1000 / 30);

export function totp(secret, step = totpStep()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
  return String(bin).padStart(6, '0');
}
// RFC 6238 appendix B test vector (SHA-1, 8 digits → last 6 digits here).
assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', Math.floor(59 / 30)), '287082');

// ------------------------------------------------------------------ outbox mails

export function decodeQuotedPrintable(s) {
  const soft = s.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < soft.length; i++) {
    const m = soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3));
    if (m) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function splitHeaders(raw) {
  const m = raw.match(/\r?\n\r?\n/);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

export function decodeBody(headers, body) {
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  if (cte === 'quoted-printable') return decodeQuotedPrintable(body);
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** The text/plain part of a MIME message (multipart or not), decoded. */
export function plainText(raw) {
  const { headers, body } = splitHeaders(raw);
  const ct = headers['content-type'] || 'text/plain';
  const boundary = ct.match(/boundary="?([^";]+)"?/i);
  if (/^multipart\//i.test(ct) && boundary) {
    const parts = body.split(`--${boundary[1]}`).slice(1);
    let html = null;
    for (const part of parts) {
      if (part.startsWith('--')) break;
      const text = plainText(part.replace(/^\r?\n/, ''));
      if (text.type === 'text/plain') return text;
      html ??= text;
    }
    if (html) return html;
    throw new Error('no text part in the multipart mail');
  }
  return { type: ct.split(';')[0].trim().toLowerCase(), text: decodeBody(headers, body), headers };
}

/** Polls the outbox folder for the newest mail to `to` newer than `since` (ms). */
export async function newestMail(OUTBOX, to, since, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let files = [];
    try {
      files = readdirSync(OUTBOX).filter((f) => f.endsWith('.eml'));
    } catch {
      /* the folder is created with the first mail */
    }
    const mails = files
      .map((f) => ({ f, path: join(OUTBOX, f), mtime: statSync(join(OUTBOX, f)).mtimeMs }))
      .filter((m) => m.mtime >= since - 1000)
      .sort((a, b) => b.mtime - a.mtime || b.f.localeCompare(a.f));
    for (const m of mails) {
      const raw = readFileSync(m.path, 'utf8');
      const { headers } = splitHeaders(raw);
      if ((headers.to || '').toLowerCase().includes(to.toLowerCase())) return { ...m, raw, headers };
    }
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${to} in ${OUTBOX} after ${timeoutMs} ms (${files.length} .eml files there)`);
    }
    await new Promise((r) => setTimeout(r, 100)); // polling the folder, not a fixed wait
  }
}


// ------------------------------------------------------------------ small scenarios

/** The value of environment variable `name`; stops the run when it is unset. */
export function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`FAIL setup: environment variable ${name} is not set (run e2e/ui.sh)`);
    process.exit(2);
  }
  return v;
}

/** A step runner that prints `ok`/`FAIL` per step and counts the passed ones. */
export function stepper() {
  const counter = { passed: 0 };
  counter.step = async (name, fn) => {
    try {
      await fn();
      counter.passed += 1;
      console.log(`ok   ${name}`);
    } catch (err) {
      console.log(`FAIL ${name}: ${err?.stack || err}`);
      throw err;
    }
  };
  return counter;
}

/** A JSON call to Warden at `base`: `{status, json}`. */
export async function api(base, method, path, { body, token, adminSecret } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (adminSecret) headers['x-admin-secret'] = adminSecret;
  const r = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

/** Debian's Chromium (or `CHROMIUM_PATH`), headless unless `UI_HEADED=1`. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: process.env.UI_HEADED !== '1',
  });
}

/** A page in a fresh browser context (its own cookies) with `timeoutMs` per action. */
export async function freshPage(browser, timeoutMs) {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(timeoutMs);
  return page;
}
