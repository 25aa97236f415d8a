// The application's identity, as its users see it: the name in every page title, every account
// mail's subject and body, the authenticator app's entry and the passkey prompt. Bastion names
// no application of its own, so an app that forgets to pass one reads as a neutral "Bastion app",
// never as another app. Checked once at start: the name goes into mail subjects, which refuse a
// control character, and into titles, so a bad one stops the start instead of every mail.

export interface Site {
  /** Shown to people: "Confirm your email address for <name>". */
  readonly name: string;
}

export const DEFAULT_SITE: Site = Object.freeze({ name: 'Bastion app' });

export const SITE_NAME_MAX = 60;

export class SiteOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SiteOptionError';
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The app's `site` option, checked and frozen; the default when it passes none. */
export function siteIdentity(input: Partial<Site> | undefined): Site {
  if (input === undefined) return DEFAULT_SITE;
  const name = input.name;
  if (typeof name !== 'string' || name.trim() === '' || name.length > SITE_NAME_MAX || CONTROL.test(name)) {
    throw new SiteOptionError(`site.name must be 1 to ${SITE_NAME_MAX} printable characters`);
  }
  return Object.freeze({ name: name.trim() });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The application's identity (createBastion's `site` option). */
    readonly site: Site;
  }
}
