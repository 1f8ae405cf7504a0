// Helper of idle.mjs: imports the modules named on the command line (resolved from apps/gateway, as the
// gateway resolves them), prints `ready`, then idles with one timer a second, as a daemon would.
// `--eld MS` also enables perf_hooks.monitorEventLoopDelay with that resolution (what prom-client's
// collectDefaultMetrics does, with 10 ms by default) to measure what that timer costs by itself.
// Usage: node hold.mjs [--eld MS] [MODULE...]
import { monitorEventLoopDelay } from 'node:perf_hooks';

const args = process.argv.slice(2);
if (args[0] === '--eld') {
  monitorEventLoopDelay({ resolution: Number(args[1]) }).enable();
  args.splice(0, 2);
}
for (const m of args) await import(m);
process.stdout.write('ready\n');
setInterval(() => {}, 1000);
