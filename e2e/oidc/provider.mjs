// A real OpenID Connect provider (oidc-provider, dev interactions) on
// 127.0.0.1 with one confidential client, for the Warden OAuth test.
//
// Environment: REDIRECT_URI (the Warden callback), CLIENT_ID, CLIENT_SECRET.
// Prints "LISTENING <port>" once it accepts connections.
// Any login/password is accepted; the account id is the login typed. Its
// claims: email `<login>@example.com`, verified unless the login starts with
// `unverified`, preferred_username `<login>`.
import http from 'node:http';
import Provider from 'oidc-provider';

const redirectUri = process.env.REDIRECT_URI;
const clientId = process.env.CLIENT_ID || 'warden';
const clientSecret = process.env.CLIENT_SECRET || 'warden-secret';
if (!redirectUri) {
  console.error('REDIRECT_URI is required');
  process.exit(2);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username'],
    },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['warden-oidc-test-cookie-key'] },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: `${id}@example.com`,
            email_verified: !id.startsWith('unverified'),
            preferred_username: id,
          };
        },
      };
    },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  console.log(`LISTENING ${port}`);
});

process.on('SIGTERM', () => process.exit(0));
