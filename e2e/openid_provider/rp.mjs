// A relying party of Warden's OpenID Provider, written with Node's
// openid-client (panva). Drives the hosted sign-in and consent pages with
// fetch as a browser would, and checks discovery, code + PKCE (with the
// RFC 9207 `iss` check and the ID token's signature against the JWKS),
// userinfo, refresh, revocation, logout and client_credentials with
// introspection. Exits non-zero on the first failure.
import * as oidc from 'openid-client';

const BASE = process.env.WARDEN_URL;
const ADMIN = { 'x-admin-secret': process.env.WARDEN_ADMIN_SECRET, 'content-type': 'application/json' };
const REDIRECT = 'http://127.0.0.1:53683/callback';
const BYE = 'http://127.0.0.1:53683/signed-out';
const PASSWORD = 'correct horse battery staple';
let passed = 0;

function check(name, cond, detail = '') {
  if (!cond) {
    console.log(`FAIL ${name} ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
    process.exit(1);
  }
  passed += 1;
  console.log(`ok   ${name}`);
}

const unescape = (v) => v.replaceAll('&#x2f;', '/').replaceAll('&quot;', '"').replaceAll('&#x27;', "'")
  .replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no ${name} in ${html.slice(0, 300)}`);
  return unescape(m[1]);
}

/** A browser: cookies kept, redirects not followed. */
const jar = new Map();
async function go(url, init = {}) {
  const headers = new Headers(init.headers || {});
  if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  const res = await fetch(new URL(url, BASE), { ...init, headers, redirect: 'manual' });
  for (const c of res.headers.getSetCookie()) {
    const pair = c.split(';')[0];
    const i = pair.indexOf('=');
    const k = pair.slice(0, i);
    const v = pair.slice(i + 1);
    if (!v || /Max-Age=0/i.test(c)) jar.delete(k); else jar.set(k, v);
  }
  return res;
}
const post = (url, fields) => go(url, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/** Where Warden sends the browser on to the client: a redirect, or the page
 * that moves on by itself after a form post. */
async function toClient(res) {
  if (res.status === 302 || res.status === 303) return res.headers.get('location');
  const html = await res.text();
  const m = html.match(/http-equiv="refresh" content="0;url=([^"]*)"/);
  if (res.status !== 200 || !m) throw new Error(`not sent on to the client: ${res.status} ${html.slice(0, 300)}`);
  return unescape(m[1]);
}

async function admin(path, body) {
  const res = await fetch(BASE + path, { method: 'POST', headers: ADMIN, body: JSON.stringify(body) });
  return [res.status, await res.json()];
}

// -- setup
const login = `node-${Math.random().toString(16).slice(2, 10)}`;
let res = await fetch(BASE + '/auth/register', {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ login, password: PASSWORD, email: `${login}@example.com` }),
});
check('register an account', res.status === 201);
const [st, made] = await admin('/auth/admin/oauth-clients', {
  name: 'openid-client RP', redirect_uris: [REDIRECT], post_logout_redirect_uris: [BYE], first_party: true,
});
check('register a first-party client', st === 201 && made.client_secret, made);

// -- discovery (openid-client checks the issuer)
const insecure = { execute: [oidc.allowInsecureRequests] };
const config = await oidc.discovery(new URL(BASE), made.client_id, undefined,
  oidc.ClientSecretBasic(made.client_secret), insecure);
oidc.enableNonRepudiationChecks(config);
check('discovery', config.serverMetadata().issuer === BASE);

// -- code + PKCE through the hosted pages (first party: no consent page)
const verifier = oidc.randomPKCECodeVerifier();
const nonce = oidc.randomNonce();
const state = oidc.randomState();
const authUrl = oidc.buildAuthorizationUrl(config, {
  redirect_uri: REDIRECT, scope: 'openid profile email offline_access', nonce, state,
  code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
});
res = await go(authUrl.href);
check('not signed in: to the sign-in page', res.status === 303 && res.headers.get('location').includes('/sign-in'));
const signIn = await (await go(res.headers.get('location'))).text();
res = await post('/ui/sign-in', {
  _csrf: hidden(signIn, '_csrf'), redirect_to: hidden(signIn, 'redirect_to'), login, password: PASSWORD,
});
check('sign in through the form', res.status === 303);
const location = await toClient(await go(res.headers.get('location')));
check('first party: straight back to the client', location.startsWith(REDIRECT), location);

const tokens = await oidc.authorizationCodeGrant(config, new URL(location), {
  pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true,
});
const claims = tokens.claims();
check('code exchange with a verified ID token (iss, aud, nonce, signature)', claims.aud === made.client_id && claims.nonce === nonce);
check('ID token names the account', claims.preferred_username === login && claims.email === `${login}@example.com`);

const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
check('userinfo', info.sub === claims.sub && info.preferred_username === login);

// -- refresh, and reuse
const next = await oidc.refreshTokenGrant(config, tokens.refresh_token);
check('refresh rotates', next.refresh_token && next.refresh_token !== tokens.refresh_token);
try {
  await oidc.refreshTokenGrant(config, tokens.refresh_token);
  check('reused refresh token refused', false);
} catch (e) {
  check('reused refresh token refused', e.error === 'invalid_grant', String(e));
}
const gone = await fetch(config.serverMetadata().userinfo_endpoint, { headers: { authorization: `Bearer ${next.access_token}` } });
check('reuse revoked the session', gone.status === 401);

// -- a second code, then revocation and introspection
const again = oidc.buildAuthorizationUrl(config, {
  redirect_uri: REDIRECT, scope: 'openid', nonce, state,
  code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
});
const second = await oidc.authorizationCodeGrant(config, new URL(await toClient(await go(again.href))), {
  pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state,
});
let intro = await oidc.tokenIntrospection(config, second.access_token);
check('introspection: active', intro.active === true && intro.client_id === made.client_id, intro);
await oidc.tokenRevocation(config, second.refresh_token);
intro = await oidc.tokenIntrospection(config, second.access_token);
check('revoking the refresh token ends the session', intro.active === false, intro);

// -- RP-initiated logout
const third = await oidc.authorizationCodeGrant(config, new URL(await toClient(await go(again.href))), {
  pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state,
});
const endUrl = oidc.buildEndSessionUrl(config, {
  id_token_hint: third.id_token, post_logout_redirect_uri: BYE, state: 'bye',
});
res = await go(endUrl.href);
check('logout redirects to the registered URI', res.status === 303 && res.headers.get('location') === `${BYE}?state=bye`);
res = await go(again.href);
check('the browser is signed out of Warden', res.status === 303 && res.headers.get('location').includes('/sign-in'));

// -- client_credentials (client_secret_post)
const [st2, svc] = await admin('/auth/admin/oauth-clients', {
  name: 'node worker', grant_types: ['client_credentials'], scopes: ['jobs:run'],
});
check('register a service client', st2 === 201, svc);
const svcConfig = await oidc.discovery(new URL(BASE), svc.client_id, undefined,
  oidc.ClientSecretPost(svc.client_secret), insecure);
const cc = await oidc.clientCredentialsGrant(svcConfig, { scope: 'jobs:run' });
check('client_credentials token', cc.access_token && !cc.refresh_token);
intro = await oidc.tokenIntrospection(svcConfig, cc.access_token);
check('introspection: sub is the client', intro.active === true && intro.sub === svc.client_id, intro);

console.log(`openid_provider (openid-client): ${passed} passed`);
