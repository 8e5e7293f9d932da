/**
 * deploy/: the Kubernetes manifests validate against Kubernetes' schemas offline
 * (kubernetes-validate --strict), and their timings fit together.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const deploy = fileURLToPath(new URL("../../../deploy/", import.meta.url));
const validateScript = `${deploy}validate.mjs`;
const workers = readFileSync(`${deploy}kubernetes/workers.yaml`, "utf8");
const dockerfile = readFileSync(`${deploy}Dockerfile`, "utf8");

const { findValidator } = (await import(validateScript)) as { findValidator(): string | undefined };
let validator = findValidator();
if (!validator && process.env["CI"] === "true") {
  // CI installs what it needs from the project's own files: kubernetes-validate into deploy/.venv (PyPI, once).
  spawnSync(process.execPath, [validateScript, "--install"], { stdio: "inherit", timeout: 300_000 });
  validator = findValidator();
  if (!validator) throw new Error("kubernetes-validate is missing in CI and `node deploy/validate.mjs --install` did not install it");
}
if (!validator) console.warn("\n*** SKIPPING the schema check of deploy/kubernetes: run `node deploy/validate.mjs --install` ***\n");

describe("deploy/", () => {
  it.skipIf(!validator)("the manifests pass kubernetes-validate --strict", () => {
    const r = spawnSync(process.execPath, [validateScript], { encoding: "utf8" });
    expect(r.stdout + r.stderr).not.toMatch(/ERROR|did not validate/);
    expect(r.status).toBe(0);
  });

  it("gives the drain time to finish: terminationGracePeriodSeconds exceeds preStop plus --grace-ms", () => {
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(workers)?.[1]);
    const drainMs = Number(/- --grace-ms\s+- "(\d+)"/.exec(workers)?.[1]);
    const preStop = Number(/command: \["sleep", "(\d+)"\]/.exec(workers)?.[1] ?? 0);
    expect(drainMs).toBeGreaterThan(0);
    expect(grace * 1000).toBeGreaterThan(preStop * 1000 + drainMs);
  });

  it("is a headless Service with a readiness probe on /healthz and a PodDisruptionBudget", () => {
    expect(workers).toMatch(/kind: Service[\s\S]*clusterIP: None/);
    expect(workers).toMatch(/readinessProbe:\s+httpGet:\s+path: \/healthz/);
    expect(workers).toMatch(/kind: PodDisruptionBudget/);
  });

  it("builds a worker image that serves with the standard library (no grpcio)", () => {
    expect(dockerfile).toMatch(/python -m snakepit_bridge serve/);
    expect(dockerfile).not.toMatch(/pip install[^\n]*grpc/i);
    expect(dockerfile).toMatch(/^USER 10001$/m);
  });
});
