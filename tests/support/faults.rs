//! Fault injection: make the N-th call of a client fail, the way AWS calls
//! fail in production.
//!
//! [`FaultInjector`] is an SDK interceptor (the same `Intercept` trait as
//! `shared::telemetry::CallCounter`), attached to a `TestApp`'s DynamoDB or S3
//! client through `App::build_intercepted`. It numbers the client's
//! *operations* (not attempts: an operation the SDK retries is still one) and
//! fails the chosen one in all its attempts, so the SDK's retries cannot hide
//! the fault. [`FailingQueue`] does the same for the chat queue's sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeDeserializationInterceptorContextRef,
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use futures_util::future::BoxFuture;
use shared::queue::{Outgoing, Queue};

/// The text of every injected failure: it looks like what AWS answers (a
/// service error naming an ARN), so a test can check that none of it reaches
/// a client.
pub const FAULT_TEXT: &str =
    "injected fault: ServiceUnavailable (arn:aws:dynamodb:us-east-1:123456789012:table/secret-table)";

/// How a chosen call fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The call never reaches the service: nothing changed, the caller sees
    /// an error (a refused connection, a throttle the retries did not outlast).
    Refused,
    /// The service applies the call but its answer is lost: the change is
    /// made, the caller sees an error (a timeout after the commit).
    AnswerLost,
    /// The call panics inside the SDK (a bug in a dependency).
    Panic,
    /// The service applies the call, but every attempt of the operation (the
    /// first and the SDK's retries, which classify it as a throttle) answers
    /// DynamoDB's `TransactionInProgressException` (HTTP 400): the first
    /// attempt's transaction is still being completed when the SDK gives up,
    /// and the caller cannot tell whether it committed. The next operation
    /// (the caller's own retry) passes untouched.
    AppliedThenInProgress,
    /// The service applies the call, but its first attempt's answer is
    /// replaced by an HTTP 500 `InternalServerError`, which the SDK retries
    /// (as it retries a network failure) with the same request: later
    /// attempts pass untouched.
    AppliedThenServerError,
}

impl Fault {
    /// The answer that replaces a first attempt's, for the faults that replace one.
    fn replacement(self) -> Option<(u16, &'static str)> {
        match self {
            Fault::AppliedThenInProgress => Some((
                400,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionInProgressException","message":"injected fault: the transaction with the given request token is already in progress"}"#,
            )),
            Fault::AppliedThenServerError => Some((
                500,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected fault: internal server error"}"#,
            )),
            _ => None,
        }
    }
}

/// Tells whether an operation is of the kind that fails.
type Matcher = dyn Fn(&BeforeSerializationInterceptorContextRef<'_>) -> bool + Send + Sync;

/// Which operations fail.
enum Rule {
    /// None.
    Never,
    /// The `n`-th operation (from 1) of the client.
    Nth(u64, Fault),
    /// Every operation whose input passes the test, until the rule changes.
    Every(Box<Matcher>, Fault),
    /// The next `n` operations whose input passes the test; then nothing.
    Next(Box<Matcher>, Fault, u64),
}

/// Fails chosen operations of the SDK client it is attached to; counts all of
/// them. Clones share their state.
#[derive(Clone)]
pub struct FaultInjector {
    state: Arc<State>,
}

struct State {
    operations: AtomicU64,
    failed: AtomicU64,
    rule: Mutex<Rule>,
}

impl std::fmt::Debug for FaultInjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultInjector").field("operations", &self.operations()).finish_non_exhaustive()
    }
}

impl Default for FaultInjector {
    fn default() -> Self {
        FaultInjector::new()
    }
}

impl FaultInjector {
    /// An injector that fails nothing (yet) and counts operations.
    pub fn new() -> FaultInjector {
        FaultInjector {
            state: Arc::new(State {
                operations: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                rule: Mutex::new(Rule::Never),
            }),
        }
    }

    /// An injector failing the `n`-th operation (from 1) with `fault`.
    pub fn nth(n: u64, fault: Fault) -> FaultInjector {
        let injector = FaultInjector::new();
        *injector.rule() = Rule::Nth(n, fault);
        injector
    }

