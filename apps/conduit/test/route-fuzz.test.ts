import { runAttackKit } from 'bastion/testing';
import { conduitKit } from './helpers/conduit-kit.js';

// Conduit under the attack kit's route fuzzer (packages/bastion/src/testing/fuzz/route-fuzz.ts): every route
// the app registers, fuzzed from its own schema and hostile values, on both backends. A file of
// its own so it runs beside apps/conduit/test/attack-kit.test.ts (the other defences) rather than after it.
// FUZZ_SEED=… reproduces a run, FUZZ_RUNS=… makes it longer (README, "Fuzzing").

runAttackKit({ ...conduitKit, defences: ['fuzz'] });
