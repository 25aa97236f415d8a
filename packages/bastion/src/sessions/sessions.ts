import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/current-user.js';
import { AppError } from '../http/app-error.js';
import type { Runtime } from '../runtime.js';
import { registerCsrf } from '../security/csrf.js';
import { DatabaseSessionStore } from './database-session-store.js';
import { deriveKeys, sha256Hex } from './derive-keys.js';
import { RedisSessionStore } from './redis-session-store.js';
import type { SessionRecord, SessionStore } from './session-store.js';
import { loadActiveUser } from './session-user.js';

// Server-side sessions for the HTML pages. The cookie carries 256 random bits, signed; the store
// keeps only their SHA-256. Any cookie that is unsigned, tampered, unknown, expired or belongs to
// a locked user makes the request anonymous and is cleared — never a 500.
// registerSessions gives the whole app the manager (the API revokes sessions on a password
// change) and returns the layer that reads the cookie: installed in the pages' scope only, so no
// route outside it (the API above all, whatever its URL looks like) ever reads the cookie or
// needs a CSRF token (SPEC §2).

export const IDLE_TIMEOUT_MS = 30 * 60_000;
export const ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60_000;
/** Sliding expiry is written back at most this often, so most reads stay reads. */
export const TOUCH_INTERVAL_MS = 60_000;

/** One of a user's sessions as the settings page shows it. `handle` names it without its id. */
export interface SessionInfo {
  readonly handle: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly ip: string;
  readonly userAgent: string;
  readonly current: boolean;
}

/** start, end and revoke write the cookie: they are for the pages' routes. */
export interface SessionManager {
  /**
   * Logs the user in: drops any current session server-side, creates a new one, sets the cookie.
   * `authVersion` is the users.auth_version the password check saw (checkCredentials, updateUser).
   */
  start(request: FastifyRequest, reply: FastifyReply, user: AuthUser, authVersion: number): Promise<void>;
  /** Logs out: deletes the session server-side and clears the cookie. */
  end(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Deletes every session of a user (password change, role change, lock, log out everywhere). */
  revokeAllForUser(userId: number): Promise<void>;
  /** The user's live sessions, newest first, the request's own marked current. */
  list(request: FastifyRequest, userId: number): Promise<SessionInfo[]>;
  /** Deletes one of the user's own sessions by handle; false when there is no such session. */
  revoke(request: FastifyRequest, reply: FastifyReply, userId: number, handle: string): Promise<boolean>;
  /**
   * The request's session owner has just proved who they are again: stamps the session (start
   * stamps a new one by itself). Use app.reauth.confirm, which also audits; false without a session.
   */
  stampAuthenticated(request: FastifyRequest): Promise<boolean>;
}

/** The session behind this request, if any (the CSRF token is bound to idHash). */
export interface ActiveSession {
  readonly idHash: string;
  /** When its owner last proved who they are (epoch ms; see SessionRecord.authenticatedAt). */
  readonly authenticatedAt: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionManager;
  }
  interface FastifyRequest {
    session: ActiveSession | null;
  }
}

export interface SessionOptions {
  /** The clock (epoch ms); tests move it instead of sleeping. */
  readonly now?: () => number;
}

/** Installs the cookie session and CSRF defence in a scope: the pages' scope, and only it. */
export type PageSessionLayer = (pages: FastifyInstance) => Promise<void>;

const handleOf = (idHash: string): string => sha256Hex(`handle:${idHash}`).slice(0, 32);

