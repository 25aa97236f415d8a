// The application's identity, as its users see it: the name in every page title, every account
// mail's subject and body, the authenticator app's entry and the passkey prompt. Bastion names
// no application of its own, so an app that forgets to pass one reads as a neutral "Bastion app",
// never as another app. Checked once at start: the name goes into mail subjects, which refuse a
// control character, and into titles, so a bad one stops the start instead of every mail.

export interface Site {
  /** Shown to people: "Confirm your email address for <name>". */
  readonly name: string;
  /** What members write, in the app's words, for "confirm your address to write <writes>" (default "posts"). */
  readonly writes: string;
  /** Where a member's public page is, as a path with `:username` in it; null when the app has none (the admin lists names unlinked). */
  readonly profilePath: string | null;
}

export const DEFAULT_SITE: Site = Object.freeze({ name: 'Bastion app', writes: 'posts', profilePath: null });

export const SITE_NAME_MAX = 60;

export class SiteOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SiteOptionError';
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const printable = (value: unknown): value is string =>
  typeof value === 'string' && value.trim() !== '' && value.length <= SITE_NAME_MAX && !CONTROL.test(value);

// A path on this site only: one leading slash (not `//host`, not a scheme), no query or fragment,
// with the one placeholder the admin fills with the encoded name.
const PROFILE_PATH = /^\/(?!\/)[\w\-.~/:]*:username[\w\-.~/]*$/;

/** The app's `site` option, checked and frozen; the default when it passes none. */
export function siteIdentity(input: Partial<Site> | undefined): Site {
  if (input === undefined) return DEFAULT_SITE;
  const { name, writes = DEFAULT_SITE.writes, profilePath = null } = input;
  if (!printable(name)) throw new SiteOptionError(`site.name must be 1 to ${SITE_NAME_MAX} printable characters`);
  if (!printable(writes)) throw new SiteOptionError(`site.writes must be 1 to ${SITE_NAME_MAX} printable characters`);
  if (profilePath !== null && (typeof profilePath !== 'string' || !PROFILE_PATH.test(profilePath))) {
    throw new SiteOptionError('site.profilePath must be a path on this site with :username in it, such as /profile/:username');
  }
  return Object.freeze({ name: name.trim(), writes: writes.trim(), profilePath });
}

/** The member's page on this site, or null when the app has none. */
export function profileHref(site: Site, username: string): string | null {
  return site.profilePath === null ? null : site.profilePath.replace(':username', encodeURIComponent(username));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The application's identity (createBastion's `site` option). */
    readonly site: Site;
  }
}
