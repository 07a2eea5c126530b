// TLS for the fake remote pool of the sign-in step: a throwaway CA, and a leaf for localhost/127.0.0.1
// that it signs (rustls refuses a self-signed leaf used as its own CA). The server trusts the CA only
// through the machine-scoped azureSessions.extraCaCertificates (lib/code-server.mjs's user settings).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Makes the CA and the leaf in `dir`; returns their paths and, when openssl failed, `error`. */
export function makeTestCa(dir) {
  const tls = { ca: path.join(dir, 'ca.pem'), key: path.join(dir, 'localhost.key'), cert: path.join(dir, 'localhost.pem'), error: '' };
  try {
    const openssl = ['/usr/bin/openssl', 'openssl'].find((p) => !p.startsWith('/') || fs.existsSync(p));
    const inTls = (file) => path.join(dir, file);
    fs.writeFileSync(
      inTls('openssl.cnf'),
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        '[dn]',
        'CN = azure-sessions-lsp e2e throwaway CA',
        '[ca]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        '[leaf]',
        'subjectAltName = DNS:localhost, IP:127.0.0.1',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = serverAuth',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        '',
      ].join('\n'),
    );
    const run = (...a) => execFileSync(openssl, a, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run('req', '-config', inTls('openssl.cnf'), '-x509', ...ec, '-keyout', inTls('ca.key'), '-out', tls.ca, '-days', '2', '-extensions', 'ca');
    run('req', '-config', inTls('openssl.cnf'), '-new', ...ec, '-keyout', tls.key, '-out', inTls('localhost.csr'), '-subj', '/CN=localhost');
    const serial = `0x${crypto.randomBytes(8).toString('hex')}`;
    run('x509', '-req', '-in', inTls('localhost.csr'), '-CA', tls.ca, '-CAkey', inTls('ca.key'), '-set_serial', serial, '-days', '2',
      '-extfile', inTls('openssl.cnf'), '-extensions', 'leaf', '-out', tls.cert);
  } catch (e) {
    tls.error = String(e.stderr || e.message).trim().split('\n').slice(-3).join(' ');
  }
  return tls;
}
