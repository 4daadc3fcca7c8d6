// A real OpenID provider on loopback for the single sign-on tests: node's oidc-provider (OpenID Certified),
// installed by tests/support/oidc_fixtures.py, with a sign-in page of its own and test users read from a
// JSON file at every sign-in (so a test can take a user out of a group between two sign-ins).
//
// Environment: OIDC_PROVIDER_MODULE (path of oidc-provider's lib/index.js), PORT, USERS_FILE, CLIENT_ID,
// CLIENT_SECRET, REDIRECT_URIS and POST_LOGOUT_URIS (comma separated).
// USERS_FILE: {"ana": {"password": "…", "email": "…", "groups": ["…"], "amr": ["pwd", "mfa"]}, …}
import fs from 'node:fs';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

const { default: Provider } = await import(pathToFileURL(process.env.OIDC_PROVIDER_MODULE).href);

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const users = () => JSON.parse(fs.readFileSync(process.env.USERS_FILE, 'utf8'));
const list = (name) => process.env[name].split(',').filter(Boolean);
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: list('REDIRECT_URIS'),
    post_logout_redirect_uris: list('POST_LOGOUT_URIS'),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub', 'auth_time', 'amr'],  // the second factor used, as the portal reads it
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
    groups: ['groups'],
  },
  cookies: { keys: ['only-for-the-tests-on-loopback'] },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const user = users()[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id, email: user.email, email_verified: true, preferred_username: id, name: id,
          groups: user.groups,
        };
      },
    };
  },
  // Consent is taken as given for the one test client: a grant of what it asks for.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

function signInPage(uid, error) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test provider sign-in</title></head><body>
<h1>Test provider</h1>${error ? `<p id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Username <input name="login" id="login"></label>
<label>Password <input type="password" name="password" id="password"></label>
<button type="submit" id="sign-in">Sign in</button></form></body></html>`;
}

async function body(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(signInPage(details.uid, ''));
    return;
  }
  const form = await body(req);
  const user = users()[form.get('login')];
  if (!user || user.password !== form.get('password')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(signInPage(details.uid, 'Wrong username or password.'));
    return;
  }
  const login = { accountId: form.get('login'), amr: user.amr || ['pwd'] };
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
    return;
  }
  callback(req, res);
}).listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
