// A pass-through TCP proxy in front of MariaDB/MySQL that counts the statements the server sends
// (COM_QUERY and COM_STMT_EXECUTE packets), so "no database query on the hot path" is measured
// on the wire, from outside the server process.
const net = require('node:net');

const COM_QUERY = 0x03;
const COM_STMT_EXECUTE = 0x17;

/** `counter.sample` keeps the first words of up to 20 distinct statements, to tell what ran. */
function startCountingProxy(targetHost, targetPort) {
  const counter = { statements: 0, sample: new Map() };
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: targetHost, port: targetPort });
    sockets.add(client).add(upstream);
    let pending = Buffer.alloc(0);
    client.on('data', (chunk) => {
      // Client-to-server packets: 3-byte little-endian length, 1-byte sequence, payload.
      // A command starts a new exchange, so it is the packet with sequence 0.
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 4) {
        const length = pending.readUIntLE(0, 3);
        if (pending.length < 4 + length) break;
        if (pending[3] === 0 && length > 0 && (pending[4] === COM_QUERY || pending[4] === COM_STMT_EXECUTE)) {
          counter.statements += 1;
          const text = pending[4] === COM_QUERY ? pending.subarray(5, 4 + Math.min(length, 80)).toString('utf8') : '(prepared statement)';
          if (counter.sample.size < 20 || counter.sample.has(text)) counter.sample.set(text, (counter.sample.get(text) ?? 0) + 1);
        }
        pending = pending.subarray(4 + length);
      }
    });
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        counter,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

module.exports = { startCountingProxy };
