import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findBridgeSource, renderPythonSetup, setupPython } from "./python-command.js";

const repoPython = fileURLToPath(new URL("../../../python", import.meta.url));
const venvPython = `${repoPython}/.venv/bin/python`;

describe("snakepit python setup", () => {
  it("finds the bridge's source (the repository's python/ in the workspace)", () => {
    expect(findBridgeSource()).toBe(repoPython);
  });

  it.skipIf(!existsSync(venvPython))("leaves an interpreter alone when its bridge is the shipped one (no pip)", () => {
    const lines: string[] = [];
    const r = setupPython({ python: venvPython, log: (l) => lines.push(l) });
    expect(r).toMatchObject({ executable: venvPython, changed: false, createdVenv: false, discoveredFrom: repoPython.replace(/\/python$/, "") });
    expect(lines.filter((l) => l.includes("pip install"))).toEqual([]);
    const text = renderPythonSetup(r, "/");
    expect(text).toContain("nothing to do");
    expect(text).toContain(`python: { executable: "${venvPython}" }`);
    expect(text).toContain(`SNAKEPIT_PYTHON=${venvPython}`);
  });

  it("says what to pass when the interpreter does not exist", () => {
    expect(() => setupPython({ python: "/nonexistent/python3", log: () => {} })).toThrow(/no interpreter at '\/nonexistent\/python3'.*--python/);
  });
});
