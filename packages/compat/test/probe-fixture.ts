/** A PythonProbe for unit tests: a plain CPython 3.13 GIL build, with overrides. */
import type { PythonProbe } from "../src/python-probe.js";

export function probe(overrides: Partial<PythonProbe> = {}): PythonProbe {
  return {
    executable: "python3",
    version: "3.13.0",
    versionInfo: { major: 3, minor: 13, micro: 0, releaseLevel: "final" },
    implementation: "CPython",
    freeThreaded: false,
    gilEnabled: true,
    platform: "linux",
    machine: "x86_64",
    libraries: {},
    ...overrides,
  };
}
