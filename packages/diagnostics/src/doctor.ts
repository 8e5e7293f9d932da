/**
 * `runDoctor()`: checks a Python set-up for Snakepit, each problem with its fix.
 * The interpreter, the bridge's packages, free-threading and the GIL, the adapter
 * (a real one-worker pool started with it, its tools listed), and compat's
 * thread-safety report.
 */
import { createPool, resolvePythonExecutable, type Logger, type PoolDescription } from "@snakepit/core";
import { loadCompat, type CompatModule } from "./compat-loader.js";
import { pythonFacts, PythonProbeError, type PythonFacts } from "./python-facts.js";

export type CheckStatus = "ok" | "info" | "warn" | "fail";

export interface DoctorCheck {
  /** Stable id: `interpreter`, `package:protobuf`, `gil`, `adapter`, `compat`, ... */
  readonly id: string;
  readonly status: CheckStatus;
  /** What was found, one line. */
  readonly summary: string;
  /** More lines (tools, warnings), when useful. */
  readonly details?: readonly string[];
  /** What to do, for warn and fail. */
  readonly fix?: string;
}

export interface DoctorReport {
  /** False when any check failed: Snakepit would not work as configured. */
  readonly ok: boolean;
  readonly python: { readonly executable: string; readonly source: string };
  readonly checks: readonly DoctorCheck[];
  /** The adapter's tools, when it started. */
  readonly tools?: readonly string[];
}

export interface DoctorOptions {
  /** The interpreter; default as the pool resolves it ($SNAKEPIT_PYTHON, the nearest venv, python3). */
  python?: string;
  /** `package.module:ClassName`: start it in a real worker and list its tools. */
  adapter?: string;
  /** Working directory for the worker (default: this process's). */
  cwd?: string;
  /** Extra environment for the worker (PYTHONPATH, ...). */
  env?: Record<string, string>;
  /** Start-up limit for the adapter's worker. Default 30 000 ms. */
  startTimeoutMs?: number;
}

/** Distributions the worker needs, and the optional one that gives Python-side spans. */
const REQUIRED = ["snakepit-bridge", "protobuf"] as const;
const OPTIONAL = ["opentelemetry-api"] as const;

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const resolved = resolvePythonExecutable(options.python, options.cwd);
  const python = { executable: resolved.path, source: resolved.source };
  const checks: DoctorCheck[] = [];
  const finish = (tools?: readonly string[]): DoctorReport => ({
    ok: !checks.some((c) => c.status === "fail"),
    python,
    checks,
    ...(tools ? { tools } : {}),
  });

  const compat = await loadCompat();
  const matrix = compat ? compat.COMPAT_MATRIX.filter((e) => e.stdlib !== true).map((e) => e.name) : [];

  // 1. The interpreter.
  let facts: PythonFacts;
  try {
    facts = await pythonFacts(resolved.path, [...REQUIRED, ...OPTIONAL], compat, matrix);
  } catch (err) {
    const notFound = err instanceof PythonProbeError && err.notFound;
    checks.push({
      id: "interpreter",
      status: "fail",
      summary: `${resolved.path} (${sourceText(resolved.source)}) ${notFound ? "cannot be run" : "failed to run"}`,
      details: [err instanceof Error ? err.message.split("\n")[0]! : String(err)],
      fix: notFound
        ? "Install Python 3.10+ and pass its path with --python, set SNAKEPIT_PYTHON, or create a .venv in the project."
        : "Run the interpreter by hand to see why it fails, or pass another one with --python.",
    });
    return finish();
  }
  const [major = 0, minor = 0] = facts.version.split(".").map(Number);
  const tooOld = major < 3 || (major === 3 && minor < 10);
  checks.push({
    id: "interpreter",
    status: tooOld ? "fail" : "ok",
    summary: `${facts.executable} (${sourceText(resolved.source)}): ${facts.implementation} ${facts.version}`,
    ...(tooOld ? { fix: "snakepit_bridge needs Python 3.10 or newer: point --python (or SNAKEPIT_PYTHON) at one." } : {}),
  });

  // 2. Packages.
  const pip = `${facts.executable} -m pip install`;
  const setup = `npx snakepit python setup --python ${facts.executable}`;
  for (const name of REQUIRED) {
    const version = facts.packages[name] ?? null;
    if (version === null) {
      checks.push({
        id: `package:${name}`,
        status: "fail",
        summary: `${name} is not installed`,
        fix: name === "snakepit-bridge" ? `${setup} (it installs the bridge shipped in @snakepit/core, with protobuf, its only dependency)` : `${setup} (or ${pip} ${name})`,
      });
    } else if (name === "protobuf" && Number(version.split(".")[0]) < 5) {
      checks.push({ id: `package:${name}`, status: "fail", summary: `protobuf ${version} is too old for the generated code`, fix: `${pip} -U 'protobuf>=7,<8'` });
    } else {
      checks.push({ id: `package:${name}`, status: "ok", summary: `${name} ${version}` });
    }
  }
  const otel = facts.packages["opentelemetry-api"] ?? null;
  checks.push(
    otel
      ? { id: "package:opentelemetry-api", status: "ok", summary: `opentelemetry-api ${otel}: tool calls get server spans in Python` }
      : {
          id: "package:opentelemetry-api",
          status: "info",
          summary: "opentelemetry-api is not installed: no Python-side spans (optional)",
          fix: `${pip} 'snakepit-bridge[otel]' to continue @snakepit/otel traces into your tools`,
        },
  );

  // 3. Free-threading and the GIL.
  if (facts.freeThreaded && facts.gilEnabled) {
    checks.push({
      id: "gil",
      status: "warn",
      summary: "free-threaded build, but the GIL is enabled (PYTHON_GIL=1 or -X gil=1?)",
      fix: "Unset PYTHON_GIL / -X gil to let threads run Python code in parallel.",
    });
  } else {
    checks.push({
      id: "gil",
      status: "ok",
      summary: facts.freeThreaded ? "free-threaded build, GIL disabled: threads run Python code in parallel" : "GIL build (not free-threaded): threads take turns running Python code",
    });
  }

  // 4. The adapter, in a real worker.
  let tools: string[] | undefined;
  let description: PoolDescription | undefined;
  if (options.adapter !== undefined) {
    if (facts.packages["snakepit-bridge"] == null) {
      checks.push({ id: "adapter", status: "fail", summary: `${options.adapter} not tried: snakepit-bridge is missing`, fix: setup });
    } else {
      const result = await tryAdapter(facts.executable, options);
      checks.push(result.check);
      description = result.description;
      tools = description?.tools.map((t) => t.name);
    }
  }

  // 5. compat's thread-safety report.
  checks.push(compatCheck(compat, facts, description));
  return finish(tools);
}

