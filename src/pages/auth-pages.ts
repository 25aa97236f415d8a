import type { FastifyInstance, FastifyReply } from 'fastify';
import { accountProblems, EMAIL_MAX, normalizeEmail, type FieldErrors } from '../accounts/account-rules.js';
import { hashPassword, needsRehash, verifyDummy, verifyPassword } from '../accounts/password-hasher.js';
import type { AuthUser } from '../auth/current-user.js';
import type { Runtime } from '../runtime.js';
import { safeNext } from './safe-next.js';
import { isUniqueViolation } from './unique-violation.js';

// Login, registration and logout as HTML forms. Every POST here passed the CSRF layer first.
// A failed login says the same thing, with the same status and comparable time, whether the
// account is unknown, locked or the password wrong, so the form cannot be used to find accounts.

const LOGIN_FAILED = 'Email or password is invalid.';
const csrfField = { type: 'string', maxLength: 128 } as const;
// Generous bounds: the real rules are the password policy and the account rules.
const loginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: { email: { type: 'string', maxLength: EMAIL_MAX }, password: { type: 'string', maxLength: 1024 }, _csrf: csrfField },
} as const;
const registerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'email', 'password'],
  properties: {
    username: { type: 'string', maxLength: 64 },
    email: { type: 'string', maxLength: EMAIL_MAX },
    password: { type: 'string', maxLength: 1024 },
    _csrf: csrfField,
  },
} as const;
const nextQuery = { type: 'object', additionalProperties: false, properties: { next: { type: 'string', maxLength: 2048 } } } as const;

interface LoginBody { email: string; password: string }
interface RegisterBody { username: string; email: string; password: string }
interface NextQuery { next?: string }

const privatePage = (reply: FastifyReply): FastifyReply => reply.header('cache-control', 'no-store');

export async function authPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;

  app.get<{ Querystring: NextQuery }>('/login', { schema: { querystring: nextQuery } }, async (request, reply) => {
    return privatePage(reply).page('login', { title: 'Sign in', errors: [], email: '', next: safeNext(request.query.next) });
  });

  app.post<{ Body: LoginBody; Querystring: NextQuery }>('/login', { schema: { body: loginBody, querystring: nextQuery } }, async (request, reply) => {
    const email = normalizeEmail(request.body.email);
    const { password } = request.body;
    const next = safeNext(request.query.next);
    await app.loginGuard.check(request, email);
    const row = await db
      .selectFrom('users')
      .select(['id', 'username', 'email', 'role', 'bio', 'image', 'locked_at', 'password_hash'])
      .where('email', '=', email)
      .executeTakeFirst();
    // Always one argon2 verification, so an unknown email costs what a known one does.
    const verified = row ? await verifyPassword(row.password_hash, password) : await verifyDummy(password);
    if (!row || !verified || row.locked_at !== null) {
      await app.loginGuard.failed(request, email);
      await app.audit(request, 'login.failure', { actorId: row?.id ?? null, actorName: email, details: { reason: !row ? 'unknown' : row.locked_at !== null ? 'locked' : 'password' } });
      return privatePage(reply).code(422).page('login', { title: 'Sign in', errors: [LOGIN_FAILED], email: request.body.email, next });
    }
    await app.loginGuard.succeeded(request, email);
    if (needsRehash(row.password_hash)) {
      await db.updateTable('users').set({ password_hash: await hashPassword(password), updated_at: new Date().toISOString() }).where('id', '=', row.id).execute();
    }
    const user: AuthUser = { id: row.id, username: row.username, email: row.email, role: row.role, bio: row.bio, image: row.image };
    await app.sessions.start(request, reply, user);
    await app.audit(request, 'login.success');
    return reply.redirect(next, 303);
  });

  app.get('/register', async (_request, reply) => {
    return privatePage(reply).page('register', { title: 'Sign up', errors: {}, username: '', email: '' });
  });

  app.post<{ Body: RegisterBody }>('/register', { schema: { body: registerBody } }, async (request, reply) => {
    await app.registrationLimit(request);
    const { username, password } = request.body;
    const email = normalizeEmail(request.body.email);
    const again = (errors: FieldErrors) =>
      privatePage(reply).code(422).page('register', { title: 'Sign up', errors, username, email: request.body.email });
    const problems = accountProblems({ username, email, password });
    if (Object.keys(problems).length > 0) return again(problems);
    const taken = await db.selectFrom('users').select(['username', 'email']).where((eb) => eb.or([eb('username', '=', username), eb('email', '=', email)])).execute();
    if (taken.length > 0) {
      const errors: FieldErrors = {};
      if (taken.some((t) => t.username === username)) errors.username = ['has already been taken'];
      if (taken.some((t) => t.email === email)) errors.email = ['has already been taken'];
      return again(errors);
    }
    const now = new Date().toISOString();
    let id: number;
    try {
      const inserted = await db
        .insertInto('users')
        .values({ username, email, password_hash: await hashPassword(password), bio: '', image: null, role: 'member', locked_at: null, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      id = inserted.id;
    } catch (err) {
      // Someone took the name between the check and the insert.
      if (isUniqueViolation(err)) return again({ username: ['or email has already been taken'] });
      throw err;
    }
    const user: AuthUser = { id, username, email, role: 'member', bio: '', image: null };
    await app.sessions.start(request, reply, user);
    await app.audit(request, 'register');
    return reply.redirect('/', 303);
  });

  app.post('/logout', { schema: { body: { type: 'object', additionalProperties: false, properties: { _csrf: csrfField } } } }, async (request, reply) => {
    if (request.user) await app.audit(request, 'logout');
    await app.sessions.end(request, reply);
    return reply.redirect('/', 303);
  });
}
