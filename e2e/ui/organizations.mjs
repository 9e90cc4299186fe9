// The organizations journey of issue 21 in a real browser (Chromium), against the warden
// started by e2e/ui.sh: an owner creates an organization on the hosted pages and invites a
// second person by email → the invitation mail arrives in the dev outbox → the invitee opens
// the link, signs in and accepts → the owner changes their role on the organization page →
// the invitee's token of the old role is refused and the next one carries the new role →
// the owner removes them → their next token carries no organization.
//
// Env: UI_BASE_URL, UI_OUTBOX_DIR (required); CHROMIUM_PATH (/usr/bin/chromium),
// UI_SCREENSHOT_DIR (target/ui-screenshots), UI_HEADED=1 to watch.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { api, freshPage, launchChromium, need, newestMail, plainText, stepper } from './support.mjs';

const BASE = need('UI_BASE_URL').replace(/\/$/, '');
const OUTBOX = need('UI_OUTBOX_DIR');
const SHOTS = resolve(process.env.UI_SCREENSHOT_DIR || 'target/ui-screenshots');
const ACTION_MS = 10_000;

const run = stepper();
const { step } = run;

const call = (method, path, opts) => api(BASE, method, path, opts);

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

const suffix = randomBytes(3).toString('hex');
const person = (name) => ({
  login: `${name}${suffix}`,
  email: `${name}${suffix}@example.test`,
  password: `correct horse ${name} ${suffix} staple`,
});
const OWNER = person('orgowner');
const INVITEE = person('orginvitee');
const ORG = { name: `Acme ${suffix}`, slug: `acme-${suffix}` };
const state = {};

