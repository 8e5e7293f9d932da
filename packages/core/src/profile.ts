// @snakepit/core/profile: what a worker profile is made of, for profile authors
// (docs/custom-profiles.md). A profile starts a worker and hands the pool a
// WorkerHandle whose channel speaks the wire contract; the local and Connect
// channels are the two the built-in profiles use.
export type { WorkerExit, WorkerHandle, WorkerProfile, WorkerRuntimeInfo, WorkerStartContext } from "./worker-profile.js";
export { ChannelFailure } from "./worker-channel.js";
export type { ChannelCallOptions, ChannelFailureKind, ChannelSignal, WorkerChannel } from "./worker-channel.js";
export { createConnectChannel } from "./connect-channel.js";
export type { ConnectChannelOptions, ConnectInterceptor } from "./connect-channel.js";
export { createLocalChannel } from "./local-channel.js";
export type { LocalChannelOptions } from "./local-channel.js";
export type { ResolvedPoolOptions } from "./options.js";
export { memoryProfile } from "./memory-profile.js";
export type { MemoryProfileOptions, MemoryTool, MemoryToolContext } from "./memory-profile.js";