export async function registerSessions(app: FastifyInstance, runtime: Runtime, options: SessionOptions = {}): Promise<PageSessionLayer> {
  const { config } = runtime;
  const now = options.now ?? (() => Date.now());
  const store: SessionStore = runtime.redis
    ? new RedisSessionStore(runtime.redis, now, ABSOLUTE_TIMEOUT_MS)
    : new DatabaseSessionStore(runtime.db.kysely, now);
  const db = runtime.db.kysely;

  const cookieName = config.cookieSecure ? '__Host-session' : 'session';
  const cookieBase = { path: '/', httpOnly: true, secure: config.cookieSecure, sameSite: 'lax' } as const;

  const setSessionCookie = (
    reply: FastifyReply,
    id: string,
    record: Pick<SessionRecord, 'idleExpiresAt' | 'absoluteExpiresAt'>,
    at: number,
  ): void => {
    const remaining = Math.min(record.idleExpiresAt, record.absoluteExpiresAt) - at;
    reply.setCookie(cookieName, id, { ...cookieBase, signed: true, maxAge: Math.max(0, Math.floor(remaining / 1000)) });
  };
  const clearSessionCookie = (reply: FastifyReply): void => {
    reply.clearCookie(cookieName, cookieBase);
  };
  const becomeAnonymous = (request: FastifyRequest, reply: FastifyReply): void => {
    request.user = null;
    request.session = null;
    request.viewLocals.currentUser = null;
    clearSessionCookie(reply);
  };
  const signIn = (request: FastifyRequest, user: AuthUser, idHash: string, authenticatedAt: number): void => {
    request.user = user;
    request.session = { idHash, authenticatedAt };
    request.viewLocals.currentUser = user;
  };

  async function installPageSessions(pages: FastifyInstance): Promise<void> {
    // The signer gets the key list: a cookie signed under a fallback key verifies with renew=true.
    await pages.register(fastifyCookie, { secret: deriveKeys(config, 'cookie'), hook: 'onRequest' });
    pages.decorateRequest('session', null);
    // Callback style: a request without a session cookie (most anonymous traffic) goes on at
    // once instead of through a promise.
    pages.addHook('onRequest', loadSession);
    // Anything answered to a logged-in user is private to them.
    pages.addHook('onSend', function noStoreWhenAuthenticated(request, reply, payload, done) {
      if (request.user) reply.header('cache-control', 'no-store');
      done(null, payload);
    });
    registerCsrf(pages, config);
  }

  function loadSession(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    request.viewLocals.currentUser = null;
    const raw = request.cookies[cookieName];
    if (raw === undefined) return done();
    resumeSession(request, reply, raw).then(() => done(), done);
  }

  async function resumeSession(request: FastifyRequest, reply: FastifyReply, raw: string): Promise<void> {
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || unsigned.value === null || !/^[\w-]{43}$/.test(unsigned.value)) return becomeAnonymous(request, reply);
    const id = unsigned.value;
    const idHash = sha256Hex(id);
    try {
      const record = await store.get(idHash);
      const t = now();
      if (!record || record.idleExpiresAt <= t || record.absoluteExpiresAt <= t) {
        if (record) await store.delete(idHash);
        return becomeAnonymous(request, reply);
      }
      const user = await loadActiveUser(db, record.userId, record.authVersion);
      if (!user) {
        await store.delete(idHash);
        return becomeAnonymous(request, reply);
      }
      signIn(request, user, idHash, record.authenticatedAt);
      if (t - record.lastSeenAt >= TOUCH_INTERVAL_MS) {
        const idleExpiresAt = Math.min(t + IDLE_TIMEOUT_MS, record.absoluteExpiresAt);
        await store.touch(idHash, t, idleExpiresAt);
        setSessionCookie(reply, id, { idleExpiresAt, absoluteExpiresAt: record.absoluteExpiresAt }, t);
      } else if (unsigned.renew) {
        // Verified under a fallback key: re-sign with the current key, same expiry.
        setSessionCookie(reply, id, record, t);
      }
    } catch (err) {
      request.log.error({ err }, 'session store unavailable');
      throw new AppError('UNAVAILABLE');
    }
  }

  const manager: SessionManager = {
    async start(request, reply, user, authVersion) {
      // Rotation: whatever session came in (a planted one included) is gone; the new id is fresh.
      if (request.session) await store.delete(request.session.idHash);
      const id = randomBytes(32).toString('base64url');
      const idHash = sha256Hex(id);
      const t = now();
      const record: SessionRecord = {
        idHash,
        userId: user.id,
        createdAt: t,
        lastSeenAt: t,
        idleExpiresAt: t + IDLE_TIMEOUT_MS,
        absoluteExpiresAt: t + ABSOLUTE_TIMEOUT_MS,
        ip: request.ip.slice(0, 64),
        userAgent: (request.headers['user-agent'] ?? '').slice(0, 512),
        authVersion,
        // Every caller has just checked a password (login, password change or reset) or, later,
        // a second factor: the new session starts with a fresh proof.
        authenticatedAt: t,
      };
      await store.create(record);
      setSessionCookie(reply, id, record, t);
      signIn(request, user, idHash, t);
    },
    async end(request, reply) {
      if (request.session) await store.delete(request.session.idHash);
      becomeAnonymous(request, reply);
    },
    async revokeAllForUser(userId) {
      await store.deleteAllForUser(userId);
    },
    async list(request, userId) {
      const records = await store.listForUser(userId);
      return records.map((r) => ({
        handle: handleOf(r.idHash),
        createdAt: new Date(r.createdAt).toISOString(),
        lastSeenAt: new Date(r.lastSeenAt).toISOString(),
        ip: r.ip,
        userAgent: r.userAgent,
        current: r.idHash === request.session?.idHash,
      }));
    },
    async revoke(request, reply, userId, handle) {
      const records = await store.listForUser(userId);
      const target = records.find((r) => handleOf(r.idHash) === handle);
      if (!target) return false;
      await store.delete(target.idHash);
      if (target.idHash === request.session?.idHash) becomeAnonymous(request, reply);
      return true;
    },
    async stampAuthenticated(request) {
      if (!request.session) return false;
      const t = now();
      await store.reauthenticated(request.session.idHash, t);
      request.session = { idHash: request.session.idHash, authenticatedAt: t };
      return true;
    },
  };
  app.decorate('sessions', manager);
  return installPageSessions;
}
