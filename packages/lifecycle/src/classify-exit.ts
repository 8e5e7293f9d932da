/**
 * What a worker's end says about why it ended. Node reports either an exit code
 * or a signal name; a wrapper script (a shell that does not exec) turns a signal
 * into the exit code 128 + N, which is read back as that signal.
 */
import { constants } from "node:os";

export type ExitKind = "clean" | "exit_code" | "segfault" | "abort" | "killed" | "signal";

export interface ExitClassification {
  /**
   * "segfault" (SIGSEGV), "abort" (SIGABRT), "killed" (SIGKILL: the OOM killer or
   * kill -9), "signal" (any other signal), "exit_code" (non-zero), "clean" (code 0).
   */
  readonly kind: ExitKind;
  readonly exitCode: number | null;
  /** The signal that ended it, also when it came as 128 + N from a wrapper. */
  readonly signal: string | null;
  /** One line a person can act on. */
  readonly description: string;
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

const DESCRIPTIONS: Record<string, { kind: ExitKind; text: string }> = {
  SIGSEGV: { kind: "segfault", text: "segmentation fault (SIGSEGV): native code in the worker crashed (a C extension or the interpreter)" },
  SIGABRT: { kind: "abort", text: "aborted (SIGABRT): a fatal error or failed assertion in native code, or os.abort()" },
  SIGKILL: { kind: "killed", text: "killed (SIGKILL): most often the kernel's out-of-memory killer (see dmesg), or kill -9" },
};

export function classifyExit(exit: { readonly exitCode: number | null; readonly signal: string | null }): ExitClassification {
  let signal = exit.signal;
  let viaWrapper = false;
  if (!signal && exit.exitCode !== null && exit.exitCode > 128 && exit.exitCode < 128 + 65) {
    const name = SIGNAL_NAMES.get(exit.exitCode - 128);
    if (name) {
      signal = name;
      viaWrapper = true;
    }
  }
  const base = { exitCode: exit.exitCode, signal };
  if (signal) {
    const known = DESCRIPTIONS[signal];
    const suffix = viaWrapper ? ` (reported as exit code ${exit.exitCode} by a wrapper)` : "";
    if (known) return { ...base, kind: known.kind, description: known.text + suffix };
    return { ...base, kind: "signal", description: `killed by ${signal}${suffix}` };
  }
  if (exit.exitCode === 0) return { ...base, kind: "clean", description: "exited with code 0 without being asked to stop" };
  return { ...base, kind: "exit_code", description: `exited with code ${exit.exitCode ?? "unknown"}` };
}
