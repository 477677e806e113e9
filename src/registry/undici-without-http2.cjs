// What undici's client-h2.js gets for `require('node:http2')` when Kiln loads it (undici-parts.ts): the same
// stand-in undici itself uses when Node has no http2. Kiln never speaks HTTP/2 (its connector offers only
// http/1.1 by ALPN), and loading Node's http2 cost 6–10 ms of every registry build's start.
module.exports = { constants: {} };
