// What a server process costs, read from outside it through /proc (no bench code in the server):
// CPU time (utime + stime of all its threads, bcrypt's pool included) and resident memory.
const { readFileSync, writeFileSync } = require('node:fs');
const { execSync } = require('node:child_process');

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
} catch {
  /* 100 is the Linux default */
}

/** CPU seconds used so far by the process (all threads). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond; // utime, stime (fields 14, 15)
}

function statusKb(pid, field) {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) : 0;
}

/**
 * Watches one process during a scenario: resets its peak-RSS mark (clear_refs 5) when the kernel
 * allows, polls VmRSS every 100 ms, and returns CPU seconds used and the peak RSS seen (MB).
 */
function watch(pid) {
  let resetOk = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    resetOk = false;
  }
  const cpuStart = cpuSeconds(pid);
  let peakKb = statusKb(pid, 'VmRSS');
  const timer = setInterval(() => {
    try {
      peakKb = Math.max(peakKb, statusKb(pid, 'VmRSS'));
    } catch {
      /* the process is gone; stop() reports what was seen */
    }
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      const cpu = cpuSeconds(pid) - cpuStart;
      const rss = statusKb(pid, 'VmRSS');
      const hwm = resetOk ? statusKb(pid, 'VmHWM') : 0;
      return { cpuSeconds: cpu, peakRssMb: Math.max(peakKb, rss, hwm) / 1024, rssMb: rss / 1024 };
    },
  };
}

function machine() {
  const os = require('node:os');
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const memKb = Number(readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 0);
  return {
    nproc: os.availableParallelism(),
    cpuModel: model,
    memoryGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

module.exports = { cpuSeconds, watch, machine, ticksPerSecond };
