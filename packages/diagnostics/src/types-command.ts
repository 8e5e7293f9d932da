/**
 * `snakepit types`: start the adapter in one real worker, read its tools' schemas
 * (Describe) and write the TypeScript module for `pool.client<Tools>()`; `--check`
 * compares instead of writing and fails when the file is stale, so CI can diff it
 * like generated protobuf code.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, relative, resolve } from "node:path";
import { createPool, resolvePythonExecutable, type Logger } from "@snakepit/core";
import type { Command } from "commander";
import { generateToolTypes, type GeneratedTypes } from "./generate-types.js";

export interface ToolTypesOptions {
  /** `package.module:ClassName`. */
  adapter: string;
  /** The interpreter; default as the pool resolves it ($SNAKEPIT_PYTHON, the nearest venv, python3). */
  python?: string;
  /** The worker's working directory (its modules import from there). Default: this process's. */
  cwd?: string;
  /** Extra environment for the worker (PYTHONPATH, ...). */
  env?: Record<string, string>;
  /** The name of the interface that lists the tools. Default "Tools". */
  typeName?: string;
  /** The command that regenerates the file, for its header. */
  command?: string;
  /** Start-up limit for the worker. Default 30 000 ms. */
  startTimeoutMs?: number;
}

/** Start the adapter, describe its tools and print their TypeScript. */
export async function toolTypes(options: ToolTypesOptions): Promise<GeneratedTypes> {
  const executable = resolvePythonExecutable(options.python, options.cwd).path;
  const lines: string[] = [];
  const keep = (message: string) => void lines.push(message);
  const logger: Logger = { debug: keep, info: keep, warn: keep, error: keep };
  const pool = await createPool({
    size: 1,
    profile: "process",
    logger,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    python: {
      executable,
      adapter: options.adapter,
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
    },
  });
  try {
    const { tools } = await pool.describe();
    return await generateToolTypes(tools, {
      adapter: options.adapter,
      ...(options.command !== undefined ? { command: options.command } : {}),
      ...(options.typeName !== undefined ? { typeName: options.typeName } : {}),
    });
  } finally {
    await pool.close();
  }
}

/** Where `expected` and the file first differ, as "line N: ...", or undefined when they are the same. */
export function firstDifference(actual: string, expected: string): string | undefined {
  if (actual === expected) return undefined;
  const a = actual.split("\n");
  const e = expected.split("\n");
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i]) {
      const show = (s: string | undefined) => (s === undefined ? "(end of file)" : JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s));
      return `line ${i + 1}: the file has ${show(a[i])}, the tools give ${show(e[i])}`;
    }
  }
  return "they differ";
}

interface TypesCliOptions {
  adapter: string;
  python?: string;
  out?: string;
  check?: boolean;
  name?: string;
  cwd?: string;
}

export function registerTypesCommand(program: Command): void {
  program
    .command("types")
    .description("generate TypeScript types for an adapter's tools, for pool.client<Tools>() (from their Python type hints)")
    .requiredOption("--adapter <module:Class>", "the adapter whose tools to type")
    .option("--python <path>", "the interpreter (default: $SNAKEPIT_PYTHON, the nearest venv, python3)")
    .option("-o, --out <file>", "write the module here (default: print it)")
    .option("--check", "do not write: exit 1 when --out is missing or stale (for CI)")
    .option("--name <Type>", "the name of the interface that lists the tools", "Tools")
    .option("--cwd <dir>", "the worker's working directory (its modules import from there)")
    .action(async (opts: TypesCliOptions) => {
      const fail = (message: string, code: number) => {
        process.stderr.write(`snakepit types: ${message}\n`);
        process.exitCode = code;
      };
      if (opts.check && opts.out === undefined) return fail("--check needs --out <file>: the file to compare", 2);
      const out = opts.out === undefined ? undefined : resolve(opts.out);
      const shown = out === undefined ? undefined : relative(process.cwd(), out) || out;
      // The header names the file by its base name only: the same wherever the command runs.
      const command = ["snakepit types", "--adapter", opts.adapter, ...(opts.name && opts.name !== "Tools" ? ["--name", opts.name] : []), ...(out ? ["-o", basename(out)] : [])].join(" ");
      const rerun = command.replace(/ -o \S+$/, shown ? ` -o ${shown}` : "");
      let generated: GeneratedTypes;
      try {
        generated = await toolTypes({
          adapter: opts.adapter,
          command,
          ...(opts.python !== undefined ? { python: opts.python } : {}),
          ...(opts.name !== undefined ? { typeName: opts.name } : {}),
          ...(opts.cwd !== undefined ? { cwd: resolve(opts.cwd) } : {}),
        });
      } catch (err) {
        return fail(`${(err as Error).message}\n(snakepit doctor --adapter ${opts.adapter} explains start-up problems)`, 2);
      }
      for (const w of generated.warnings) process.stderr.write(`snakepit types: warning: ${w}\n`);
      if (out === undefined) {
        process.stdout.write(generated.source);
        return;
      }
      if (opts.check) {
        if (!existsSync(out)) return fail(`${shown} does not exist; generate it with: ${rerun}`, 1);
        const diff = firstDifference(readFileSync(out, "utf8"), generated.source);
        if (diff !== undefined) return fail(`${shown} is stale (${diff}); regenerate it with: ${rerun}`, 1);
        process.stdout.write(`${shown} is up to date\n`);
        return;
      }
      mkdirSync(dirname(out), { recursive: true });
      const before = existsSync(out) ? readFileSync(out, "utf8") : undefined;
      if (before !== generated.source) writeFileSync(out, generated.source);
      process.stdout.write(`${before === generated.source ? "unchanged" : "wrote"} ${shown}\n`);
    });
}
