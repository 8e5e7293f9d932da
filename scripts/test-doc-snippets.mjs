#!/usr/bin/env node
// Docs that run: extracts every ts/typescript/js/javascript/mjs code block from the
// READMEs (root, packages, examples) and docs/**/*.md, then
//   1. refuses `await using` in any of them (a SyntaxError in .mjs on Node 20 and 22:
//      snippets use try/finally);
//   2. type-checks all of them together with tsc (strict, skipLibCheck off), each as
//      its own ES module against the built packages (packages/*/dist);
//   3. runs, on this Node, those whose adapters exist: the bridge's own
//      (snakepit_bridge.*) or one the same page defines in a ```python block whose
//      first line names its file (`# my_app/tools.py`), with the workers on
//      python/.venv.
// A block whose info string has `snippet-skip` (```ts snippet-skip) is a fragment: it
// is counted as skipped and neither checked nor run. Prints ok/FAIL per check and
// `doc snippets: N passed, N failed, N skipped`; writes test-results/doc-snippets.json.
// Needs `pnpm run build` first.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const results = { passed: 0, failed: 0, skipped: 0, failures: [] };
const LANGS = new Set(["ts", "typescript", "js", "javascript", "mjs"]);
const RUN_TIMEOUT_MS = 60_000;

function check(label, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${label}${!ok && detail ? `\n${detail}` : ""}`);
  results[ok ? "passed" : "failed"]++;
  if (!ok) results.failures.push(label);
}

function markdownFiles() {
  const out = [join(root, "README.md")];
  for (const dir of ["packages", "examples"]) {
    for (const name of readdirSync(join(root, dir))) {
      const f = join(root, dir, name, "README.md");
      if (existsSync(f)) out.push(f);
    }
  }
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(".md")) out.push(join(d, e.name));
    }
  };
  walk(join(root, "docs"));
  return out;
}

/** Fenced blocks: { lang, info, code, line }. */
function blocks(text) {
  const out = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang, info] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j].startsWith(`${indent}${fence}`); j++) body.push(lines[j].slice(indent.length));
    out.push({ lang: lang.toLowerCase(), info: info.trim(), code: body.join("\n"), line: i + 1 });
    i = j;
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), "doc-snippets-"));
try {
  // node_modules for the snippets: our packages (built) and what their examples import.
  const nm = join(work, "node_modules");
  mkdirSync(join(nm, "@snakepit"), { recursive: true });
  for (const p of readdirSync(join(root, "packages"))) symlinkSync(join(root, "packages", p), join(nm, "@snakepit", p));
  const otelModules = join(root, "packages", "otel", "node_modules", "@opentelemetry");
  if (existsSync(otelModules)) symlinkSync(otelModules, join(nm, "@opentelemetry"));
  for (const types of ["@types"]) symlinkSync(join(root, "node_modules", types), join(nm, types));

  const snippets = [];
  for (const file of markdownFiles()) {
    const rel = relative(root, file);
    const all = blocks(readFileSync(file, "utf8"));
    const pageDir = join(work, rel.replace(/[/.]/g, "_"));
    const pythonFiles = [];
    for (const b of all) {
      const named = /^#\s*([\w/]+\.py)\s*$/.exec(b.code.split("\n")[0] ?? "");
      if (b.lang === "python" && named) {
        mkdirSync(join(pageDir, dirname(named[1])), { recursive: true });
        writeFileSync(join(pageDir, named[1]), b.code);
        pythonFiles.push(named[1]);
      }
    }
    let n = 0;
    for (const b of all) {
      if (!LANGS.has(b.lang)) continue;
      const where = `${rel}:${b.line}`;
      if (/\bsnippet-skip\b/.test(b.info)) {
        console.log(`skip ${where} (snippet-skip)`);
        results.skipped++;
        continue;
      }
      const usesAwaitUsing = /\bawait\s+using\b/.test(b.code);
      check(`${where}: no \`await using\` (Node 20 and 22 cannot run it in .mjs)`, !usesAwaitUsing);
      mkdirSync(pageDir, { recursive: true });
      for (const py of pythonFiles) {
        const pkg = dirname(py);
        if (pkg !== "." && !existsSync(join(pageDir, pkg, "__init__.py"))) writeFileSync(join(pageDir, pkg, "__init__.py"), "");
      }
      const base = `snippet-${++n}`;
      const ts = b.lang === "ts" || b.lang === "typescript";
      const file = join(pageDir, `${base}.${ts ? "mts" : "mjs"}`);
      // `export {}` makes each snippet a module of its own (top-level await, no clashes).
      writeFileSync(file, `${b.code}\nexport {};\n`);
      const adapters = [...b.code.matchAll(/adapter:\s*"([\w.]+):\w+"/g)].map((m) => m[1]);
      const defined = (mod) => mod.startsWith("snakepit_bridge.") || pythonFiles.includes(`${mod.replace(/\./g, "/")}.py`);
      const topLevelRun = /^(const|let|await|for|try|console)\b/m.test(b.code);
      snippets.push({ where, file, ts, pageDir, runnable: adapters.length > 0 && adapters.every(defined) && topLevelRun && !usesAwaitUsing });
    }
  }

  // 2. One tsc run over every snippet.
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "es2022",
        module: "nodenext",
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        allowJs: true,
        checkJs: true,
        types: ["node"],
        noUnusedLocals: false,
      },
      include: ["**/*.mts", "**/*.mjs"],
      exclude: ["node_modules"],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(work, "tsconfig.json")], {
    cwd: work,
    encoding: "utf8",
  });
  const errors = new Map();
  for (const line of tsc.stdout.split("\n")) {
    const m = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line);
    if (!m) continue;
    const abs = join(work, m[1]);
    errors.set(abs, [...(errors.get(abs) ?? []), `  line ${m[2]}: ${m[4]}`]);
  }
  const stray = tsc.status !== 0 && errors.size === 0 ? tsc.stdout + tsc.stderr : "";
  for (const s of snippets) check(`${s.where}: type-checks (tsc, strict, skipLibCheck off)`, !errors.has(s.file) && !stray, (errors.get(s.file) ?? [stray]).join("\n"));

  // 3. Run the complete ones. TypeScript snippets are transpiled (types removed) first.
  const ts = await import(join(root, "node_modules", "typescript", "lib", "typescript.js")).then((m) => m.default ?? m);
  const python = join(root, "python", ".venv", "bin", "python");
  for (const s of snippets.filter((x) => x.runnable)) {
    let target = s.file;
    if (s.ts) {
      target = s.file.replace(/\.mts$/, ".run.mjs");
      const out = ts.transpileModule(readFileSync(s.file, "utf8"), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
      writeFileSync(target, out.outputText);
    }
    const r = spawnSync(process.execPath, [target], {
      cwd: s.pageDir,
      encoding: "utf8",
      timeout: RUN_TIMEOUT_MS,
      killSignal: "SIGKILL",
      env: { ...process.env, SNAKEPIT_PYTHON: python, PYTHONPATH: "" },
    });
    check(`${s.where}: runs on Node ${process.versions.node}`, r.status === 0, `${r.stdout}${r.stderr}`.trim().split("\n").slice(-20).join("\n"));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

mkdirSync(join(root, "test-results"), { recursive: true });
writeFileSync(join(root, "test-results", "doc-snippets.json"), `${JSON.stringify(results)}\n`);
console.log(`doc snippets: ${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
process.exit(results.failed === 0 ? 0 : 1);
