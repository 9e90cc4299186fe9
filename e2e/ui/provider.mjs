// Warden as an OpenID Provider in a real browser, with Node's openid-client (written by
// others, https://github.com/panva/openid-client) as the relying party. Run by e2e/ui.sh
// after test.mjs, against the same running warden:
//
//   discovery → code + PKCE through the hosted sign-in (password, then TOTP) and the consent
//   page in Chromium → the code exchange → ID token checked against the JWKS → userinfo →
//   refresh (rotation, reuse refused) → the client's session on the account's sessions page
//   → RP-initiated logout in the browser ends the Warden session → revocation →
//   client_credentials with introspection.
//
// Env: UI_BASE_URL, UI_ADMIN_SECRET (required); CHROMIUM_PATH (/usr/bin/chromium),
// UI_HEADED=1 to watch.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { api, freshPage, launchChromium, need, stepper, totp } from './support.mjs';

const BASE = need('UI_BASE_URL').replace(/\/$/, '');
const ADMIN_SECRET = need('UI_ADMIN_SECRET');
const ACTION_MS = 10_000;

// ------------------------------------------------------------------ steps

const run = stepper();
const { step } = run;

const call = (method, path, opts = {}) =>
  api(BASE, method, path, { ...opts, adminSecret: opts.admin ? ADMIN_SECRET : undefined });

// The relying party's own little web server: the redirect and post-logout URIs.
const arrivals = [];
const rp = createServer((req, res) => {
  arrivals.push(req.url);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end('<!doctype html><html lang="en"><title>RP</title><h1>Relying party</h1></html>');
});
await new Promise((r) => rp.listen(0, '127.0.0.1', r));
const RP = `http://127.0.0.1:${rp.address().port}`;
const REDIRECT = `${RP}/cb`;
const BYE = `${RP}/bye`;

const suffix = randomBytes(3).toString('hex');
const USER = { login: `opuser${suffix}`, password: `correct horse ${suffix} battery staple` };
const state = {};

