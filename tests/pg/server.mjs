// A real PostgreSQL (PGlite: PostgreSQL compiled to WebAssembly) with pgvector, behind the
// PostgreSQL wire protocol on 127.0.0.1, for lookalike's tests of shared catalogs.
//
//   node server.mjs DATA_DIR [--no-vector]
//
// Prints "ready PORT" once it accepts connections (on a port the system picked); stops on
// SIGTERM/SIGINT or when its standard input closes (so a test that dies leaves no server behind).
// The npm packages come from `./run setup` (into .cache/pglite/node_modules).
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const [dataDir, ...flags] = process.argv.slice(2);
const extensions = flags.includes('--no-vector') ? {} : { vector };
const db = await PGlite.create({ dataDir, extensions });
const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 16 });
await server.start();
console.log(`ready ${server.port}`);

const stop = async () => {
  await server.stop();
  await db.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
