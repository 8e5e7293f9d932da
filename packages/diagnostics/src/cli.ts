#!/usr/bin/env node
/**
 * The `snakepit` CLI: `inspect` (live pools through serveDiagnostics), `doctor`
 * (is this Python set-up right?), `diagnose scaling` (which pool shape?) and
 * `python setup` (install the bridge into an interpreter or a new venv).
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import { DEFAULT_SCALING_CONFIGS, diagnoseScaling, type ScalingConfig } from "./diagnose-scaling.js";
import { runDoctor } from "./doctor.js";
import { registerPythonCommand } from "./python-command.js";
import { recommend } from "./recommend.js";
import { renderDoctor } from "./render-doctor.js";
import { renderScaling } from "./render-scaling.js";
import { renderSnapshot } from "./render-snapshot.js";
import { registerTypesCommand } from "./types-command.js";
import type { DiagnosticsSnapshot } from "./snapshot.js";

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number of seconds");
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('expected a JSON object of named arguments, e.g. \'{"a": 1}\'');
  }
  return parsed as Record<string, unknown>;
}

/** `process:1,process:2,thread:1x8` */
function configList(value: string): ScalingConfig[] {
  return value.split(",").map((part) => {
    const m = /^(process|thread):(\d+)(?:x(\d+))?$/.exec(part.trim());
    if (!m || (m[1] === "process" && m[3] !== undefined)) {
      throw new InvalidArgumentError(`'${part}' is not process:N or thread:NxT (e.g. process:2,thread:1x8)`);
    }
    const size = Number(m[2]);
    if (size < 1) throw new InvalidArgumentError(`'${part}': size must be at least 1`);
    return m[1] === "thread" ? { profile: "thread", size, threadsPerWorker: Number(m[3] ?? 4) } : { profile: "process", size };
  });
}

function fail(message: string, code = 1): void {
  process.stderr.write(`snakepit: ${message}\n`);
  process.exitCode = code;
}

async function fetchSnapshot(url: string): Promise<DiagnosticsSnapshot> {
  const endpoint = `${url.replace(/\/+$/, "")}/snapshot`;
  let res: Response;
  try {
    res = await fetch(endpoint, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new Error(`cannot reach ${endpoint} (${cause}); is serveDiagnostics() running there?`);
  }
  if (!res.ok) throw new Error(`${endpoint} answered ${res.status} ${res.statusText}`);
  return (await res.json()) as DiagnosticsSnapshot;
}

const program = new Command("snakepit")
  .description("Inspect and diagnose Snakepit pools (Node.js calling Python tools).")
  .version(version)
  .showHelpAfterError();

program
  .command("inspect")
  .description("show the live pools of a process that serves diagnostics (serveDiagnostics)")
  .requiredOption("--url <url>", "where serveDiagnostics listens, e.g. http://127.0.0.1:9464")
  .option("--json", "print the snapshot as JSON (one line per refresh with --watch)")
  .option("--watch [seconds]", "refresh every few seconds (default 2) until Ctrl-C", seconds)
  .option("--count <n>", "with --watch: stop after n refreshes", positiveInt)
  .action(async (opts: { url: string; json?: boolean; watch?: number | true; count?: number }) => {
    const interval = opts.watch === undefined ? undefined : opts.watch === true ? 2 : opts.watch;
    let stop = false;
    const onSigint = () => {
      stop = true;
    };
    process.once("SIGINT", onSigint);
    try {
      for (let n = 1; ; n++) {
        const snapshot = await fetchSnapshot(opts.url);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(snapshot)}\n`);
        } else {
          const text = renderSnapshot(snapshot, await recommend(snapshot));
          const clear = interval !== undefined && process.stdout.isTTY ? "\x1b[2J\x1b[H" : "";
          process.stdout.write(`${clear}${text}\n${interval !== undefined ? `\n(refreshing every ${interval} s; Ctrl-C to stop)\n` : ""}`);
        }
        if (interval === undefined || stop || (opts.count !== undefined && n >= opts.count)) break;
        await sleep(interval * 1000);
        if (stop) break;
      }
    } catch (err) {
      fail((err as Error).message, 2);
    } finally {
      process.off("SIGINT", onSigint);
    }
  });

program
  .command("doctor")
  .description("check the Python set-up: interpreter, packages, GIL, the adapter and its tools, thread-safety")
  .option("--python <path>", "the interpreter (default: $SNAKEPIT_PYTHON, the nearest venv, python3)")
  .option("--adapter <module:Class>", "start this adapter in a real worker and list its tools")
  .option("--json", "print the report as JSON")
  .action(async (opts: { python?: string; adapter?: string; json?: boolean }) => {
    const report = await runDoctor({
      ...(opts.python !== undefined ? { python: opts.python } : {}),
      ...(opts.adapter !== undefined ? { adapter: opts.adapter } : {}),
    });
    process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : renderDoctor(report)}\n`);
    if (!report.ok) process.exitCode = 1;
  });

const diagnose = program.command("diagnose").description("measure and advise");

diagnose
  .command("scaling")
  .description("measure a tool's throughput and latency at several pool shapes and recommend one")
  .requiredOption("--adapter <module:Class>", "the adapter")
  .requiredOption("--tool <name>", "the tool to call")
  .option("--args <json>", "the tool's arguments as a JSON object", jsonObject, {})
  .option("--python <path>", "the interpreter")
  .option("--duration <seconds>", "measuring time per configuration", seconds, 1.5)
  .option("--configs <list>", "configurations, e.g. process:1,process:2,process:4,thread:1x4,thread:1x8", configList)
  .option("--allow-unsafe-adapters", "measure thread configurations even if the adapter is not declared thread-safe")
  .option("--json", "print the report as JSON")
  .action(
    async (opts: {
      adapter: string;
      tool: string;
      args: Record<string, unknown>;
      python?: string;
      duration: number;
      configs?: ScalingConfig[];
      allowUnsafeAdapters?: boolean;
      json?: boolean;
    }) => {
      const configs = opts.configs ?? DEFAULT_SCALING_CONFIGS;
      const bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: "{bar} {percentage}% | {label} {phase}",
          noTTYOutput: true,
          notTTYSchedule: 1000,
          clearOnComplete: false,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(configs.length * 100, 0, { label: "", phase: "" });
      try {
        const report = await diagnoseScaling({
          adapter: opts.adapter,
          tool: opts.tool,
          args: opts.args,
          durationMs: opts.duration * 1000,
          configs,
          ...(opts.python !== undefined ? { python: opts.python } : {}),
          ...(opts.allowUnsafeAdapters ? { allowUnsafeAdapters: true } : {}),
          onProgress: (p) => bar.update(Math.round((p.index + p.fraction) * 100), { label: p.label, phase: p.phase }),
        });
        bar.update(configs.length * 100, { label: "", phase: "done" });
        bar.stop();
        process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : renderScaling(report)}\n`);
        if (!report.recommended) process.exitCode = 1;
      } catch (err) {
        bar.stop();
        fail(`diagnose scaling: ${(err as Error).message}`);
      }
    },
  );

registerPythonCommand(program);

registerTypesCommand(program);

await program.parseAsync(process.argv);