const browser = await launchChromium();
let failed = false;
try {
  const page = await freshPage(browser, ACTION_MS);
  const label = (text) => page.getByLabel(text, { exact: true });
  const button = (name) => page.getByRole('button', { name, exact: true });
  const h1 = async () => (await page.locator('h1').first().innerText()).trim();

  await step('an account with TOTP on (JSON API)', async () => {
    assert.equal((await call('POST', '/auth/register', { body: USER })).status, 201);
    const login = await call('POST', '/auth/login', { body: USER });
    assert.equal(login.status, 200, JSON.stringify(login.json));
    const token = login.json.access_token;
    const setup = await call('POST', '/auth/mfa/totp/setup', { token });
    assert.equal(setup.status, 200, JSON.stringify(setup.json));
    state.totp = setup.json.secret;
    state.enrolStep = Math.floor(Date.now() / 30_000);
    const confirm = await call('POST', '/auth/mfa/totp/confirm', {
      token,
      body: { code: totp(state.totp, state.enrolStep) },
    });
    assert.equal(confirm.status, 200, JSON.stringify(confirm.json));
  });

  await step('an admin registers the client', async () => {
    const r = await call('POST', '/auth/admin/oauth-clients', {
      admin: true,
      body: { name: 'Grafana e2e', redirect_uris: [REDIRECT], post_logout_redirect_uris: [BYE] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.ok(r.json.client_secret, 'a confidential client gets its secret once');
    state.client = r.json;
  });

  let config;
  await step('discovery (openid-client)', async () => {
    config = await oidc.discovery(
      new URL(BASE),
      state.client.client_id,
      { client_secret: state.client.client_secret, id_token_signed_response_alg: 'EdDSA' },
      oidc.ClientSecretBasic(state.client.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, BASE);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.ok(meta.end_session_endpoint, 'an end_session_endpoint');
  });

  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const expectedState = oidc.randomState();
  await step('sign-in with password and TOTP, then consent, in Chromium', async () => {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: expectedState,
      nonce,
    });
    await page.goto(url.href);
    await label('Login').fill(USER.login);
    await label('Password').fill(USER.password);
    await button('Sign in').click();
    await page.waitForLoadState('load');
    assert.equal(await h1(), 'Two-step verification', `at ${page.url()}`);
    // A code of a step after the one that confirmed the enrolment (no replay).
    const wait = (state.enrolStep + 1) * 30_000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 200));
    await label('Authentication code').fill(totp(state.totp));
    await button('Verify').click();
    await page.waitForLoadState('load');
    assert.equal(await h1(), 'Allow Grafana e2e?', `at ${page.url()}`);
    const scopes = await page.locator('ul.scopes li').evaluateAll((lis) => lis.map((l) => l.dataset.scope));
    assert.ok(scopes.includes('email') && scopes.includes('profile'), `consent lists ${scopes}`);
    await button('Allow').click();
    await page.waitForURL((u) => u.href.startsWith(REDIRECT), { timeout: ACTION_MS });
    state.callback = new URL(page.url());
    assert.equal(state.callback.searchParams.get('iss'), BASE, 'RFC 9207 iss in the response');
  });

  let tokens;
  await step('code exchange with PKCE, state and nonce checks', async () => {
    tokens = await oidc.authorizationCodeGrant(config, state.callback, {
      pkceCodeVerifier: verifier,
      expectedState,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
    const claims = tokens.claims();
    assert.equal(claims.iss, BASE);
    assert.equal(claims.aud, state.client.client_id);
    assert.equal(claims.nonce, nonce);
    assert.deepEqual([...claims.amr].sort(), ['otp', 'pwd']);
    assert.equal(claims.acr, '1', 'a second factor was used');
    state.sub = claims.sub;
  });

  await step('ID token signature against the JWKS (jose)', async () => {
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, {
      issuer: BASE,
      audience: state.client.client_id,
    });
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.equal(payload.sub, state.sub);
  });

  await step('userinfo', async () => {
    const info = await oidc.fetchUserInfo(config, tokens.access_token, state.sub);
    assert.equal(info.sub, state.sub);
    assert.equal(info.preferred_username, USER.login);
  });

  await step('refresh rotates; the old refresh token is refused', async () => {
    const fresh = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.notEqual(fresh.refresh_token, tokens.refresh_token);
    await assert.rejects(
      oidc.refreshTokenGrant(config, tokens.refresh_token),
      (e) => e.error === 'invalid_grant',
    );
  });

  await step('a second sign-in: remembered consent, the session listed by client name', async () => {
    const v2 = oidc.randomPKCECodeVerifier();
    const s2 = oidc.randomState();
    const n2 = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(v2),
      code_challenge_method: 'S256',
      state: s2,
      nonce: n2,
    });
    await page.goto(url.href);
    await page.waitForURL((u) => u.href.startsWith(REDIRECT), { timeout: ACTION_MS });
    state.second = await oidc.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: v2,
      expectedState: s2,
      expectedNonce: n2,
    });
    await page.goto(`${BASE}/ui/account/sessions`);
    const text = await page.locator('main').innerText();
    assert.match(text, /Grafana e2e/, 'the client is named on the sessions page');
  });

  await step('revocation (RFC 7009) ends that session', async () => {
    await oidc.tokenRevocation(config, state.second.refresh_token);
    await assert.rejects(
      oidc.refreshTokenGrant(config, state.second.refresh_token),
      (e) => e.error === 'invalid_grant',
    );
  });

  await step('RP-initiated logout in the browser ends the Warden session', async () => {
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: BYE,
      state: 'bye-state',
    });
    await page.goto(url.href);
    await page.waitForURL((u) => u.href.startsWith(BYE), { timeout: ACTION_MS });
    assert.equal(new URL(page.url()).searchParams.get('state'), 'bye-state');
    await page.goto(`${BASE}/ui/account`);
    assert.notEqual(new URL(page.url()).pathname, '/ui/account', 'signed out of Warden');
  });

  await step('client_credentials for a service, with introspection', async () => {
    const r = await call('POST', '/auth/admin/oauth-clients', {
      admin: true,
      body: { name: 'Billing service', redirect_uris: [], grant_types: ['client_credentials'], scopes: [] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const svc = await oidc.discovery(
      new URL(BASE),
      r.json.client_id,
      r.json.client_secret,
      oidc.ClientSecretPost(r.json.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const t = await oidc.clientCredentialsGrant(svc, {});
    const active = await oidc.tokenIntrospection(svc, t.access_token);
    assert.equal(active.active, true);
    assert.equal(active.sub, r.json.client_id);
    await oidc.tokenRevocation(svc, t.access_token);
    assert.equal((await oidc.tokenIntrospection(svc, t.access_token)).active, false);
  });
} catch {
  failed = true;
} finally {
  await browser.close();
  rp.close();
}
console.log(`openid_provider (openid-client in Chromium): ${run.passed} passed${failed ? ', 1 failed' : ''}`);
process.exit(failed ? 1 : 0);
