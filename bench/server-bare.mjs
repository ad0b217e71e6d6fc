// Target (a), the ceiling: node:http reads the body and answers 202. No parsing, no Redis.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const answer = JSON.stringify({ state: 'QUEUED' });

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
