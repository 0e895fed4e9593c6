//! What a function is: the host's manifest (JSON) and its resolved form, and
//! the environment Lambda gives a process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// Lambda's defaults, used when the manifest says nothing.
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Lambda's default function timeout.
pub const DEFAULT_TIMEOUT_S: f64 = 3.0;
/// Lambda gives an on-demand function's init phase 10 s.
pub const DEFAULT_INIT_TIMEOUT_S: f64 = 10.0;
/// Concurrent instances per function when the manifest does not bound them.
pub const DEFAULT_MAX_INSTANCES: usize = 10;
/// Lambda retries a failed asynchronous invocation twice by default.
pub const DEFAULT_EVENT_RETRIES: u32 = 2;
/// The account of the ARNs when the manifest names none.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// Variables Lambda sets itself and refuses in a function's configuration
/// ("Lambda was unable to configure your environment variables because the
/// environment variables you have provided contains reserved keys"), from the
/// Lambda developer guide's "Defined runtime environment variables".
pub const RESERVED_VARIABLES: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// The manifest `lambda-host --manifest` reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `AWS_REGION` and `AWS_DEFAULT_REGION` of every function, and the ARNs' region.
    #[serde(default)]
    pub region: Option<String>,
    /// The ARNs' account.
    #[serde(default)]
    pub account: Option<String>,
    /// By function name.
    pub functions: BTreeMap<String, FunctionSpec>,
}

/// One function of the manifest.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    /// The executable Lambda would run as `bootstrap`.
    pub bootstrap: PathBuf,
    /// The function's configured environment (reserved names are refused, as Lambda does).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub memory_mb: Option<u32>,
    /// Seconds (Lambda allows whole seconds; fractions are accepted for tests).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// Seconds the init phase may take before the invocation fails (10 on Lambda).
    #[serde(default)]
    pub init_timeout_s: Option<f64>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub max_instances: Option<usize>,
    /// `_HANDLER` (a `provided` runtime's Handler; `bootstrap` by default).
    #[serde(default)]
    pub handler: Option<String>,
    /// The role's credentials, given to the process as Lambda does.
    #[serde(default)]
    pub credentials: Option<Credentials>,
    /// CPU quotas (issue J): the process gets its own cgroup.
    #[serde(default)]
    pub cpu: Option<CpuQuota>,
    /// Retries of a failed `Event` invocation (Lambda's default 2).
    #[serde(default)]
    pub event_retries: Option<u32>,
    /// Milliseconds before each retry of an `Event` invocation (Lambda waits ~1 and ~2 minutes).
    #[serde(default)]
    pub event_retry_delay_ms: Option<u64>,
}

/// An execution role's credentials.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default)]
    pub session_token: Option<String>,
}

/// CPU share in cores (1.0 = one full core): during init (until the first
/// `next`) and during invocations after it.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CpuQuota {
    pub init_quota: f64,
    pub invoke_quota: f64,
    /// The instance's weight against the machine's other work (cgroup v1
    /// `cpu.shares`, 1024 by default; see [`crate::cgroup::CpuCgroup::set_shares`]):
    /// a benchmark on a busy machine raises it so the quota is what the process gets.
    #[serde(default)]
    pub shares: Option<u64>,
    /// The scheduler period of the quotas, µs (default
    /// [`crate::cgroup::DEFAULT_PERIOD_US`]).
    #[serde(default)]
    pub period_us: Option<u64>,
}

/// A function as the emulator runs it: everything resolved.
#[derive(Clone, Debug)]
pub struct FunctionConfig {
    pub name: String,
    pub arn: String,
    pub region: Option<String>,
    pub bootstrap: PathBuf,
    pub env: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub init_timeout: Duration,
    pub max_instances: usize,
    pub handler: String,
    pub credentials: Option<Credentials>,
    pub cpu: Option<CpuQuota>,
    pub event_retries: u32,
    pub event_retry_delay: Duration,
}

