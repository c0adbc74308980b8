//! Fault injection: the [`InjectedError`] a fault answers with, the faults a test sets
//! on a [`FakeS3`] (fail the n-th call, fail always, throttle, truncate a body, delay,
//! hooks), and the admission that records each call and applies them.

use std::sync::Arc;
use std::time::Duration;

use super::{FakeS3, Operation, RecordedCall};
use crate::client::{S3Error, S3ErrorKind};

/// The error an injected fault answers with: an HTTP status and S3 code (classified like
/// a real response), or a transport failure of a given kind with no response at all.
///
/// It is a description rather than an [`S3Error`] because one fault can fire many
/// times and each call needs its own error naming its own operation and object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectedError {
    status: Option<u16>,
    code: Option<String>,
    message: String,
    kind: Option<S3ErrorKind>,
}

impl InjectedError {
    /// An S3 error response: `status` with `<Code>code</Code>`, classified by
    /// [`S3ErrorKind::classify`] (`InjectedError::new(200, "InternalError")` is the
    /// "error inside a 200" S3 sends for Complete and copies).
    pub fn new(status: u16, code: impl Into<String>) -> Self {
        InjectedError {
            status: Some(status),
            code: Some(code.into()),
            message: "injected fault".to_owned(),
            kind: None,
        }
    }

    /// A failure with no response (a reset connection, a client timeout), of `kind`.
    pub fn transport(kind: S3ErrorKind, message: impl Into<String>) -> Self {
        InjectedError {
            status: None,
            code: None,
            message: message.into(),
            kind: Some(kind),
        }
    }

    /// Replace the error message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// 500 InternalError (transient).
    pub fn internal_error() -> Self {
        InjectedError::new(500, "InternalError")
    }

    /// 503 SlowDown (throttled).
    pub fn slow_down() -> Self {
        InjectedError::new(503, "SlowDown").with_message("Please reduce your request rate.")
    }

    /// 403 AccessDenied.
    pub fn access_denied() -> Self {
        InjectedError::new(403, "AccessDenied").with_message("Access Denied")
    }

    /// 404 NoSuchKey.
    pub fn no_such_key() -> Self {
        InjectedError::new(404, "NoSuchKey").with_message("The specified key does not exist.")
    }

    /// 412 PreconditionFailed, as when the object changed under the transfer.
    pub fn precondition_failed() -> Self {
        InjectedError::new(412, "PreconditionFailed")
            .with_message("At least one of the pre-conditions you specified did not hold")
    }

    /// A client-side timeout ([`S3ErrorKind::Timeout`]).
    pub fn timeout() -> Self {
        InjectedError::transport(S3ErrorKind::Timeout, "injected timeout")
    }

    /// A connection reset ([`S3ErrorKind::Transient`]).
    pub fn connection_reset() -> Self {
        InjectedError::transport(S3ErrorKind::Transient, "connection reset by peer")
    }

    /// The [`S3Error`] this fault produces for a call of `operation` on `bucket`/`key`;
    /// also handy inside an [`FakeS3::on_call`] hook.
    pub fn to_s3_error(&self, operation: Operation, bucket: &str, key: &str) -> S3Error {
        let mut err = S3Error::from_response(
            operation.as_str(),
            self.status,
            self.code.clone(),
            self.message.clone(),
        )
        .with_object(bucket, key);
        if let Some(kind) = self.kind {
            err.kind = kind;
        }
        err
    }
}

/// One injected fault, with its own count of the calls it has seen or has left.
#[derive(Debug)]
pub(super) enum Fault {
    Nth {
        op: Operation,
        n: u64,
        seen: u64,
        error: InjectedError,
    },
    Always {
        op: Operation,
        error: InjectedError,
    },
    Throttle {
        op: Operation,
        remaining: usize,
    },
    Truncate {
        after: u64,
        remaining: usize,
    },
    Delay {
        op: Operation,
        duration: Duration,
    },
}

impl Fault {
    fn spent(&self) -> bool {
        match self {
            Fault::Nth { n, seen, .. } => seen >= n,
            Fault::Throttle { remaining, .. } | Fault::Truncate { remaining, .. } => {
                *remaining == 0
            }
            Fault::Always { .. } | Fault::Delay { .. } => false,
        }
    }
}

pub(super) type Hook = Arc<dyn Fn(&RecordedCall) -> Option<S3Error> + Send + Sync>;

/// What faults decided for one call, computed under the lock and acted on outside it.
struct Admission {
    error: Option<InjectedError>,
    delay: Duration,
    truncate_after: Option<u64>,
    hooks: Vec<Hook>,
}

