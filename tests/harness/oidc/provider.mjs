// A real OpenID provider for the tests: npm oidc-provider (9.x) on Node 20, its built-in
// development login and consent pages, one client (authorization code + PKCE).
// Configured by environment: ISSUER, PORT, CLIENT_ID (CLIENT_SECRET: a confidential client,
// client_secret_basic), REDIRECT_URI, JWKS_FILE (the signing
// keys: restart with another file to rotate them), ACCOUNTS (JSON: login -> claims), and to
// misbehave as real providers do: CLOCK_OFFSET_SECONDS (its clock runs that far off),
// ID_TOKEN_TTL (seconds its ID tokens live), ISSUER_NAME (the issuer it puts in tokens and
// discovery, when not its own URL: a renamed or misconfigured provider).
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const offset = Number(process.env.CLOCK_OFFSET_SECONDS || 0) * 1000;
if (offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset;
}

const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const provider = new Provider(process.env.ISSUER_NAME || process.env.ISSUER, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    redirect_uris: [process.env.REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    ...(process.env.CLIENT_SECRET
      ? { client_secret: process.env.CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_basic' }
      : { token_endpoint_auth_method: 'none' }),
  }],
  jwks: JSON.parse(readFileSync(process.env.JWKS_FILE, 'utf8')),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
  conformIdTokenClaims: false, // the requested claims go in the ID token itself
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['shortlink-test-provider-cookie-key'] },
  ...(process.env.ID_TOKEN_TTL ? { ttl: { IdToken: Number(process.env.ID_TOKEN_TTL) } } : {}),
  async findAccount(ctx, id) {
    const claims = accounts[id] || { email: `${id}@example.com`, groups: [] };
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: claims.email, email_verified: true, groups: claims.groups };
      },
    };
  },
});
provider.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${process.env.ISSUER}`);
});