impl FunctionConfig {
    /// A function with Lambda's defaults (128 MB, 3 s, 10 instances) in `region`.
    pub fn new(name: &str, bootstrap: impl Into<PathBuf>, region: Option<&str>) -> Self {
        FunctionConfig {
            name: name.to_owned(),
            arn: function_arn(region, DEFAULT_ACCOUNT, name),
            region: region.map(str::to_owned),
            bootstrap: bootstrap.into(),
            env: BTreeMap::new(),
            memory_mb: DEFAULT_MEMORY_MB,
            timeout: Duration::from_secs_f64(DEFAULT_TIMEOUT_S),
            init_timeout: Duration::from_secs_f64(DEFAULT_INIT_TIMEOUT_S),
            max_instances: DEFAULT_MAX_INSTANCES,
            handler: "bootstrap".to_owned(),
            credentials: None,
            cpu: None,
            event_retries: DEFAULT_EVENT_RETRIES,
            event_retry_delay: Duration::from_secs(1),
        }
    }

    /// The environment of a process of this function: exactly the configured
    /// variables plus those Lambda sets on `provided.al2023` (values as there;
    /// `LAMBDA_TASK_ROOT` is the bootstrap's folder, where the code is here).
    pub fn process_env(&self, runtime_api: &str, log_stream: &str) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        let task_root = self.task_root().display().to_string();
        let mut set = |key: &str, value: String| {
            env.insert(key.to_owned(), value);
        };
        set("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned());
        set("AWS_LAMBDA_FUNCTION_NAME", self.name.clone());
        set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned());
        set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", self.memory_mb.to_string());
        set("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", self.name));
        set("AWS_LAMBDA_LOG_STREAM_NAME", log_stream.to_owned());
        set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned());
        set("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned());
        set("_HANDLER", self.handler.clone());
        set("LAMBDA_TASK_ROOT", task_root.clone());
        set("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned());
        set("TZ", ":UTC".to_owned());
        if let Some(region) = &self.region {
            set("AWS_REGION", region.clone());
            set("AWS_DEFAULT_REGION", region.clone());
        }
        if let Some(credentials) = &self.credentials {
            set("AWS_ACCESS_KEY_ID", credentials.access_key_id.clone());
            set("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key.clone());
            if let Some(token) = &credentials.session_token {
                set("AWS_SESSION_TOKEN", token.clone());
            }
        }
        // Not reserved: a function's configuration may override these.
        let mut default = |key: &str, value: String| {
            env.entry(key.to_owned()).or_insert(value);
        };
        default("LANG", "en_US.UTF-8".to_owned());
        default("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned());
        default(
            "LD_LIBRARY_PATH",
            format!(
                "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:{task_root}:{task_root}/lib:/opt/lib"
            ),
        );
        env
    }

    /// The folder of the bootstrap (Lambda's `/var/task`), the process's working directory.
    pub fn task_root(&self) -> PathBuf {
        self.bootstrap.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>`.
pub fn function_arn(region: Option<&str>, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{}:{account}:function:{name}", region.unwrap_or("us-east-1"))
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> anyhow::Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The functions, resolved and checked: a name Lambda would refuse, a
    /// reserved variable in `env` or a quota outside (0, cores] is an error.
    pub fn resolve(&self) -> anyhow::Result<Vec<FunctionConfig>> {
        let account = self.account.as_deref().unwrap_or(DEFAULT_ACCOUNT);
        let region = self.region.as_deref();
        let mut resolved = Vec::new();
        for (name, spec) in &self.functions {
            if name.is_empty()
                || name.len() > 64
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!("function name {name:?}: Lambda names are 1-64 letters, digits, '-' or '_'");
            }
            let reserved: Vec<&str> =
                spec.env.keys().map(String::as_str).filter(|key| RESERVED_VARIABLES.contains(key)).collect();
            if !reserved.is_empty() {
                bail!(
                    "function {name}: env sets reserved variables {reserved:?}, which Lambda refuses \
                     (credentials go in \"credentials\", the region in \"region\")"
                );
            }
            let seconds = |value: Option<f64>, default: f64, what: &str| -> anyhow::Result<Duration> {
                let value = value.unwrap_or(default);
                if !(value.is_finite() && value > 0.0 && value <= 900.0) {
                    bail!("function {name}: {what} {value} is not in (0, 900] seconds");
                }
                Ok(Duration::from_secs_f64(value))
            };
            if let Some(cpu) = spec.cpu {
                for quota in [cpu.init_quota, cpu.invoke_quota] {
                    if !(quota.is_finite() && quota > 0.0 && quota <= 64.0) {
                        bail!("function {name}: cpu quota {quota} is not in (0, 64] cores");
                    }
                }
                if let Some(shares) = cpu.shares
                    && !(2..=262_144).contains(&shares)
                {
                    bail!("function {name}: cpu shares {shares} is not in [2, 262144]");
                }
            }
            let max_instances = spec.max_instances.unwrap_or(DEFAULT_MAX_INSTANCES);
            if max_instances == 0 {
                bail!("function {name}: max_instances must be at least 1");
            }
            resolved.push(FunctionConfig {
                name: name.clone(),
                arn: spec.arn.clone().unwrap_or_else(|| function_arn(region, account, name)),
                region: self.region.clone(),
                bootstrap: spec.bootstrap.clone(),
                env: spec.env.clone(),
                memory_mb: spec.memory_mb.unwrap_or(DEFAULT_MEMORY_MB),
                timeout: seconds(spec.timeout_s, DEFAULT_TIMEOUT_S, "timeout_s")?,
                init_timeout: seconds(spec.init_timeout_s, DEFAULT_INIT_TIMEOUT_S, "init_timeout_s")?,
                max_instances,
                handler: spec.handler.clone().unwrap_or_else(|| "bootstrap".to_owned()),
                credentials: spec.credentials.clone(),
                cpu: spec.cpu,
                event_retries: spec.event_retries.unwrap_or(DEFAULT_EVENT_RETRIES),
                event_retry_delay: Duration::from_millis(spec.event_retry_delay_ms.unwrap_or(1000)),
            });
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn manifest(json: &str) -> anyhow::Result<Vec<FunctionConfig>> {
        serde_json::from_str::<Manifest>(json)?.resolve()
    }

    #[test]
    fn reserved_variables_are_refused_like_lambda() {
        let error = manifest(r#"{"functions": {"f": {"bootstrap": "/x", "env": {"AWS_REGION": "eu-west-1"}}}}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("reserved") && error.contains("AWS_REGION"), "{error}");
        assert!(manifest(r#"{"functions": {"f": {"bootstrap": "/x", "env": {"PATH": "/bin"}}}}"#).is_ok());
    }

    #[test]
    fn bad_names_timeouts_and_quotas_are_refused() {
        assert!(manifest(r#"{"functions": {"a/b": {"bootstrap": "/x"}}}"#).is_err());
        assert!(manifest(r#"{"functions": {"f": {"bootstrap": "/x", "timeout_s": 0}}}"#).is_err());
        assert!(manifest(r#"{"functions": {"f": {"bootstrap": "/x", "max_instances": 0}}}"#).is_err());
        assert!(
            manifest(r#"{"functions": {"f": {"bootstrap": "/x", "cpu": {"init_quota": 1, "invoke_quota": 0}}}}"#)
                .is_err()
        );
        assert!(manifest(r#"{"functions": {"f": {"bootstrap": "/x", "typo": 1}}}"#).is_err());
        let shares = |n: u64| {
            manifest(&format!(
                r#"{{"functions": {{"f": {{"bootstrap": "/x", "cpu": {{"init_quota": 1, "invoke_quota": 0.5, "shares": {n}}}}}}}}}"#
            ))
        };
        assert!(shares(1).is_err() && shares(262_145).is_err());
        assert_eq!(shares(262_144).unwrap()[0].cpu.unwrap().shares, Some(262_144));
    }

    #[test]
    fn defaults_are_lambdas_and_the_arn_names_region_and_account() {
        let f = &manifest(
            r#"{"region": "eu-west-1", "account": "111122223333", "functions": {"feed": {"bootstrap": "/b/feed"}}}"#,
        )
        .unwrap()[0];
        assert_eq!(f.arn, "arn:aws:lambda:eu-west-1:111122223333:function:feed");
        assert_eq!((f.memory_mb, f.timeout, f.max_instances), (128, Duration::from_secs(3), 10));
        let env = f.process_env("127.0.0.1:9001", "stream");
        assert_eq!(env["AWS_REGION"], "eu-west-1");
        assert_eq!(env["AWS_DEFAULT_REGION"], "eu-west-1");
        assert_eq!(env["LAMBDA_TASK_ROOT"], "/b");
        assert_eq!(env["TZ"], ":UTC");
        assert!(!env.contains_key("AWS_ACCESS_KEY_ID"));
    }
}
