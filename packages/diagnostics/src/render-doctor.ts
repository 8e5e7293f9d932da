/** The doctor report as lines: one per check, with its details and fix. */
import type { CheckStatus, DoctorReport } from "./doctor.js";

const MARK: Record<CheckStatus, string> = { ok: "ok  ", info: "info", warn: "WARN", fail: "FAIL" };

export function renderDoctor(report: DoctorReport): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`[${MARK[c.status]}] ${c.id}: ${c.summary}`);
    for (const d of c.details ?? []) lines.push(`         ${d}`);
    if (c.fix && c.status !== "ok") lines.push(`         fix: ${c.fix}`);
  }
  const failed = report.checks.filter((c) => c.status === "fail").length;
  const warned = report.checks.filter((c) => c.status === "warn").length;
  lines.push("", report.ok ? `all good${warned ? ` (${warned} warning${warned === 1 ? "" : "s"})` : ""}` : `${failed} problem${failed === 1 ? "" : "s"} to fix`);
  return lines.join("\n");
}
