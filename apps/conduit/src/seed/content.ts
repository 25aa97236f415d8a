// Demo content for `bastion seed`: names, titles and Markdown bodies that look like a real
// developer blog (headings, lists, code, links, quotes), drawn from a seeded generator so a
// run can be repeated exactly.

export type Random = () => number;

/** mulberry32: tiny, fast and good enough for demo data (never for anything secret). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
export const between = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));

/** k distinct items of list (k is capped at its length); O(k), whatever the list's length. */
export function sample<T>(random: Random, list: readonly T[], k: number): T[] {
  // A sparse Fisher-Yates shuffle: only the swapped positions are remembered.
  const swapped = new Map<number, number>();
  const n = Math.min(k, list.length);
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (list.length - i));
    const atJ = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    out.push(list[atJ]!);
  }
  return out;
}

const FIRST = [
  'ada',
  'alan',
  'grace',
  'linus',
  'margaret',
  'ken',
  'barbara',
  'dennis',
  'frances',
  'edsger',
  'radia',
  'guido',
  'anita',
  'bjarne',
  'hedy',
  'john',
  'sophie',
  'tim',
  'katherine',
  'donald',
  'lynn',
  'brian',
  'carol',
  'yukihiro',
  'annie',
  'james',
  'mary',
  'rob',
  'shafi',
  'leslie',
  'adele',
  'niklaus',
  'joan',
  'ward',
  'karen',
  'larry',
  'priya',
  'mateo',
  'amara',
  'kenji',
  'olga',
  'tomas',
  'ines',
  'wei',
  'fatima',
  'noah',
  'lea',
  'omar',
  'zoe',
  'ravi',
];
const LAST = [
  'lovelace',
  'turing',
  'hopper',
  'torvalds',
  'hamilton',
  'thompson',
  'liskov',
  'ritchie',
  'allen',
  'dijkstra',
  'perlman',
  'rossum',
  'borg',
  'stroustrup',
  'lamarr',
  'backus',
  'wilson',
  'berners',
  'johnson',
  'knuth',
  'conway',
  'kernighan',
  'shaw',
  'matsumoto',
  'easley',
  'gosling',
  'keller',
  'pike',
  'goldwasser',
  'lamport',
  'goldberg',
  'wirth',
  'clarke',
  'cunningham',
  'jones',
  'page',
  'patel',
  'garcia',
  'okafor',
  'tanaka',
  'ivanova',
  'novak',
  'silva',
  'chen',
  'haddad',
  'smith',
  'muller',
  'rahman',
  'martin',
  'kumar',
];

export const TAGS = [
  'javascript',
  'typescript',
  'node',
  'security',
  'databases',
  'postgresql',
  'sqlite',
  'redis',
  'web',
  'css',
  'html',
  'testing',
  'devops',
  'linux',
  'performance',
  'architecture',
  'career',
  'rust',
  'go',
  'python',
  'api',
  'accessibility',
  'design',
  'open-source',
  'tutorial',
  'cryptography',
  'networking',
  'frontend',
  'backend',
  'tooling',
];

