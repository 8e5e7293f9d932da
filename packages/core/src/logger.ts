/** Where a pool writes its own messages and its workers' stdout/stderr lines. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function write(level: string, message: string, fields?: Record<string, unknown>): void {
  const tag = fields?.["workerId"] !== undefined ? `snakepit ${String(fields["workerId"])}` : "snakepit";
  process.stderr.write(`[${tag}] ${level === "info" ? "" : `${level}: `}${message}\n`);
}

/** The default: info and above to stderr, worker output lines included. */
export const consoleLogger: Logger = {
  debug: () => {},
  info: (m, f) => write("info", m, f),
  warn: (m, f) => write("warn", m, f),
  error: (m, f) => write("error", m, f),
};

/** Drops everything (tests, or when events are the only sink). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
