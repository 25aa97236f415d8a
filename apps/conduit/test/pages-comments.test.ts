import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, registeredBrowser } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';
import { setRole, writeArticle } from './helpers/conduit-fixtures.js';

const commentIds = (html: string): number[] => [...html.matchAll(/id="comment-(\d+)"/g)].map((m) => Number(m[1]));

for (const backend of BACKENDS) {
  test(`[${backend}] a comment is added through the form and shown escaped`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const reader = await registeredBrowser(app);
    const slug = await writeArticle(runtime, author.username);
    const res = await reader.post(`/article/${slug}/comments`, { body: '<img src=x onerror=alert(1)> nice' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, `/article/${slug}#comments`);
    const page = await author.get(`/article/${slug}`);
    assert.match(page.body, /&lt;img src=x onerror=alert\(1\)&gt; nice/);
    assert.ok(!page.body.includes('<img src=x'));
    assert.equal(commentIds(page.body).length, 1);
    const blank = await reader.post(`/article/${slug}/comments`, { body: '   ' });
    assert.equal(blank.statusCode, 422);
    assert.match(blank.body, /Comment can(&#39;|')t be blank/);
    const smuggled = await reader.post(`/article/${slug}/comments`, { body: 'x', author_id: '1' });
    assert.equal(smuggled.statusCode, 422);
    assert.equal((await reader.post('/article/missing/comments', { body: 'x' })).statusCode, 404);
  });

  test(`[${backend}] a comment is deleted by its author and by a moderator, refused to another member`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const commenter = await registeredBrowser(app);
    const member = await registeredBrowser(app);
    const moderator = await registeredBrowser(app);
    await setRole(runtime, moderator.username, 'moderator');
    const slug = await writeArticle(runtime, author.username);
    await commenter.post(`/article/${slug}/comments`, { body: 'first' });
    await commenter.post(`/article/${slug}/comments`, { body: 'second' });
    const [first, second] = commentIds((await commenter.get(`/article/${slug}`)).body);
    assert.ok(first && second);

    const seenByMember = await member.get(`/article/${slug}`);
    assert.doesNotMatch(seenByMember.body, /comments\/\d+\/delete/, 'no delete button for others');
    const refused = await member.post(`/article/${slug}/comments/${first}/delete`);
    assert.equal(refused.statusCode, 403);
    // The article's author does not own the comment either.
    assert.equal((await author.post(`/article/${slug}/comments/${first}/delete`)).statusCode, 403);
    assert.deepEqual(commentIds((await member.get(`/article/${slug}`)).body), [first, second]);

    assert.equal((await commenter.post(`/article/${slug}/comments/${first}/delete`)).statusCode, 303);
    assert.match((await moderator.get(`/article/${slug}`)).body, new RegExp(`comments/${second}/delete`));
    assert.equal((await moderator.post(`/article/${slug}/comments/${second}/delete`)).statusCode, 303);
    assert.deepEqual(commentIds((await member.get(`/article/${slug}`)).body), []);
    assert.equal((await moderator.post(`/article/${slug}/comments/${second}/delete`)).statusCode, 404, 'already gone');
    const other = await writeArticle(runtime, author.username);
    await commenter.post(`/article/${other}/comments`, { body: 'elsewhere' });
    const [elsewhere] = commentIds((await commenter.get(`/article/${other}`)).body);
    assert.equal(
      (await commenter.post(`/article/${slug}/comments/${elsewhere}/delete`)).statusCode,
      404,
      'a comment id under the wrong article is not found',
    );
  });
}
