import { can } from '../auth/roles.js';
import type { Role } from '../db/schema.js';

// Who may change which content, as decided by the one role table (src/auth/roles.ts): authors
// edit and delete their own; moderators and admins may delete (never edit) anyone's article
// or comment. The services call these so neither face (API or HTML) can forget the check.

export interface Actor {
  readonly id: number;
  readonly role: Role;
}

export const mayEditArticle = (actor: Actor, authorId: number): boolean => can(actor, 'article:update', { authorId });
export const mayDeleteArticle = (actor: Actor, authorId: number): boolean => can(actor, 'article:delete', { authorId });
export const mayDeleteComment = (actor: Actor, authorId: number): boolean => can(actor, 'comment:delete', { authorId });
