import { defineRoles, type Actor, type Resource, type RoleOptions } from 'bastion';

// Conduit's roles, as data handed to Bastion (createBastion's `roles`): members write articles
// and comments and edit or delete their own; moderators may delete (never edit) anyone's. The
// admin has the moderator's rights plus Bastion's own. The services check the same table
// (access.ts), built here once from the same data Bastion checks at start.

export const CONDUIT_ROLES = {
  statements: {
    article: ['create', 'update', 'delete'],
    comment: ['create', 'delete'],
  },
  member: {
    'article:create': 'any',
    'article:update': 'own',
    'article:delete': 'own',
    'comment:create': 'any',
    'comment:delete': 'own',
  },
  moderator: { 'article:delete': 'any', 'comment:delete': 'any' },
} as const satisfies RoleOptions;

type Statements = typeof CONDUIT_ROLES.statements;
export type ConduitAction = { [R in keyof Statements]: `${R}:${Statements[R][number]}` }[keyof Statements];

export const conduitRoles = defineRoles(CONDUIT_ROLES);

/** `can(user, 'article:delete', { authorId })`, on Conduit's role table. */
export const can = (user: Actor | null | undefined, action: ConduitAction, resource?: Resource): boolean =>
  conduitRoles.authorize(user, action, resource);
