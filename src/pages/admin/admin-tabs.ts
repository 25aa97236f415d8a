import type { AuthUser } from '../../auth/current-user.js';
import { hasRole } from '../../auth/roles.js';

// The admin area's tabs, each shown only to the roles whose guard would let them in
// (the same requireRole levels the routes use), so nobody is shown a link to a 403.

export type AdminTab = 'users' | 'content' | 'audit' | 'mail';

const TABS: readonly { key: AdminTab; href: string; label: string; role: 'admin' | 'moderator' }[] = [
  { key: 'users', href: '/admin', label: 'Users', role: 'admin' },
  { key: 'content', href: '/admin/content', label: 'Content', role: 'moderator' },
  { key: 'audit', href: '/admin/audit', label: 'Audit log', role: 'admin' },
  { key: 'mail', href: '/admin/mail', label: 'Mail failures', role: 'admin' },
];

export function adminTabs(user: AuthUser, current: AdminTab): { href: string; label: string; current: boolean }[] {
  return TABS.filter((t) => hasRole(user, t.role)).map((t) => ({ href: t.href, label: t.label, current: t.key === current }));
}
