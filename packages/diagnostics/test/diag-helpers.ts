/** Test helpers: real Python workers (core's test helpers) and event waits. */
export { fixtureOptions, fixturePool, fixturesPath, nextEvents, OWNER, OWNER_VAR, SHOWCASE, venvPython } from "../../core/test/helpers.js";

