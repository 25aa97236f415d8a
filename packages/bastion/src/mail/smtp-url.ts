// SMTP_URL, read by us rather than handed to nodemailer: nodemailer turns a URL's query into
// transport options (`?tls.rejectUnauthorized=false` would switch certificate checks off), so
// only scheme, login, host and port are accepted here, and anything else makes the URL invalid.

export interface SmtpEndpoint {
  /** smtps:// — TLS from the first byte (implicit TLS, usually port 465). */
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  readonly user: string | null;
  /** The SMTP password: never logged, never part of an error or a finding. */
  readonly pass: string | null;
}

/** The endpoint an smtp:// or smtps:// URL names, or null when the URL is anything else. */
export function parseSmtpUrl(value: string): SmtpEndpoint | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') return null;
  if (url.hostname === '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') return null;
  const secure = url.protocol === 'smtps:';
  try {
    return {
      secure,
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
      user: url.username === '' ? null : decodeURIComponent(url.username),
      pass: url.password === '' ? null : decodeURIComponent(url.password),
    };
  } catch {
    return null; // a login with broken percent-encoding
  }
}
