import type { FastifyInstance } from 'fastify';
import type { AuthUser } from '../../auth/current-user.js';
import type { RolePolicy } from '../../auth/roles.js';

// The admin area's tabs: Bastion's (users, audit log, mail failures) and the ones an application
// adds for its own admin pages (Conduit: Content), each shown only to the roles whose guard would
// let them in, so nobody is shown a link to a 403. The layout's Admin link goes to the first tab
// the signed-in user may open, and is absent when there is none.

/** An application's admin tab. Its page is the application's route, declared with the same access. */
export interface AdminTabOption {
  /** Names the tab for the page that shows it as current: `app.adminTabs(user, key)`. */
  readonly key: string;
  /** Under /admin/. */
  readonly href: string;
  readonly label: string;
  readonly access: 'moderator' | 'admin';
}

export interface AdminTab {
  readonly href: string;
  readonly label: string;
  readonly current: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The admin tabs `user` may open, `current` marked. */
    adminTabs(user: AuthUser, current: string): AdminTab[];
  }
}

const BASTION_TABS: readonly AdminTabOption[] = [
  { key: 'users', href: '/admin', label: 'Users', access: 'admin' },
  { key: 'audit', href: '/admin/audit', label: 'Audit log', access: 'admin' },
  { key: 'mail', href: '/admin/mail', label: 'Mail failures', access: 'admin' },
];

export class AdminTabOptionError extends Error {
  constructor(problems: readonly string[]) {
    super(`admin tabs are refused: ${problems.join('; ')}`);
    this.name = 'AdminTabOptionError';
  }
}

function problemsOf(tabs: readonly AdminTabOption[], roles: RolePolicy): string[] {
  const problems: string[] = [];
  const keys = new Set(BASTION_TABS.map((t) => t.key));
  for (const tab of tabs) {
    if (typeof tab.key !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/.test(tab.key) || keys.has(tab.key))
      problems.push(`key '${String(tab.key)}' is not a new lower-case name`);
    keys.add(tab.key);
    if (typeof tab.href !== 'string' || !/^\/admin\/[a-z0-9-]+(?:\/[a-z0-9-]+)*$/.test(tab.href))
      problems.push(`'${tab.key}': href must be a path under /admin/`);
    if (typeof tab.label !== 'string' || tab.label.trim() === '' || tab.label.length > 40)
      problems.push(`'${tab.key}': label must be 1 to 40 characters`);
    if (!roles.names.includes(tab.access) || (tab.access as string) === 'member')
      problems.push(`'${tab.key}': access must be a role of this application above member, not '${String(tab.access)}'`);
  }
  return problems;
}

/**
 * Decorates `app.adminTabs` and gives every page `it.adminHome`. The application's tabs come
 * after Users, in its order; a bad tab stops the start.
 */
export function registerAdminTabs(app: FastifyInstance, appTabs: readonly AdminTabOption[] = []): void {
  const problems = problemsOf(appTabs, app.roles);
  if (problems.length > 0) throw new AdminTabOptionError(problems);
  const tabs = Object.freeze([BASTION_TABS[0]!, ...appTabs.map((t) => Object.freeze({ ...t })), ...BASTION_TABS.slice(1)]);
  const visible = (user: AuthUser | null) => tabs.filter((t) => app.roles.hasRole(user, t.access));
  app.decorate('adminTabs', function adminTabs(user: AuthUser, current: string): AdminTab[] {
    return visible(user).map((t) => ({ href: t.href, label: t.label, current: t.key === current }));
  });
  app.addViewLocal('adminHome', function adminHome(request) {
    return visible(request.user)[0]?.href ?? null;
  });
}
