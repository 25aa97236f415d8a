// Placeholder until the re-authentication layer ("sudo mode", SPEC §3) is merged, which declares
// and enforces it: lets the security pages mark their changes `config: { reauth: true }`.
// Not enforced in this branch. Delete this file when that layer's declaration arrives.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Needs a recent proof of identity (the current password or a second factor within 10 minutes). */
    reauth?: boolean;
  }
}

export {};
