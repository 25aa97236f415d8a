import type { FastifyInstance } from 'fastify';
import { type AuthUser, buttonForm, formBody, mayWrite, type Runtime, idParams, type IdParams } from 'bastion';
import { MESSAGE_MAX } from './migrations.js';
import { deleteMessage, listMessages, postMessage, setHidden } from './messages.js';

// The guestbook's pages. Each route says who may call it and what it takes; Bastion installs
// the guard, checks the CSRF token and validates the input before a handler runs, so the
// handlers hold no security code of their own beyond "only the author deletes" (messages.ts).

const messageForm = formBody({ body: { type: 'string', minLength: 1, maxLength: MESSAGE_MAX } }, ['body']);

export async function guestbookPages(app: FastifyInstance, runtime: Runtime, now: () => Date): Promise<void> {
  const { db } = runtime;

  // The page's data; `viewer` decides whether hidden messages are listed (moderators only).
  const home = async (viewer: AuthUser | null, errors: string[] = [], draft = '') => ({
    title: 'Guestbook',
    messages: await listMessages(db, viewer),
    errors,
    draft,
  });

  app.get('/', { config: { access: 'public' } }, async function showGuestbook(request, reply) {
    return reply.page('guestbook/home', await home(request.user));
  });

  app.post<{ Body: { body: string } }>(
    '/messages',
    { config: { access: 'member' }, schema: { body: messageForm } },
    async function sign(request, reply) {
      const body = request.body.body.trim();
      if (body === '')
        return reply.code(422).page('guestbook/home', await home(request.member, ['A message cannot be blank.'], request.body.body));
      if (!(await mayWrite(db.kysely, runtime.config, request.member.id))) {
        return reply
          .code(403)
          .page(
            'guestbook/home',
            await home(request.member, ['Confirm your email address first: follow the link we mailed you.'], request.body.body),
          );
      }
      await postMessage(db, request.member, body, now());
      return reply.redirect('/', 303);
    },
  );

  app.post<{ Params: IdParams }>(
    '/messages/:id/delete',
    { config: { access: 'member' }, schema: { params: idParams, body: buttonForm } },
    async function remove(request, reply) {
      await deleteMessage(db, request.member, request.params.id);
      return reply.redirect('/', 303);
    },
  );

  for (const [action, hidden] of [
    ['hide', true],
    ['show', false],
  ] as const) {
    app.post<{ Params: IdParams }>(
      `/messages/:id/${action}`,
      { config: { access: 'moderator' }, schema: { params: idParams, body: buttonForm } },
      async function moderate(request, reply) {
        await setHidden(db, request.params.id, hidden, now());
        return reply.redirect('/', 303);
      },
    );
  }
}
