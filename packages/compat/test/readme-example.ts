import { checkCompatibility, probePython, recommendProfile } from "@snakepit/compat";

export async function chooseProfile(python: string) {
  // Ask the interpreter about itself and the libraries your tools use (nothing is imported).
  const probe = await probePython(python, { libraries: ["numpy", "httpx", "matplotlib"] });
  console.log(`Python ${probe.version}, free-threaded: ${probe.freeThreaded}, GIL on: ${probe.gilEnabled}`);

  // Is it safe to run several tool calls at once on threads of one worker process?
  const report = checkCompatibility({ probe, profile: "thread" });
  for (const warning of report.warnings) {
    console.log(`${warning.code} ${warning.library}: ${warning.workaround}`);
  }

  // Or let compat choose, given what the tools mostly do.
  const { profile, reasons } = recommendProfile({ probe, workload: "io" });
  console.log(`Use the ${profile} profile: ${reasons.join(" ")}`);
  return { probe, report, profile };
}
