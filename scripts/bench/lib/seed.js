// Bulk seeding of users straight into the database: each row is a copy of an account created
// through the API (so a column added by a later migration gets a valid value) with its own id,
// name and email, and ONE shared bcrypt hash (the hash cost is not what the bench measures).
const { randomUUID } = require('node:crypto');
const { join } = require('node:path');

// The server looks usernames up by their confusable skeleton (bench_0000001's is not its own text),
// so the seeder keys each row with the built server's own function (loaded once dist/ is built).
let keyOf = null;
const usernameKey = (name) => (keyOf ??= require(join(__dirname, '..', '..', '..', 'dist', 'modules', 'users', 'identity.js')).usernameKey)(name);

const ROWS_PER_INSERT = 1000;
const ROWS_PER_TRANSACTION = 50_000;

function seededName(index) {
  return `bench_${String(index).padStart(7, '0')}`;
}

function seededRow(template, index, passwordHash) {
  const username = seededName(index);
  return {
    ...template,
    id: randomUUID(),
    username,
    username_key: usernameKey(username),
    email: `${username}@bench.example`,
    email_key: `${username}@bench.example`,
    password_hash: passwordHash,
  };
}

/** An open database handle for seeding: { templateOf(id), insert(from, to, hash), count(), setRole(id, role), close() }. */
async function openSeeder(target) {
  if (target.driver === 'sqlite') {
    const Database = require('better-sqlite3');
    const db = new Database(target.file);
    db.pragma('busy_timeout = 10000');
    return {
      async templateOf(userId) {
        return db.prepare('SELECT * FROM users WHERE id = ?').get(userId);
      },
      async insert(template, from, to, passwordHash, onProgress) {
        const columns = Object.keys(template);
        const statement = db.prepare(`INSERT INTO users (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
        const batch = db.transaction((start, end) => {
          for (let index = start; index < end; index += 1) statement.run(seededRow(template, index, passwordHash));
        });
        for (let start = from; start < to; start += ROWS_PER_TRANSACTION) {
          batch(start, Math.min(to, start + ROWS_PER_TRANSACTION));
          onProgress?.(Math.min(to, start + ROWS_PER_TRANSACTION) - from);
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
      async count() {
        return db.prepare('SELECT COUNT(*) AS n FROM users').get().n;
      },
      async setRole(userId, role) {
        db.prepare('UPDATE users SET role = ? WHERE id = ?').run(role, userId);
      },
      async close() {
        db.close();
      },
    };
  }
  const mysql = require('mysql2/promise');
  const url = new URL(target.url);
  const conn = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
    dateStrings: true,
    supportBigNumbers: true,
  });
  // The generated names and emails are unique by construction, so InnoDB may skip the per-row
  // unique-index reads while bulk loading (this session only).
  await conn.query('SET SESSION unique_checks = 0');
  return {
    async templateOf(userId) {
      const [rows] = await conn.query('SELECT * FROM users WHERE id = ?', [userId]);
      return rows[0];
    },
    async insert(template, from, to, passwordHash, onProgress) {
      const columns = Object.keys(template);
      const sql = `INSERT INTO users (${columns.map((c) => `\`${c}\``).join(', ')}) VALUES ?`;
      for (let start = from; start < to; start += ROWS_PER_TRANSACTION) {
        const end = Math.min(to, start + ROWS_PER_TRANSACTION);
        await conn.beginTransaction();
        try {
          for (let chunk = start; chunk < end; chunk += ROWS_PER_INSERT) {
            const rows = [];
            for (let index = chunk; index < Math.min(end, chunk + ROWS_PER_INSERT); index += 1) {
              const row = seededRow(template, index, passwordHash);
              rows.push(columns.map((column) => row[column]));
            }
            await conn.query(sql, [rows]);
          }
          await conn.commit();
        } catch (error) {
          await conn.rollback();
          throw error;
        }
        onProgress?.(end - from);
      }
      await conn.query('ANALYZE TABLE users');
    },
    async count() {
      const [rows] = await conn.query('SELECT COUNT(*) AS n FROM users');
      return Number(rows[0].n);
    },
    async setRole(userId, role) {
      await conn.query('UPDATE users SET role = ? WHERE id = ?', [role, userId]);
    },
    async close() {
      await conn.end();
    },
  };
}

module.exports = { openSeeder, seededName };