    /// From now on, every operation whose input is an `I` (an SDK operation
    /// input such as `TransactWriteItemsInput`) fails with `fault`.
    pub fn fail_every<I: std::fmt::Debug + Send + Sync + 'static>(&self, fault: Fault) {
        self.fail_every_where(fault, |_: &I| true);
    }

    /// From now on, every operation whose input is an `I` for which `test`
    /// says so fails with `fault` (`test` may keep state: it sees every `I`).
    pub fn fail_every_where<I: std::fmt::Debug + Send + Sync + 'static>(
        &self,
        fault: Fault,
        test: impl Fn(&I) -> bool + Send + Sync + 'static,
    ) {
        *self.rule() =
            Rule::Every(Box::new(move |context| context.input().downcast_ref::<I>().is_some_and(&test)), fault);
    }

    /// The next operation whose input is an `I` fails with `fault`; after it, nothing fails.
    pub fn fail_next_of<I: std::fmt::Debug + Send + Sync + 'static>(&self, fault: Fault) {
        self.fail_next_n_of::<I>(1, fault);
    }

    /// The next `n` operations whose input is an `I` fail with `fault`; after them, nothing fails.
    pub fn fail_next_n_of<I: std::fmt::Debug + Send + Sync + 'static>(&self, n: u64, fault: Fault) {
        *self.rule() = Rule::Next(Box::new(|context| context.input().downcast_ref::<I>().is_some()), fault, n);
    }

    /// The next operation fails with `fault`.
    pub fn fail_next(&self, fault: Fault) {
        *self.rule() = Rule::Nth(self.operations() + 1, fault);
    }

    /// From now on, nothing fails.
    pub fn heal(&self) {
        *self.rule() = Rule::Never;
    }

    /// Operations started so far.
    pub fn operations(&self) -> u64 {
        self.state.operations.load(Ordering::SeqCst)
    }

    /// Operations failed so far.
    pub fn failed(&self) -> u64 {
        self.state.failed.load(Ordering::SeqCst)
    }

    /// The interceptor, for `shared::app::Interceptors`.
    pub fn interceptor(&self) -> SharedInterceptor {
        SharedInterceptor::new(self.clone())
    }

    fn rule(&self) -> std::sync::MutexGuard<'_, Rule> {
        self.state.rule.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fault_for(&self, n: u64, context: &BeforeSerializationInterceptorContextRef<'_>) -> Option<Fault> {
        let mut rule = self.rule();
        let (fault, spent) = match &mut *rule {
            Rule::Never => (None, false),
            Rule::Nth(target, fault) => ((*target == n).then_some(*fault), false),
            Rule::Every(matches, fault) => (matches(context).then_some(*fault), false),
            Rule::Next(matches, fault, left) => {
                if !matches(context) {
                    return None;
                }
                *left -= 1;
                (Some(*fault), *left == 0)
            }
        };
        if spent {
            *rule = Rule::Never;
        }
        fault
    }
}

/// Marks an operation whose answer is to be lost; `sent` once an attempt
/// reached the service.
#[derive(Clone, Debug)]
struct Doomed {
    sent: bool,
}

impl Storable for Doomed {
    type Storer = StoreReplace<Self>;
}

/// Marks an operation whose first answer is to be replaced by `fault`'s;
/// `done` once it was.
#[derive(Clone, Debug)]
struct Replaced {
    fault: Fault,
    done: bool,
}

impl Storable for Replaced {
    type Storer = StoreReplace<Self>;
}

fn injected() -> BoxError {
    FAULT_TEXT.into()
}

impl Intercept for FaultInjector {
    fn name(&self) -> &'static str {
        "FaultInjector"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = self.state.operations.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(fault) = self.fault_for(n, context) else { return Ok(()) };
        self.state.failed.fetch_add(1, Ordering::SeqCst);
        match fault {
            Fault::Refused => Err(injected()),
            Fault::Panic => panic!("{FAULT_TEXT}"),
            Fault::AnswerLost => {
                cfg.interceptor_state().store_put(Doomed { sent: false });
                Ok(())
            }
            Fault::AppliedThenInProgress | Fault::AppliedThenServerError => {
                cfg.interceptor_state().store_put(Replaced { fault, done: false });
                Ok(())
            }
        }
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Replaced { fault, done }) = cfg.load::<Replaced>().cloned() else { return Ok(()) };
        // A server error strikes the first attempt only; an in-progress
        // transaction answers every attempt of the operation.
        if done && fault == Fault::AppliedThenServerError {
            return Ok(());
        }
        let Some((status, body)) = fault.replacement() else { return Ok(()) };
        cfg.interceptor_state().store_put(Replaced { fault, done: true });
        let response = context.response_mut();
        *response.status_mut() = status.try_into()?;
        response.headers_mut().remove("x-amz-crc32");
        response.headers_mut().insert("content-type", "application/x-amz-json-1.0");
        *response.body_mut() = SdkBody::from(body);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // A retry of an operation whose answer was lost fails too: the
        // operation as a whole fails, having been applied once.
        match cfg.load::<Doomed>() {
            Some(Doomed { sent: true }) => Err(injected()),
            _ => Ok(()),
        }
    }

    fn read_before_deserialization(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Doomed>().is_none() {
            return Ok(());
        }
        cfg.interceptor_state().store_put(Doomed { sent: true });
        Err(injected())
    }
}

