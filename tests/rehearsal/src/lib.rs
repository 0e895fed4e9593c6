//! The deployment rehearsal's Lambda host: a Lambda Runtime API emulator that
//! runs the real bootstraps as Lambda would (exact environment, one process
//! per execution environment, scale-out, cold and warm starts, the limits and
//! failure answers of the service), as a library for the cold-start
//! benchmark and behind Lambda's own Invoke API in `lambda-host`.
//!
//! - [`config`]: the manifest and a function's resolved configuration and environment;
//! - [`instance`]: one process and its Runtime API (`next`, `response`, `error`, `init/error`);
//! - [`function`]: a function's instances, the scaling rule, every invocation's outcome and clock readings;
//! - [`host`]: the Invoke API (`/2015-03-31/functions/{name}/invocations`) and `/_host/` control API;
//! - [`cgroup`]: CPU quotas per process (init vs invoke share), for issue J.

pub mod cgroup;
pub mod config;
pub mod function;
pub mod host;
pub mod http;
pub mod instance;

pub use config::{FunctionConfig, Manifest};
pub use function::{Function, Invocation, InvocationType, InvokeRequest, Outcome};
pub use host::Host;
pub use instance::{Death, KillReason, LaunchOptions};