function sourceText(source: string): string {
  switch (source) {
    case "options":
      return "from --python";
    case "SNAKEPIT_PYTHON":
      return "from $SNAKEPIT_PYTHON";
    case "venv":
      return "the project's venv";
    default:
      return "python3 on PATH";
  }
}

async function tryAdapter(executable: string, options: DoctorOptions): Promise<{ check: DoctorCheck; description?: PoolDescription }> {
  const adapter = options.adapter!;
  const lines: string[] = [];
  const keep = (message: string) => void lines.push(message);
  const logger: Logger = { debug: keep, info: keep, warn: keep, error: keep };
  let pool;
  try {
    pool = await createPool({
      size: 1,
      profile: "process",
      logger,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      python: {
        executable,
        adapter,
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        ...(options.env !== undefined ? { env: options.env } : {}),
      },
    });
  } catch (err) {
    return { check: adapterFailure(adapter, executable, err) };
  }
  try {
    const description = await pool.describe();
    const tools = description.tools;
    return {
      description,
      check: {
        id: "adapter",
        status: tools.length ? "ok" : "warn",
        summary: `${adapter} started (pid ${description.worker.pid}); ${tools.length} tool${tools.length === 1 ? "" : "s"}; ${description.worker.adapterThreadSafe ? "thread-safe" : "not declared thread-safe"}`,
        details: tools.map((t) => `${t.name}(${t.params.map(paramText).join(", ")})${t.streaming ? " [stream]" : ""}${t.async ? " [async]" : ""}`),
        ...(tools.length ? {} : { fix: "Mark the methods to expose with @tool." }),
      },
    };
  } catch (err) {
    return { check: { id: "adapter", status: "fail", summary: `${adapter} started but could not describe its tools: ${String(err)}`, fix: "Run the worker by hand (python -m snakepit_bridge --adapter ...) to see the error." } };
  } finally {
    await pool.close();
  }
}

function paramText(p: PoolDescription["tools"][number]["params"][number]): string {
  const typed = p.type ? `${p.name}: ${p.type}` : p.name;
  if (p.required) return typed;
  return "default" in p ? `${typed} = ${JSON.stringify(p.default)}` : `${typed} = ...`;
}

