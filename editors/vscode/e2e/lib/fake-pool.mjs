// Fake session pools for the sign-in step, on 127.0.0.1.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const started = [];

/**
 * A fake pool: POST /executions succeeds with `stdout`, everything else (GET /session …) is 404. Over
 * https with `tls`'s leaf certificate when `secure`, else plain http. It records each request's method,
 * path and Authorization header in `requests` (in memory only).
 */
export function startFakePool({ secure, stdout, tls }) {
  const requests = [];
  return new Promise((resolve, reject) => {
    const handler = (req, res) => {
      req.resume();
      req.on('end', () => {
        const url = new URL(req.url, 'http://127.0.0.1');
        requests.push({ method: req.method, path: url.pathname, authorization: req.headers.authorization ?? null });
        if (req.method === 'POST' && url.pathname === '/executions') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              id: 'e',
              identifier: 'i',
              executionType: 'Synchronous',
              status: 'Succeeded',
              result: { stdout, stderr: '', executionResult: null, executionTimeInMilliseconds: 1 },
            }),
          );
        } else {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'NotFound', message: `${req.method} ${url.pathname} is not here` } }));
        }
      });
    };
    const srv = secure ? https.createServer({ key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert) }, handler) : http.createServer(handler);
    started.push(srv);
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve({ port: srv.address().port, requests }));
  });
}

export function closeFakePools() {
  for (const srv of started) {
    srv.closeAllConnections();
    srv.close();
  }
}