const browser = await launchChromium();
let failed = false;
try {
  const owner = await freshPage(browser, ACTION_MS);
  const invitee = await freshPage(browser, ACTION_MS);
  const h1 = async (page) => (await page.locator('h1').first().innerText()).trim();
  const shot = (page, name) => page.screenshot({ path: join(SHOTS, `org-${name}.png`), fullPage: true });
  const signIn = async (page, who) => {
    await page.getByLabel('Login', { exact: true }).fill(who.login);
    await page.getByLabel('Password', { exact: true }).fill(who.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForLoadState('load');
  };
  const memberRow = (page, who) => page.locator('tr', { hasText: who.login });

  await step('two accounts; the invitee verifies their email (outbox)', async () => {
    for (const who of [OWNER, INVITEE]) {
      const r = await call('POST', '/auth/register', { body: who });
      assert.equal(r.status, 201, JSON.stringify(r.json));
    }
    const login = await call('POST', '/auth/login', { body: INVITEE });
    const since = Date.now();
    const asked = await call('POST', '/auth/email/verification', { token: login.json.access_token });
    assert.equal(asked.status, 202, JSON.stringify(asked.json));
    const { text } = plainText((await newestMail(OUTBOX, INVITEE.email, since)).raw);
    const token = text.match(/token=([A-Za-z0-9_-]+)/)?.[1];
    assert.ok(token, `no token in the verification mail: ${text}`);
    assert.equal((await call('POST', '/auth/email/verify', { body: { token } })).status, 204);
  });

  await step('the owner creates the organization on the hosted pages', async () => {
    await owner.goto(`${BASE}/ui/sign-in`);
    await signIn(owner, OWNER);
    await owner.goto(`${BASE}/ui/organizations`);
    await owner.getByLabel('Name', { exact: true }).fill(ORG.name);
    await owner.getByLabel('Slug', { exact: true }).fill(ORG.slug);
    await owner.getByRole('button', { name: 'Create', exact: true }).click();
    await owner.waitForLoadState('load');
    assert.equal(await h1(owner), ORG.name, `at ${owner.url()}`);
    assert.match(await memberRow(owner, OWNER).innerText(), /owner/);
    state.orgUrl = owner.url();
    await shot(owner, 'created');
  });

  await step('the owner invites the second person by email', async () => {
    state.invitedAt = Date.now();
    await owner.getByLabel('Email address', { exact: true }).fill(INVITEE.email);
    await owner.getByLabel('Role', { exact: true }).selectOption('member');
    await owner.getByRole('button', { name: 'Send invitation', exact: true }).click();
    await owner.waitForLoadState('load');
    const pending = owner.locator('tr', { hasText: INVITEE.email });
    assert.match(await pending.innerText(), /member/, 'the invitation is listed as pending');
  });

  await step('the invitation mail arrives with a single-use link', async () => {
    const mail = await newestMail(OUTBOX, INVITEE.email, state.invitedAt);
    const { text } = plainText(mail.raw);
    const link = text.match(/https?:\/\/\S+invitations\/accept\?token=[A-Za-z0-9_-]+/)?.[0];
    assert.ok(link, `no invitation link in the mail: ${text}`);
    assert.ok(link.startsWith(BASE), `the link is on WARDEN_PUBLIC_URL: ${link}`);
    state.link = link;
  });

  await step('the invitee opens the link, signs in and accepts', async () => {
    await invitee.goto(state.link);
    assert.equal(await h1(invitee), `Join ${ORG.name}`);
    await invitee.getByRole('link', { name: 'Sign in to accept', exact: true }).click();
    await invitee.waitForLoadState('load');
    await signIn(invitee, INVITEE);
    assert.equal(await h1(invitee), `Join ${ORG.name}`, `back at the invitation: ${invitee.url()}`);
    await shot(invitee, 'invitation');
    await invitee.getByRole('button', { name: 'Accept', exact: true }).click();
    await invitee.waitForLoadState('load');
    assert.equal(await h1(invitee), ORG.name, `at ${invitee.url()}`);
    assert.match(await memberRow(invitee, INVITEE).innerText(), /member/);
    // The link works once.
    await invitee.goto(state.link);
    assert.equal(await h1(invitee), 'Invitation not valid');
  });

  await step("the invitee's token acts for the organization as member", async () => {
    const r = await call('POST', '/auth/login', { body: { ...INVITEE, organization: ORG.slug } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const c = claims(r.json.access_token);
    assert.equal(c.org_role, 'member');
    assert.deepEqual(c.org_permissions, []);
    state.pair = r.json;
  });

  await step('the owner makes the invitee an admin on the organization page', async () => {
    await owner.goto(state.orgUrl);
    const row = memberRow(owner, INVITEE);
    await row.getByLabel(`Role of ${INVITEE.login}`, { exact: true }).selectOption('admin');
    await row.getByRole('button', { name: 'Change role', exact: true }).click();
    await owner.waitForLoadState('load');
    assert.match(await memberRow(owner, INVITEE).innerText(), /admin/);
    await shot(owner, 'role-changed');
  });

  await step("the old role's token is refused; the next one carries the new role", async () => {
    const me = await call('GET', '/auth/me', { token: state.pair.access_token });
    assert.equal(me.status, 401, 'the token of the old role is refused at once');
    const r = await call('POST', '/auth/refresh', { body: { refresh_token: state.pair.refresh_token } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const c = claims(r.json.access_token);
    assert.equal(c.org_role, 'admin');
    assert.ok(c.org_permissions.includes('org:members'), JSON.stringify(c));
    state.pair = r.json;
  });

  await step('the owner removes the invitee; their next token has no organization', async () => {
    await owner.goto(state.orgUrl);
    await memberRow(owner, INVITEE).getByRole('button', { name: 'Remove', exact: true }).click();
    await owner.waitForLoadState('load');
    assert.equal(await memberRow(owner, INVITEE).count(), 0, 'no longer listed');
    const me = await call('GET', '/auth/me', { token: state.pair.access_token });
    assert.equal(me.status, 401);
    const r = await call('POST', '/auth/refresh', { body: { refresh_token: state.pair.refresh_token } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(claims(r.json.access_token).org, undefined);
    await invitee.goto(state.orgUrl);
    assert.notEqual(await h1(invitee), ORG.name, 'the organization page is closed to them');
  });
} catch {
  failed = true;
} finally {
  await browser.close();
}
console.log(`organizations (Chromium): ${run.passed} passed${failed ? ', 1 failed' : ''}`);
process.exit(failed ? 1 : 0);
