// These declarations use Node's types (AbortSignal, Buffer, node:* modules): @types/node.
/// <reference types="node" preserve="true" />
// The public API of @snakepit/remote.
export { remoteProfile } from "./remote-profile.js";
export type { RemoteProfile } from "./remote-profile.js";
export { REMOTE_DEFAULTS } from "./options.js";
export type { RemoteProfileOptions, RemoteTlsOptions } from "./options.js";
export type { DnsEndpoint, Endpoint, Resolver } from "./endpoints.js";
export type { HostState, RemoteHostEvent, RemoteHostSnapshot } from "./host-events.js";
export type { RemoteWorkerInfo } from "./remote-worker.js";
