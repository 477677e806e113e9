/**
 * Whether a server speaks TLS at all, found out without the environment's CA certificates.
 *
 * A registry Kiln also tries over plain HTTP (insecure, or local) is first tried over HTTPS, as Docker and
 * kaniko do; most such registries speak plain HTTP, and that attempt fails in the handshake whatever the CAs.
 * Parsing SSL_CERT_FILE/SSL_CERT_DIR for it costs ~30 ms of a small build (300 files in /etc/ssl/certs). This
 * handshake trusts nothing and verifies nothing: it only tells a TLS server (then connect for real, verifying
 * with every CA) from one that is not (its error is the HTTPS attempt's error).
 */
import { isIP } from 'node:net';
import { connect } from 'node:tls';

/** The error a TLS handshake with host:port ends in, or undefined when the server completes one. */
export function tlsHandshakeError(hostname: string, port: number, timeoutMs: number): Promise<Error | undefined> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    // `ca: []`: no trust store is built (nothing is verified), so the probe costs no certificate parsing.
    const socket = connect({ host, port, ca: [], rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`TLS handshake with ${hostname}:${port} timed out after ${timeoutMs} ms`)));
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err) => resolve(err));
  });
}