const TOPICS = [
  'connection pooling',
  'content security policy',
  'database migrations',
  'rate limiting',
  'password hashing',
  'session cookies',
  'server-side rendering',
  'structured logging',
  'integration tests',
  'feature flags',
  'query planning',
  'caching headers',
  'code review',
  'error budgets',
  'schema validation',
  'dependency audits',
  'CSS grid',
  'progressive enhancement',
  'background jobs',
  'zero-downtime deploys',
  'TLS certificates',
  'full-text search',
  'property-based testing',
  'monorepos',
  'type narrowing',
  'event loops',
  'memory leaks',
  'SQL indexes',
  'accessible forms',
  'HTTP/2',
];
const TITLE_FORMS: ReadonlyArray<(t: string, u: string) => string> = [
  (t) => `A gentle introduction to ${t}`,
  (t) => `What I learned about ${t} the hard way`,
  (t) => `${cap(t)} in practice`,
  (t, u) => `Why we replaced ${t} with ${u}`,
  (t) => `Ten mistakes teams make with ${t}`,
  (t) => `${cap(t)}: a field guide`,
  (t) => `Getting ${t} right on the first try`,
  (t, u) => `${cap(t)} vs. ${u}: choosing wisely`,
  (t) => `Debugging ${t} at three in the morning`,
  (t) => `The boring guide to ${t}`,
];
const SENTENCES = [
  'Most of the problems we hit were not about the tool itself but about the defaults we never questioned.',
  'The first version worked on a laptop and fell over as soon as real traffic arrived.',
  'It is tempting to reach for a framework, but a small amount of glue code was all we needed.',
  'Measure before you optimise; our intuition about the slow part was wrong twice.',
  'Good defaults matter more than good documentation, because nobody reads the documentation at 2 a.m.',
  'We wrote the failing test first, which made the fix obvious once we saw it.',
  'The library handled the hard parts; our job was to configure it carefully and prove it worked.',
  'Every input crosses a boundary, and every boundary deserves a schema.',
  'A clear error message saved us more support time than any dashboard.',
  'Once the feedback loop dropped below a second, the whole team started experimenting more.',
  'We kept the old path running in parallel for a week and compared the results.',
  'Nothing here is new; it is simply written down in one place.',
  'The real win was deleting code we no longer needed.',
  'Security is mostly a matter of making the safe thing the easy thing.',
  'Our logs told us what happened, but only the metrics told us how often.',
  'Documentation that lives next to the code tends to stay true.',
  'The benchmark was reproducible, which is more than we could say for our first attempt.',
  'Users never noticed the migration, which is exactly what we wanted.',
];
const HEADINGS = [
  'Background',
  'The problem',
  'What we tried first',
  'A better approach',
  'Putting it together',
  'Testing it',
  'Pitfalls',
  'Results',
  'What is next',
  'Further reading',
];
const LIST_ITEMS = [
  'keep the configuration in one validated object',
  'fail loudly at start-up instead of quietly at run time',
  'write the test as the attacker would',
  'log the request id, never the secret',
  'prefer a maintained library to clever code',
  'pin versions and audit them weekly',
  'make the slow path observable',
  'document the decision, not just the result',
  'roll out behind a flag',
  'delete the flag afterwards',
];
const LINKS = [
  ['the OWASP cheat sheets', 'https://cheatsheetseries.owasp.org/'],
  ['MDN', 'https://developer.mozilla.org/'],
  ['the Node.js docs', 'https://nodejs.org/docs/latest/api/'],
  ['the PostgreSQL manual', 'https://www.postgresql.org/docs/'],
  ['the SQLite documentation', 'https://www.sqlite.org/docs.html'],
  ['RFC 9110', 'https://www.rfc-editor.org/rfc/rfc9110'],
] as const;
const CODE = [
  ['ts', "const app = Fastify({ logger: true });\napp.get('/healthz', async () => ({ status: 'ok' }));\nawait app.listen({ port: 3000 });"],
  [
    'sql',
    'CREATE INDEX articles_created_at ON articles (created_at, id);\nSELECT slug, title FROM articles ORDER BY created_at DESC LIMIT 10;',
  ],
  ['sh', 'npm ci\nnpm test\nnpx bastion check'],
  ['js', "export function slugify(title) {\n  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-');\n}"],
  ['py', 'def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a'],
  ['css', '.container {\n  max-width: 1040px;\n  margin: 0 auto;\n}'],
] as const;
const COMMENTS = [
  'Great write-up, thanks for sharing!',
  'We hit exactly the same issue last month.',
  'Could you say more about how you tested this?',
  'The section on pitfalls is gold.',
  'I disagree with the second point, but the rest is spot on.',
  'Bookmarked for the next time this bites me.',
  'Clear and to the point. More of this, please.',
  'Did you measure the memory use as well?',
  'This finally made it click for me.',
  'Nice! Is the code on GitHub somewhere?',
];
const BIOS = [
  'Backend developer. Coffee, Postgres and long walks.',
  'I write about web security and boring technology.',
  'Frontend engineer who likes plain HTML.',
  'Open-source maintainer, occasional speaker.',
  'Learning in public.',
  'Ops person turned developer.',
  '',
];

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export function personName(random: Random): { first: string; last: string } {
  return { first: pick(random, FIRST), last: pick(random, LAST) };
}

export const bio = (random: Random): string => pick(random, BIOS);
export const commentBody = (random: Random): string => pick(random, COMMENTS);

export function title(random: Random): string {
  const [t, u] = sample(random, TOPICS, 2) as [string, string];
  return pick(random, TITLE_FORMS)(t, u);
}

const paragraph = (random: Random): string => sample(random, SENTENCES, between(random, 2, 4)).join(' ');

export const description = (random: Random): string => pick(random, SENTENCES);

/** A Markdown article body with headings, lists, code, a link and a quote. */
export function markdownBody(random: Random): string {
  const parts: string[] = [paragraph(random)];
  for (const heading of sample(random, HEADINGS, between(random, 2, 4))) {
    parts.push(`## ${heading}`, paragraph(random));
    const kind = between(random, 0, 4);
    if (kind === 0)
      parts.push(
        sample(random, LIST_ITEMS, between(random, 3, 5))
          .map((i) => `- ${cap(i)}`)
          .join('\n'),
      );
    if (kind === 1)
      parts.push(
        sample(random, LIST_ITEMS, between(random, 3, 4))
          .map((i, n) => `${n + 1}. ${cap(i)}`)
          .join('\n'),
      );
    if (kind === 2) {
      const [lang, code] = pick(random, CODE);
      parts.push(`\`\`\`${lang}\n${code}\n\`\`\``);
    }
    if (kind === 3) parts.push(`> ${pick(random, SENTENCES)}`);
    if (kind === 4) {
      const [text, href] = pick(random, LINKS);
      parts.push(`For the details, see [${text}](${href}) and the \`README\` of the project.`);
    }
  }
  return parts.join('\n\n');
}
