// A real Bastion process for multi-instance and fault tests: the production start path
// (startServer, with its SIGTERM drain), on the store isolation a test gives it through
// BASTION_TEST_SEARCH_PATH (a PostgreSQL schema) and BASTION_TEST_REDIS_PREFIX.
import { loadConfig } from 'bastion';
import { startServer } from '../../src/server.js';

const { config } = loadConfig({ dotenvPath: null });
const searchPath = process.env.BASTION_TEST_SEARCH_PATH;
const redisPrefix = process.env.BASTION_TEST_REDIS_PREFIX;
const server = await startServer(config, [], { ...(searchPath ? { searchPath } : {}), ...(redisPrefix ? { redisPrefix } : {}) });
server.app.log.info({ address: server.address }, 'bastion test instance listening');
