import type { AppMigrations } from '../db/migrate.js';
import { FeatureError, type Feature } from './define-feature.js';

// The features' migrations as one AppMigrations (packages/bastion/src/db/migrate.ts), alone or beside the app's
// own, so that one migration run can bring all of them up.

/** Every feature's migrations under their full names; two features of one name are refused. */
export function featureMigrations(features: readonly Feature[]): AppMigrations {
  const names = features.map((f) => f.name);
  const twice = names.filter((name, i) => names.indexOf(name) !== i);
  if (twice.length > 0) throw new FeatureError(`features declared twice: ${[...new Set(twice)].join(', ')}`);
  return (db) => Object.assign({}, ...features.map((f) => f.migrations(db)));
}

/** The app's migrations and its features'; a name both claim is refused, not overwritten. */
export function withFeatureMigrations(app: AppMigrations | undefined, features: readonly Feature[]): AppMigrations | undefined {
  if (features.length === 0) return app;
  const fromFeatures = featureMigrations(features);
  if (!app) return fromFeatures;
  return (db) => {
    const own = app(db);
    const added = fromFeatures(db);
    const clash = Object.keys(added).filter((name) => name in own);
    if (clash.length > 0) throw new FeatureError(`app migration names clash with a feature's: ${clash.join(', ')}`);
    return { ...own, ...added };
  };
}
