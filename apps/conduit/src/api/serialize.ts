import type { ArticleSummary, ArticleView, CommentView, Profile } from '../conduit/types.js';
import type { TokenAccount } from 'bastion';

// Domain views → the RealWorld JSON shapes, field by field, so nothing internal (ids of users,
// roles, rendered HTML, hashes) can leak into a response by being added to a view later.

export const profileJson = (p: Profile) => ({ username: p.username, bio: p.bio, image: p.image, following: p.following });

export const userJson = ({ user: u, token }: TokenAccount) => ({ email: u.email, token, username: u.username, bio: u.bio, image: u.image });

export const articleSummaryJson = (a: ArticleSummary) => ({
  slug: a.slug,
  title: a.title,
  description: a.description,
  tagList: a.tagList,
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
  favorited: a.favorited,
  favoritesCount: a.favoritesCount,
  author: profileJson(a.author),
});

export const articleJson = (a: ArticleView) => ({ ...articleSummaryJson(a), body: a.body });

export const commentJson = (c: CommentView) => ({
  id: c.id,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
  body: c.body,
  author: profileJson(c.author),
});