/** Turn a start failure into what happened and what to do. */
export function adapterFailure(adapter: string, executable: string, err: unknown): DoctorCheck {
  const e = err as { message?: string; pythonType?: string; code?: string };
  const message = e.message ?? String(err);
  const headline = message.split("\n")[0]!;
  const stage = /failed to start \(([^)]+)\)/.exec(headline)?.[1];
  const pythonError = /: ([A-Za-z_.]+Error|[A-Za-z_.]+Exception): (.*)$/.exec(headline);
  const what = pythonError ? `${pythonError[1]}: ${pythonError[2]}` : headline;
  const module = adapter.split(":")[0] ?? adapter;
  const cls = adapter.split(":")[1] ?? "";
  const missing = /No module named '([^']+)'/.exec(message)?.[1];
  let fix: string;
  if (missing !== undefined && (module === missing || module.startsWith(`${missing}.`))) {
    fix = `Python cannot find the adapter's module '${missing}': add the directory that contains it to PYTHONPATH (now ${process.env["PYTHONPATH"] ? `'${process.env["PYTHONPATH"]}'` : "unset"}), run from that directory, or install its package into ${executable}.`;
  } else if (missing !== undefined) {
    const top = missing.split(".")[0];
    fix = `The adapter imports '${missing}', which is not installed in ${executable}: ${executable} -m pip install ${top} (the distribution name may differ), or fix the import.`;
  } else if (/has no attribute/.test(what)) {
    fix = `Module '${module}' has no class '${cls}': check the name after ':' in --adapter.`;
  } else if (/not a subclass of snakepit_bridge.Adapter/.test(message)) {
    fix = `Declare it as 'class ${cls}(Adapter)' (from snakepit_bridge import Adapter).`;
  } else if (stage === "setup") {
    fix = "The adapter's setup() raised: fix the error above (a missing file, model or credential?).";
  } else if (/did not|timed out|startTimeoutMs/i.test(message)) {
    fix = "The worker did not become ready in time: a slow import or setup()? Raise startTimeoutMs, or make setup() faster.";
  } else {
    fix = "Run the worker by hand to see the whole error: python -m snakepit_bridge --adapter " + adapter;
  }
  return {
    id: "adapter",
    status: "fail",
    summary: `${adapter} failed to start${stage ? ` (${stage})` : ""}: ${what}`,
    details: message.split("\n").slice(1).filter((l) => l.trim() && !/^--- .* ---$/.test(l)).slice(-8),
    fix,
  };
}

function compatCheck(compat: CompatModule | undefined, facts: PythonFacts, description: PoolDescription | undefined): DoctorCheck {
  if (!compat || !facts.probe) {
    return {
      id: "compat",
      status: "info",
      summary: "thread-safety report skipped: @snakepit/compat is not installed",
      fix: "Install @snakepit/compat to check your libraries against the thread-profile matrix.",
    };
  }
  const installed = Object.fromEntries(Object.entries(facts.probe.libraries).filter(([name]) => compat.lookupLibrary(name) !== undefined));
  const report = compat.checkCompatibility({ profile: "thread", probe: facts.probe, libraries: installed });
  const rec = compat.recommendProfile({ probe: facts.probe, libraries: installed });
  const seen = new Set<string>();
  const found = Object.entries(installed).filter(([name, v]) => {
    const row = compat.lookupLibrary(name)?.name ?? name;
    if (v === null || seen.has(row)) return false;
    seen.add(row);
    return true;
  });
  const details = [
    `matrix libraries installed: ${found.length ? found.map(([n, v]) => `${n} ${v}`).join(", ") : "none"}`,
    ...report.warnings.map((w) => `${w.code} ${w.library}${w.installedVersion ? ` ${w.installedVersion}` : ""}: ${w.workaround}`),
    `recommended profile without knowing the workload: ${rec.profile} (${rec.reasons[0] ?? ""})`,
  ];
  const unsafeAdapter = description !== undefined && !description.worker.adapterThreadSafe;
  if (unsafeAdapter) details.push("the adapter is not declared thread-safe: the thread profile needs ThreadSafeAdapter (or allowUnsafeAdapters)");
  if (!report.ok) {
    return {
      id: "compat",
      status: "warn",
      summary: "thread profile not advisable: installed libraries are unsafe on threads",
      details,
      fix: "Use the process profile (the default), or upgrade/replace the libraries named above.",
    };
  }
  return {
    id: "compat",
    status: "ok",
    summary: `thread profile: no installed library is known to be unsafe on threads${unsafeAdapter ? " (but the adapter is not declared thread-safe)" : ""}`,
    details,
  };
}
