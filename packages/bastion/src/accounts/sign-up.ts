import type { FastifyInstance, FastifyRequest } from 'fastify';
import { accountProblems, normalizeEmail, type FieldErrors } from './account-rules.js';
import { sendAddressTaken, sendConfirmation } from './account-mail.js';
import { takenBy, takenFields } from './account-uniqueness.js';
import { hashPassword } from './password-hasher.js';
import { typedIdentifier } from '../audit/audit-log.js';
import { AppError } from '../http/app-error.js';
import { NEW_ACCOUNT_AUTH_VERSION, USER_COLUMNS, type Registration, type UserRecord } from './users.js';
import type { AppDb } from '../db/schema.js';
import type { Runtime } from '../runtime.js';

// Registration through the HTML face, which must not tell whether an address has an account
// (SPEC §3 "account mail"), by message, status or time. Field problems and a taken username are
// answered on the form (usernames are public: every profile shows one). Everything else is the
// same for every address up to the answer: the checks, then the argon2 hash. What differs (a new
// account and its confirmation link, or a mail to the address's owner) is done after the answer,
// as /password/forgot does, so no timing of the answer can tell the two apart.

export interface SignUpRequest {
  readonly username: string;
  /** Normalised. */
  readonly email: string;
  readonly passwordHash: string;
}

export interface SignUps {
  /** Starts the address-dependent part of a sign-up and returns at once. */
  start(request: FastifyRequest, signUp: SignUpRequest): void;
  /** Resolves when every started sign-up is done (tests; shutdown). */
  settled(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    signUps: SignUps;
  }
}

const refuse = (errors: FieldErrors): never => {
  throw new AppError('VALIDATION', errors);
};

/**
 * The part of a sign-up that may answer on the form: the account rules and a taken username
 * (VALIDATION errors), then the password's hash, spent whatever the address.
 */
export async function checkSignUp(db: AppDb, input: Registration): Promise<SignUpRequest> {
  const email = normalizeEmail(input.email);
  const problems = accountProblems({ username: input.username, email, password: input.password });
  if (Object.keys(problems).length > 0) refuse(problems);
  const nameTaken = await takenFields(db, input.username, undefined, null);
  if (Object.keys(nameTaken).length > 0) refuse(nameTaken);
  return { username: input.username, email, passwordHash: await hashPassword(input.password) };
}

type Outcome =
  | { readonly kind: 'created'; readonly user: UserRecord }
  | { readonly kind: 'address-taken'; readonly owner: UserRecord }
  | { readonly kind: 'name-raced' };

const ownerOf = async (db: AppDb, email: string): Promise<UserRecord | undefined> =>
  db.selectFrom('users').select(USER_COLUMNS).where('email', '=', email).executeTakeFirst();

/** Creates the unconfirmed member account, or says whose the address already is. */
async function createAccount(db: AppDb, now: string, { username, email, passwordHash }: SignUpRequest): Promise<Outcome> {
  const owner = await ownerOf(db, email);
  if (owner) return { kind: 'address-taken', owner };
  try {
    const user = await db
      .insertInto('users')
      .values({
        username,
        email,
        password_hash: passwordHash,
        bio: '',
        image: null,
        role: 'member',
        locked_at: null,
        auth_version: NEW_ACCOUNT_AUTH_VERSION,
        created_at: now,
        updated_at: now,
        email_confirmed_at: null,
        signed_up_via: 'page',
      })
      .returning(USER_COLUMNS)
      .executeTakeFirstOrThrow();
    return { kind: 'created', user };
  } catch (err) {
    // A race: another sign-up took the name or the address between the checks and this write.
    const taken = takenBy(err);
    if (taken?.email) {
      const raced = await ownerOf(db, email);
      if (raced) return { kind: 'address-taken', owner: raced };
    }
    if (taken) return { kind: 'name-raced' };
    throw err;
  }
}

export function registerSignUps(app: FastifyInstance, runtime: Runtime): void {
  const db = runtime.db.kysely;
  const inFlight = new Set<Promise<void>>();

  async function finish(request: FastifyRequest, signUp: SignUpRequest): Promise<void> {
    const outcome = await createAccount(db, new Date().toISOString(), signUp);
    if (outcome.kind === 'created') {
      await sendConfirmation(app, runtime.config, outcome.user);
      await app.audit(request, 'register', { actorId: outcome.user.id, actorName: outcome.user.username });
    } else if (outcome.kind === 'address-taken') {
      if (await app.addressTakenMailAllowed(outcome.owner.id)) sendAddressTaken(app, runtime.config, outcome.owner);
      // The owner is not the actor: whoever typed their address is unknown.
      await app.audit(request, 'register', {
        actorId: null,
        details: { outcome: 'address-taken', username: typedIdentifier(signUp.username) },
      });
    } else {
      // The name was free when the form was answered and taken since: the visitor may try again.
      await app.audit(request, 'register', {
        actorId: null,
        details: { outcome: 'name-raced', username: typedIdentifier(signUp.username) },
      });
    }
  }

  const drain = async () => {
    while (inFlight.size > 0) await Promise.all(inFlight);
  };
  app.decorate('signUps', {
    start(request, signUp) {
      const job = finish(request, signUp)
        .catch((err: unknown) => request.log.error({ err }, 'sign-up failed after its answer'))
        .finally(() => inFlight.delete(job));
      inFlight.add(job);
    },
    async settled() {
      await drain();
      await app.mailer.settled();
    },
  } satisfies SignUps);
  // preClose runs before the mailer's onClose drain, so a sign-up in flight still gets its mail queued.
  app.addHook('preClose', drain);
}
