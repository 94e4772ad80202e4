// The reference tus server, as an independent peer for the agent's tus client
// (crates/agent/tests/tus_peer.rs). Usage: node server.mjs PORT DIR
// Binds 127.0.0.1 only; prints "listening PORT" once it accepts connections.
import http from 'node:http';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const [port, directory] = process.argv.slice(2);
const tus = new Server({ path: '/files', datastore: new FileStore({ directory }) });
const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
