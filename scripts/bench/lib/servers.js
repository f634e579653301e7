// Starting and stopping the processes under test: the built server and the bare yardstick app.
const { spawn } = require('node:child_process');
const { openSync, closeSync } = require('node:fs');
const net = require('node:net');
const { join } = require('node:path');

const root = join(__dirname, '..', '..', '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode} before answering (see its log)`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`);
}

/**
 * Starts `node <args>` with its output in logFile, waits until readyPath answers 200 and returns
 * { pid, port, url, stop() }. stop() sends `signal` and waits for the exit.
 */
async function startProcess({ name, args, env, logFile, readyPath, nodeArgs = [] }) {
  const port = await freePort();
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}${readyPath}`, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    name,
    pid: child.pid,
    port,
    url,
    logFile,
    stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill(signal);
      });
    },
  };
}

module.exports = { root, freePort, startProcess };