/// Fault injection, and the admission every call goes through before the store sees it.
impl FakeS3 {
    /// Fail the `n`-th call (1-based) of `operation` made from now on with `error`.
    /// Faults apply in the order injected; the first that fails a call wins.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub fn fail_nth(&self, operation: Operation, n: u64, error: InjectedError) {
        assert!(n >= 1, "fail_nth counts calls from 1");
        self.add_fault(Fault::Nth {
            op: operation,
            n,
            seen: 0,
            error,
        });
    }

    /// Fail every call of `operation` with `error` until [`FakeS3::clear_faults`].
    pub fn fail_always(&self, operation: Operation, error: InjectedError) {
        self.add_fault(Fault::Always {
            op: operation,
            error,
        });
    }

    /// Answer the next `times` calls of `operation` with 503 SlowDown.
    pub fn throttle(&self, operation: Operation, times: usize) {
        self.add_fault(Fault::Throttle {
            op: operation,
            remaining: times,
        });
    }

    /// Cut the next `times` GetObject calls short: deliver only the first
    /// `after_bytes` bytes of the response to the sink, then fail with
    /// [`S3ErrorKind::TruncatedBody`], as when a connection drops mid-body. Every
    /// GetObject uses up one time, including one that fails before its body and one
    /// whose body is no longer than `after_bytes` (which then arrives whole).
    pub fn truncate_body(&self, after_bytes: u64, times: usize) {
        self.add_fault(Fault::Truncate {
            after: after_bytes,
            remaining: times,
        });
    }

    /// Sleep `duration` at the start of every call of `operation` (before answering),
    /// until [`FakeS3::clear_faults`]; delays for the same operation add up.
    pub fn delay(&self, operation: Operation, duration: Duration) {
        self.add_fault(Fault::Delay {
            op: operation,
            duration,
        });
    }

    /// Run `hook` on every call after it is recorded; returning `Some(error)` fails the
    /// call with it unless an injected fault already did. The hook runs without the
    /// fake's lock held, so it may block or call the fake.
    pub fn on_call(&self, hook: impl Fn(&RecordedCall) -> Option<S3Error> + Send + Sync + 'static) {
        self.state.lock().hooks.push(Arc::new(hook));
    }

    /// Remove every fault and hook.
    pub fn clear_faults(&self) {
        let mut st = self.state.lock();
        st.faults.clear();
        // Dropped outside the lock: a hook's captures may run Drop code that calls the fake.
        let hooks = std::mem::take(&mut st.hooks);
        drop(st);
        drop(hooks);
    }

    fn add_fault(&self, fault: Fault) {
        self.state.lock().faults.push(fault);
    }

    /// Record `call` and decide which faults hit it.
    fn admit(&self, call: &RecordedCall) -> Admission {
        let op = call.operation();
        let mut st = self.state.lock();
        st.calls.push(call.clone());
        let mut error = None;
        let mut delay = Duration::ZERO;
        let mut truncate_after = None;
        for fault in st.faults.iter_mut() {
            match fault {
                Fault::Nth {
                    op: o,
                    n,
                    seen,
                    error: e,
                } if *o == op => {
                    *seen += 1;
                    if *seen == *n && error.is_none() {
                        error = Some(e.clone());
                    }
                }
                Fault::Always { op: o, error: e } if *o == op && error.is_none() => {
                    error = Some(e.clone());
                }
                // A call another fault already failed does not use up a throttle.
                Fault::Throttle { op: o, remaining }
                    if *o == op && *remaining > 0 && error.is_none() =>
                {
                    *remaining -= 1;
                    error = Some(InjectedError::slow_down());
                }
                Fault::Truncate { after, remaining }
                    if op == Operation::GetObject && *remaining > 0 && truncate_after.is_none() =>
                {
                    *remaining -= 1;
                    truncate_after = Some(*after);
                }
                Fault::Delay { op: o, duration } if *o == op => delay += *duration,
                _ => {}
            }
        }
        st.faults.retain(|f| !f.spent());
        let hooks = st.hooks.clone();
        Admission {
            error,
            delay,
            truncate_after,
            hooks,
        }
    }

    /// Record the call, apply delays and hooks, and return the injected failure if any,
    /// else how many bytes a GetObject may deliver before it is cut.
    pub(super) fn enter(&self, call: RecordedCall) -> Result<Option<u64>, S3Error> {
        let admission = self.admit(&call);
        if !admission.delay.is_zero() {
            std::thread::sleep(admission.delay);
        }
        let mut hook_error = None;
        for hook in &admission.hooks {
            if let Some(err) = hook(&call) {
                hook_error = Some(err);
                break;
            }
        }
        if let Some(injected) = admission.error {
            return Err(injected.to_s3_error(call.operation(), call.bucket(), call.key()));
        }
        if let Some(err) = hook_error {
            return Err(err);
        }
        Ok(admission.truncate_after)
    }
}
