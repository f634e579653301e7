#!/usr/bin/env node
// Compares V8 heap snapshots (.heapsnapshot, e.g. from `npm run bench -- --only soak --heap-snapshots 60,240`):
// for each constructor, how many objects, their own size, and what they retain (dominator tree, as in
// DevTools' "Retained Size"; an object counts once, under the nearest dominator of another class).
//   node --max-old-space-size=8192 scripts/bench/heap-top.js a.heapsnapshot b.heapsnapshot [--top 30]
const { readFileSync } = require('node:fs');
const { basename } = require('node:path');

function analyse(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snapshot.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snapshot;
  const typeOffset = meta.node_fields.indexOf('type');
  const nameOffset = meta.node_fields.indexOf('name');
  const sizeOffset = meta.node_fields.indexOf('self_size');
  const edgeCountOffset = meta.node_fields.indexOf('edge_count');
  const edgeTypeOffset = meta.edge_fields.indexOf('type');
  const edgeToOffset = meta.edge_fields.indexOf('to_node');
  const weak = edgeTypes.indexOf('weak');
  const count = nodes.length / nodeFields;

  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i += 1) firstEdge[i + 1] = firstEdge[i] + nodes[i * nodeFields + edgeCountOffset] * edgeFields;
  const target = (e) => edges[e + edgeToOffset] / nodeFields;
  const strong = (e) => edges[e + edgeTypeOffset] !== weak;

  // Class of a node: the constructor name for objects, "(type)" for the rest (strings, code, arrays...).
  const classOf = new Int32Array(count);
  const classNames = [];
  const classIds = new Map();
  for (let i = 0; i < count; i += 1) {
    const type = nodeTypes[nodes[i * nodeFields + typeOffset]];
    const name = type === 'object' || type === 'native' ? strings[nodes[i * nodeFields + nameOffset]] : `(${type})`;
    let id = classIds.get(name);
    if (id === undefined) {
      id = classNames.length;
      classNames.push(name);
      classIds.set(name, id);
    }
    classOf[i] = id;
  }

  // Depth-first post-order from the root (node 0) over strong edges.
  const post = new Int32Array(count).fill(-1);
  const order = new Int32Array(count);
  let visited = 0;
  const seen = new Uint8Array(count);
  const stack = new Int32Array(count);
  const cursor = new Uint32Array(count);
  let top = 0;
  stack[top++] = 0;
  seen[0] = 1;
  cursor[0] = firstEdge[0];
  while (top > 0) {
    const node = stack[top - 1];
    let pushed = false;
    while (cursor[node] < firstEdge[node + 1]) {
      const e = cursor[node];
      cursor[node] += edgeFields;
      if (!strong(e)) continue;
      const to = target(e);
      if (seen[to]) continue;
      seen[to] = 1;
      cursor[to] = firstEdge[to];
      stack[top++] = to;
      pushed = true;
      break;
    }
    if (!pushed) {
      top -= 1;
      post[node] = visited;
      order[visited] = node;
      visited += 1;
    }
  }

  // Predecessors (reachable ones only), by post-order number.
  const predCount = new Uint32Array(visited + 1);
  for (let i = 0; i < count; i += 1) {
    if (post[i] < 0) continue;
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += edgeFields) if (strong(e) && post[target(e)] >= 0) predCount[post[target(e)] + 1] += 1;
  }
  for (let i = 0; i < visited; i += 1) predCount[i + 1] += predCount[i];
  const preds = new Int32Array(predCount[visited]);
  const fill = predCount.slice(0, visited);
  for (let i = 0; i < count; i += 1) {
    if (post[i] < 0) continue;
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += edgeFields) if (strong(e) && post[target(e)] >= 0) preds[fill[post[target(e)]]++] = post[i];
  }

  // Cooper, Harvey & Kennedy: iterate immediate dominators in reverse post-order until stable.
  const rootPost = visited - 1;
  const idom = new Int32Array(visited).fill(-1);
  idom[rootPost] = rootPost;
  for (let changed = true; changed; ) {
    changed = false;
    for (let b = rootPost - 1; b >= 0; b -= 1) {
      let next = -1;
      for (let p = predCount[b]; p < predCount[b + 1]; p += 1) {
        let other = preds[p];
        if (idom[other] < 0) continue;
        if (next < 0) {
          next = other;
          continue;
        }
        let a = next;
        while (a !== other) {
          while (a < other) a = idom[a];
          while (other < a) other = idom[other];
        }
        next = a;
      }
      if (next >= 0 && idom[b] !== next) {
        idom[b] = next;
        changed = true;
      }
    }
  }

  const retained = new Float64Array(visited);
  for (let b = 0; b < visited; b += 1) retained[b] = nodes[order[b] * nodeFields + sizeOffset];
  for (let b = 0; b < rootPost; b += 1) if (idom[b] >= 0) retained[idom[b]] += retained[b];

  const stats = new Map();
  let total = 0;
  for (let b = 0; b < visited; b += 1) {
    const node = order[b];
    const cls = classNames[classOf[node]];
    const self = nodes[node * nodeFields + sizeOffset];
    total += self;
    const entry = stats.get(cls) ?? { count: 0, self: 0, retained: 0 };
    entry.count += 1;
    entry.self += self;
    // Counted once: only where the dominator is of another class (a Map's inner table is under the Map).
    if (b === rootPost || classOf[order[idom[b]]] !== classOf[node]) entry.retained += retained[b];
    stats.set(cls, entry);
  }
  return { file, total, stats };
}

function main() {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf('--top');
  const topN = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 30;
  if (!args.length) {
    process.stderr.write('usage: heap-top.js a.heapsnapshot [b.heapsnapshot ...] [--top N]\n');
    process.exit(2);
  }
  const results = args.map(analyse);
  const last = results[results.length - 1];
  const mb = (bytes) => (bytes / 1048576).toFixed(1).padStart(7);
  const names = [...last.stats.entries()].sort((a, b) => b[1].retained - a[1].retained).slice(0, topN).map(([name]) => name);
  process.stdout.write(`${results.map((r) => `${basename(r.file)}: ${mb(r.total)} MB reachable`).join('\n')}\n\n`);
  process.stdout.write(`${'class'.padEnd(40)}${results.map((_, i) => ` | #${i + 1} count    self MB  retained MB`).join('')}\n`);
  for (const name of names) {
    const cells = results.map((r) => {
      const s = r.stats.get(name) ?? { count: 0, self: 0, retained: 0 };
      return ` | ${String(s.count).padStart(9)} ${mb(s.self)}  ${mb(s.retained)}    `;
    });
    process.stdout.write(`${name.slice(0, 39).padEnd(40)}${cells.join('')}\n`);
  }
}

main();
