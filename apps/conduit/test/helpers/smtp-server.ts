import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

// A real SMTP server on loopback (the smtp-server package), with a certificate made for this
// test run by openssl: the app's mailer reaches it over TCP, upgrades with STARTTLS (or speaks
// TLS from the start), logs in, and the test reads what arrived.

export interface DeliveredMail {
  readonly raw: string;
  readonly parsed: ParsedMail;
  /** The connection was TLS when the message was sent. */
  readonly secure: boolean;
  /** The login the client used, if any. */
  readonly user: string | null;
  readonly rcptTo: readonly string[];
  /** The name the client gave in EHLO. */
  readonly ehlo: string;
}

export interface TestSmtpServerOptions {
  /** Require this login (offered only after STARTTLS, as smtp-server does by default). */
  readonly login?: { readonly user: string; readonly pass: string };
  /** smtps://: TLS from the first byte. */
  readonly implicitTls?: boolean;
  /** Offer no STARTTLS: a server (or a man in the middle) that would take the mail in clear text. */
  readonly noStartTls?: boolean;
  /** Answer DATA with this SMTP code instead of accepting (e.g. 550). */
  readonly rejectWith?: number;
}

export interface TestSmtpServer {
  readonly port: number;
  /** The self-signed certificate, which the mailer must be told to trust. */
  readonly ca: string;
  readonly messages: DeliveredMail[];
  /** Connections the server saw (so a test can tell "never connected" from "refused"). */
  readonly connections: () => number;
  /** Logins the server was sent (right or wrong). */
  readonly logins: () => number;
  /** Starts listening on `port` (the server is created stopped: connections are refused until then). */
  start(): Promise<void>;
  /** Resolves when `count` messages have arrived. */
  waitForMessages(count: number): Promise<DeliveredMail[]>;
  close(): Promise<void>;
}

let certificate: { key: string; cert: string } | null = null;

/** A key and a self-signed certificate for 127.0.0.1 and localhost, made once per test process. */
export function testCertificate(): { key: string; cert: string } {
  if (certificate) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'bastion-smtp-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    certificate = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A loopback port nothing listens on (until the test starts a server there). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export async function createTestSmtpServer(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const { key, cert } = testCertificate();
  const port = await freePort();
  const messages: DeliveredMail[] = [];
  const waiters: Array<() => void> = [];
  let connections = 0;
  let logins = 0;
  const config: SMTPServerOptions = {
    key,
    cert,
    secure: options.implicitTls ?? false,
    ...(options.noStartTls ? { disabledCommands: ['STARTTLS'], hideSTARTTLS: true } : {}),
    authOptional: !options.login,
    logger: false,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    onAuth(auth, _session, callback) {
      logins += 1;
      if (options.login && auth.username === options.login.user && auth.password === options.login.pass)
        return callback(null, { user: auth.username });
      const refused = Object.assign(new Error('Invalid username or password'), { responseCode: 535 });
      return callback(refused);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (options.rejectWith) return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: options.rejectWith }));
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            messages.push({
              raw,
              parsed,
              secure: session.secure,
              user: typeof session.user === 'string' ? session.user : null,
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
              ehlo: session.hostNameAppearsAs,
            });
            callback();
            for (const wake of waiters.splice(0)) wake();
          },
          (err: Error) => callback(err),
        );
      });
    },
  };
  const server = new SMTPServer(config);
  server.on('error', () => {});
  let listening = false;
  return {
    port,
    ca: cert,
    messages,
    connections: () => connections,
    logins: () => logins,
    async start() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
      listening = true;
    },
    async waitForMessages(count) {
      while (messages.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      return messages;
    },
    async close() {
      if (listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
