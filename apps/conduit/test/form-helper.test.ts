import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, registeredBrowser } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// The tests' form helper posts the token inside the submitted form, as a browser does. A page
// whose form lost its own `_csrf` field fails the test that submits it, even when another form
// on the page (the logout form) carries a good token: a browser would get 403 there.

for (const backend of BACKENDS) {
  test(`[${backend}] the form helper refuses to submit a form that has no _csrf field of its own`, async (t) => {
    const { app } = await startTestApp(t, backend);
    let broken = '';
    app.get(
      '/test-broken-settings',
      { schema: { querystring: { type: 'object', additionalProperties: false, properties: {} } }, config: { access: 'public' } },
      async (_request, reply) => reply.type('text/html; charset=utf-8').send(broken),
    );
    const member = await registeredBrowser(app);
    const settings = (await member.get('/settings')).body;
    // The profile form as a template slip would leave it: every field but its token.
    broken = settings.replace(/(<form[^>]*action="\/settings"[^>]*>)\s*<input type="hidden" name="_csrf" value="[^"]+">/, '$1');
    assert.notEqual(broken, settings, 'the profile form lost its token');
    assert.match(broken, /action="\/logout"[\s\S]*?name="_csrf"/, 'the logout form still has one');

    const fields = { image: '', username: member.username, bio: 'changed', email: member.email };
    await assert.rejects(member.post('/settings', fields, { from: '/test-broken-settings' }), /has no _csrf field/);
    const intact = await member.post('/settings', fields, { from: '/settings' });
    assert.equal(intact.statusCode, 303, 'the real form, with its own token, submits');
  });
}