/// A chat queue whose `n`-th send (from 1) fails.
#[derive(Debug)]
pub struct FailingQueue {
    inner: Arc<dyn Queue>,
    sends: AtomicU64,
    fail: Option<(u64, Fault)>,
}

impl FailingQueue {
    /// `inner`, failing its `n`-th send with `fault` (a `Panic` panics).
    pub fn new(inner: Arc<dyn Queue>, fail: Option<(u64, Fault)>) -> FailingQueue {
        FailingQueue { inner, sends: AtomicU64::new(0), fail }
    }

    /// Sends so far.
    pub fn sends(&self) -> u64 {
        self.sends.load(Ordering::SeqCst)
    }
}

impl Queue for FailingQueue {
    fn send(&self, message: Outgoing) -> BoxFuture<'_, shared::Result<()>> {
        Box::pin(async move {
            let n = self.sends.fetch_add(1, Ordering::SeqCst) + 1;
            let failure = || shared::Error::Internal(anyhow::anyhow!(FAULT_TEXT).context("send chat message"));
            match self.fail {
                Some((target, fault)) if target == n => match fault {
                    Fault::Refused => Err(failure()),
                    Fault::Panic => panic!("{FAULT_TEXT}"),
                    Fault::AnswerLost | Fault::AppliedThenInProgress | Fault::AppliedThenServerError => {
                        self.inner.send(message).await?;
                        Err(failure())
                    }
                },
                _ => self.inner.send(message).await,
            }
        })
    }
}

/// Holds the first operation of its client whose input is an `I` (an SDK
/// operation input such as `GetObjectInput`) until the test opens it: an
/// interleaving of two instances made deterministic, without sleeping.
///
/// The operation waits on a blocking lock (interceptors are synchronous), so
/// the client must run on a multi-threaded runtime with a spare worker. The
/// gate opens by itself when dropped, and after a minute at most, so a failing
/// test cannot hang the binary.
#[derive(Clone)]
pub struct Gate {
    state: Arc<GateState>,
}

struct GateState {
    matches: Box<Matcher>,
    armed: std::sync::atomic::AtomicBool,
    reached: tokio::sync::watch::Sender<bool>,
    open: Mutex<bool>,
    opened: std::sync::Condvar,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("reached", &*self.state.reached.borrow()).finish_non_exhaustive()
    }
}

impl Gate {
    /// A closed gate before the first operation whose input is an `I`.
    pub fn before<I: std::fmt::Debug + Send + Sync + 'static>() -> Gate {
        Gate {
            state: Arc::new(GateState {
                matches: Box::new(|context| context.input().downcast_ref::<I>().is_some()),
                armed: std::sync::atomic::AtomicBool::new(true),
                reached: tokio::sync::watch::channel(false).0,
                open: Mutex::new(false),
                opened: std::sync::Condvar::new(),
            }),
        }
    }

    /// The interceptor, for `shared::app::Interceptors`.
    pub fn interceptor(&self) -> SharedInterceptor {
        SharedInterceptor::new(self.clone())
    }

    /// Waits until an operation is held at the gate.
    pub async fn reached(&self) {
        let mut reached = self.state.reached.subscribe();
        reached.wait_for(|reached| *reached).await.expect("the gate lives");
    }

    /// Lets the held operation (and every later one) through.
    pub fn open(&self) {
        *self.state.open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.state.opened.notify_all();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
}

impl Intercept for Gate {
    fn name(&self) -> &'static str {
        "Gate"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !(self.state.matches)(context) || !self.state.armed.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        self.state.reached.send_replace(true);
        let open = self.state.open.lock().unwrap_or_else(PoisonError::into_inner);
        let _open = self
            .state
            .opened
            .wait_timeout_while(open, std::time::Duration::from_secs(60), |open| !*open)
            .unwrap_or_else(PoisonError::into_inner);
        Ok(())
    }
}
