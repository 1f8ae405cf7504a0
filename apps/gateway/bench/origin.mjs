// The origin web server of the gateway benches: answers every request with 200 and a short body.
// Usage: node origin.mjs ADDRESS PORT
import { createServer } from 'node:http';

const [host = '127.0.0.1', port = '8080'] = process.argv.slice(2);
const body = Buffer.from('origin-ok\n');
createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(Number(port), host, () => console.log(`origin listening on ${host}:${port}`));
