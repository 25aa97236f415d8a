import type { ConduitDb, Profile, ViewerId } from './types.js';

// Profiles and follows. A user cannot follow themselves (a no-op answer, not an error, so the
// API stays idempotent).

/** The profile of `username` as seen by `viewer`, or null when no such user exists. */
export async function getProfile(db: ConduitDb, username: string, viewer: ViewerId): Promise<Profile | null> {
  const row = await db.selectFrom('users').select(['id', 'username', 'bio', 'image']).where('username', '=', username).executeTakeFirst();
  if (!row) return null;
  return { ...row, following: viewer === null ? false : await isFollowing(db, viewer, row.id) };
}

export async function isFollowing(db: ConduitDb, followerId: number, followeeId: number): Promise<boolean> {
  const row = await db
    .selectFrom('follows')
    .select('followee_id')
    .where('follower_id', '=', followerId)
    .where('followee_id', '=', followeeId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Of `ids`, the users that `viewer` follows (one query, for a whole page of authors). */
export async function followedAmong(db: ConduitDb, viewer: ViewerId, ids: readonly number[]): Promise<Set<number>> {
  if (viewer === null || ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('follows')
    .select('followee_id')
    .where('follower_id', '=', viewer)
    .where('followee_id', 'in', [...new Set(ids)])
    .execute();
  return new Set(rows.map((r) => r.followee_id));
}

/** Makes `followerId` follow `username`; idempotent. Null when the user does not exist. */
export async function follow(db: ConduitDb, followerId: number, username: string): Promise<Profile | null> {
  const target = await getProfile(db, username, followerId);
  if (!target) return null;
  if (target.id === followerId || target.following) return target;
  await db
    .insertInto('follows')
    .values({ follower_id: followerId, followee_id: target.id })
    .onConflict((oc) => oc.columns(['follower_id', 'followee_id']).doNothing())
    .execute();
  return { ...target, following: true };
}

/** Stops `followerId` following `username`; idempotent. Null when the user does not exist. */
export async function unfollow(db: ConduitDb, followerId: number, username: string): Promise<Profile | null> {
  const target = await getProfile(db, username, followerId);
  if (!target) return null;
  await db.deleteFrom('follows').where('follower_id', '=', followerId).where('followee_id', '=', target.id).execute();
  return { ...target, following: false };
}
