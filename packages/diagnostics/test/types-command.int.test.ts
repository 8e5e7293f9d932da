// `snakepit types`, run as a user runs it (`node dist/cli.js types ...`) against real
// Python workers: the fixture's generated file is current (the type tests in
// typed-client.types.ts check it), --check fails on a stale or missing file, writing,
// warnings for annotations with no schema, pydantic models, a worker that cannot start.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { fixturesPath, OWNER, OWNER_VAR, venvPython } from "./diag-helpers.js";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const here = fileURLToPath(new URL(".", import.meta.url));
const TYPED = "snakepit_fixtures.typed:TypedAdapter";
const tmp = mkdtempSync(join(tmpdir(), "snakepit-types-"));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function types(args: string[], cwd = here): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, "types", "--python", venvPython, ...args],
      { cwd, env: { ...process.env, PYTHONPATH: fixturesPath, [OWNER_VAR]: OWNER }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("snakepit types", () => {
  it("test/typed-tools.gen.ts is current (the type tests check what the generator prints now)", async () => {
    const r = await types(["--adapter", TYPED, "-o", "typed-tools.gen.ts", "--check"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("typed-tools.gen.ts is up to date\n");
    expect(r.code).toBe(0);
  });

  it("--check exits 1 on a stale file, says where it differs and how to regenerate", async () => {
    const stale = join(tmp, "stale.gen.ts");
    const current = readFileSync(join(here, "typed-tools.gen.ts"), "utf8");
    writeFileSync(stale, current.replace("a: number;", "a: string;").replace("typed-tools.gen.ts", "stale.gen.ts"));
    const r = await types(["--adapter", TYPED, "-o", stale, "--check"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^snakepit types: \S*stale\.gen\.ts is stale \(line \d+: the file has "  a: string;", the tools give "  a: number;"\); regenerate it with: snakepit types --adapter snakepit_fixtures\.typed:TypedAdapter -o \S*stale\.gen\.ts\n$/);
    expect(readFileSync(stale, "utf8")).toContain("a: string;"); // --check never writes
  });

  it("--check exits 1 when the file is missing, and 2 without --out", async () => {
    const missing = await types(["--adapter", TYPED, "-o", join(tmp, "none.gen.ts"), "--check"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/none\.gen\.ts does not exist; generate it with: snakepit types --adapter snakepit_fixtures\.typed:TypedAdapter -o /);
    const noOut = await types(["--adapter", TYPED, "--check"]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toBe("snakepit types: --check needs --out <file>: the file to compare\n");
  });

  it("-o writes the module (making its directory), and leaves an up-to-date one alone", async () => {
    const out = join(tmp, "nested", "dir", "tools.gen.ts");
    const first = await types(["--adapter", TYPED, "-o", out]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^wrote \S*tools\.gen\.ts\n$/);
    const written = readFileSync(out, "utf8");
    expect(written).toContain("//   snakepit types --adapter snakepit_fixtures.typed:TypedAdapter -o tools.gen.ts\n");
    expect(written).toContain("export interface Tools {");
    const again = await types(["--adapter", TYPED, "-o", out]);
    expect(again.stdout).toMatch(/^unchanged \S*tools\.gen\.ts\n$/);
    // Without -o it prints the same module (its header names no file).
    const printed = await types(["--adapter", TYPED]);
    expect(printed.stdout).toBe(written.replace(" -o tools.gen.ts\n", "\n"));
  });

  it("--name names the interface", async () => {
    const r = await types(["--adapter", TYPED, "--name", "FixtureTools"]);
    expect(r.stdout).toContain("export interface FixtureTools {");
    expect(r.stdout).toContain("//   snakepit types --adapter snakepit_fixtures.typed:TypedAdapter --name FixtureTools\n");
  });

  it("an annotation with no schema is unknown, with a warning naming the tool and the parameter", async () => {
    const r = await types(["--adapter", "snakepit_fixtures.typed:UntypedAdapter"]);
    expect(r.code).toBe(0);
    const warnings = [
      "tool 'opaque', parameter 'thing': snakepit_fixtures.typed.Opaque has no JSON Schema; typed as unknown",
      "tool 'opaque', return: snakepit_fixtures.typed.Opaque has no JSON Schema; typed as unknown",
    ];
    for (const w of warnings) {
      expect(r.stderr).toContain(`snakepit types: warning: ${w}\n`);
      expect(r.stdout).toContain(`//   ${w}\n`);
    }
    expect(r.stderr).toMatch(/warning: tool 'unresolved', parameter 'x': the annotation 'NoSuchName' could not be resolved \(NameError/);
    expect(r.stdout).toMatch(/export interface OpaqueArgs \{\n(?:.*\n)*? {2}thing: unknown;\n {2}count: number;\n\}/);
    expect(r.stdout).toContain("export type OpaqueResult = unknown;");
    expect(r.stdout).toMatch(/export interface PlainArgs \{\n {2}x: unknown;\n {2}y\?: unknown;\n\}/);
  });

  it("pydantic models print from pydantic's own schema", async () => {
    const r = await types(["--adapter", "snakepit_fixtures.typed_pydantic:PydanticAdapter"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/export interface Item \{\n {2}name: string;\n {2}\/\*\*\n {3}\* Price in euros\.\n {3}\*\/\n {2}price: number;\n {2}tags\?: string\[\];\n\}/);
    expect(r.stdout).toMatch(/export interface Order \{\n {2}items: Item\[\];\n {2}placed: string;\n\}/);
    expect(r.stdout).toContain("export type FirstResult = Item");
  });

  it("a worker that cannot start exits 2 and says why", async () => {
    const r = await types(["--adapter", "snakepit_fixtures.broken_import:BrokenAdapter"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ModuleNotFoundError: No module named 'snakepit_definitely_missing_module'");
    expect(r.stderr).toContain("(snakepit doctor --adapter snakepit_fixtures.broken_import:BrokenAdapter explains start-up problems)");
    expect(r.stdout).toBe("");
  });
});
