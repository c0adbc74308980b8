//! A fault-injecting HTTP/1.1 proxy for tests: sits between a client and a real S3
//! (the in-process s3s-fs `LocalS3`, or SeaweedFS) and, for requests matching a rule,
//! answers 503 SlowDown, 500 InternalError or an error inside a 200, resets the
//! connection part-way through a body, sends a body shorter than its Content-Length,
//! stalls, or flips one byte of a request or response body. Everything else passes
//! through byte for byte.
//!
//! Self-contained (std plus dev-dependencies) so an example can include it by path.
//!
//! The request is never rewritten: SigV4 signs the `Host` header, so the client must
//! use the proxy's address as its endpoint, and the upstream verifies the signature
//! against that same `Host`, forwarded unchanged. Responses are buffered whole before
//! they are relayed (or cut): fine for test-sized objects, not for gigabytes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest request or response head accepted; S3 heads are a few KiB.
const MAX_HEAD: usize = 64 * 1024;

/// What the proxy does to a request a rule matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer `503 Slow Down` with an S3 `<Error><Code>SlowDown</Code>` body. Not
    /// forwarded (unless the rule says [`Rule::after_upstream`]).
    SlowDown,
    /// Answer `500 Internal Server Error` with an `InternalError` body. Not forwarded
    /// (unless [`Rule::after_upstream`]).
    InternalError,
    /// Answer `200 OK` whose body is an `<Error><Code>InternalError</Code>` document,
    /// as S3 does for CompleteMultipartUpload, CopyObject and UploadPartCopy. Not
    /// forwarded (unless [`Rule::after_upstream`]).
    ErrorIn200,
    /// Forward, relay the response head and the first `n` body bytes, then reset the
    /// connection (TCP RST, via `SO_LINGER` 0).
    ResetAfter(usize),
    /// Forward, relay the response head (with its real Content-Length) and the first
    /// `n` body bytes, then close the connection normally (FIN).
    ShortBody(usize),
    /// Hold the connection without sending anything for `duration` (or until the proxy
    /// is dropped), then close it. With `after_body_bytes: None` nothing at all is
    /// sent and the request is not forwarded (unless [`Rule::after_upstream`]); with
    /// `Some(n)` the request is forwarded and the head plus `n` body bytes are relayed
    /// before the stall.
    Stall {
        /// Body bytes relayed before the stall, or `None` to stall before the head.
        after_body_bytes: Option<usize>,
        /// How long to hold the connection.
        duration: Duration,
    },
    /// Flip every bit of the request body's byte at this offset (the last byte if the
    /// body is shorter), forward it and relay the answer: bytes damaged on the way to
    /// the store. A body without bytes goes unchanged.
    CorruptRequestBody(usize),
    /// Forward, then relay the answer with every bit of its body's byte at this offset
    /// flipped (the last byte if shorter; framing bytes of a chunked body count too):
    /// bytes damaged on the way back. The length is unchanged.
    CorruptResponseBody(usize),
}

impl Fault {
    /// Whether the fault cuts a real response, so the request must reach the upstream.
    fn needs_upstream(&self) -> bool {
        matches!(
            self,
            Fault::ResetAfter(_)
                | Fault::ShortBody(_)
                | Fault::CorruptRequestBody(_)
                | Fault::CorruptResponseBody(_)
                | Fault::Stall {
                    after_body_bytes: Some(_),
                    ..
                }
        )
    }
}

/// Which requests a rule applies to: every condition set must hold. Header names are
/// case-insensitive; target conditions are substrings of the request target (path and
/// query, as sent).
#[derive(Clone, Debug, Default)]
pub struct Match {
    method: Option<String>,
    contains: Vec<String>,
    lacks: Vec<String>,
    with_headers: Vec<String>,
    without_headers: Vec<String>,
    header_values: Vec<(String, String)>,
}

impl Match {
    /// Every request.
    pub fn any() -> Match {
        Match::default()
    }

    /// Only requests with this method (`"PUT"`).
    pub fn method(mut self, method: &str) -> Match {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only targets containing `s` (`"uploadId="`, a key name).
    pub fn target_contains(mut self, s: &str) -> Match {
        self.contains.push(s.to_owned());
        self
    }

    /// Only targets not containing `s`.
    pub fn target_lacks(mut self, s: &str) -> Match {
        self.lacks.push(s.to_owned());
        self
    }

    /// Only requests carrying header `name`.
    pub fn with_header(mut self, name: &str) -> Match {
        self.with_headers.push(name.to_ascii_lowercase());
        self
    }

    /// Only requests whose header `name` contains `value` (`Range`, `bytes=8388608-`).
    pub fn header_contains(mut self, name: &str, value: &str) -> Match {
        self.header_values
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Only requests without header `name`.
    pub fn without_header(mut self, name: &str) -> Match {
        self.without_headers.push(name.to_ascii_lowercase());
        self
    }

    /// PutObject: PUT, no `uploadId=`, no `x-amz-copy-source`.
    pub fn put_object() -> Match {
        Match::any()
            .method("PUT")
            .target_lacks("uploadId=")
            .without_header("x-amz-copy-source")
    }

    /// CopyObject: PUT with `x-amz-copy-source`, no `uploadId=`.
    pub fn copy_object() -> Match {
        Match::any()
            .method("PUT")
            .target_lacks("uploadId=")
            .with_header("x-amz-copy-source")
    }

    /// CreateMultipartUpload: POST `?uploads`.
    pub fn create_multipart_upload() -> Match {
        Match::any()
            .method("POST")
            .target_contains("uploads")
            .target_lacks("uploadId=")
    }

    /// UploadPart: PUT with `uploadId=`, no `x-amz-copy-source`.
    pub fn upload_part() -> Match {
        Match::any()
            .method("PUT")
            .target_contains("uploadId=")
            .without_header("x-amz-copy-source")
    }

    /// UploadPartCopy: PUT with `uploadId=` and `x-amz-copy-source`.
    pub fn upload_part_copy() -> Match {
        Match::any()
            .method("PUT")
            .target_contains("uploadId=")
            .with_header("x-amz-copy-source")
    }

    /// CompleteMultipartUpload: POST with `uploadId=`.
    pub fn complete_multipart_upload() -> Match {
        Match::any().method("POST").target_contains("uploadId=")
    }

    /// AbortMultipartUpload: DELETE with `uploadId=`.
    pub fn abort_multipart_upload() -> Match {
        Match::any().method("DELETE").target_contains("uploadId=")
    }

    /// GetObject (and any other GET).
    pub fn get_object() -> Match {
        Match::any().method("GET")
    }

    /// HeadObject.
    pub fn head_object() -> Match {
        Match::any().method("HEAD")
    }

    /// DeleteObject: DELETE without `uploadId=`.
    pub fn delete_object() -> Match {
        Match::any().method("DELETE").target_lacks("uploadId=")
    }

    /// Whether a logged exchange was such a request, by method and target (its headers
    /// are not logged: a header condition counts as met).
    pub fn matches_exchange(&self, exchange: &Exchange) -> bool {
        self.method.as_deref().is_none_or(|m| m == exchange.method)
            && self.contains.iter().all(|s| exchange.target.contains(s))
            && !self.lacks.iter().any(|s| exchange.target.contains(s))
    }

    fn matches(&self, request: &RequestHead) -> bool {
        self.method.as_deref().is_none_or(|m| m == request.method)
            && self.contains.iter().all(|s| request.target.contains(s))
            && !self.lacks.iter().any(|s| request.target.contains(s))
            && self
                .with_headers
                .iter()
                .all(|h| request.header(h).is_some())
            && self.header_values.iter().all(|(h, v)| {
                request
                    .header(h)
                    .is_some_and(|got| got.contains(v.as_str()))
            })
            && !self
                .without_headers
                .iter()
                .any(|h| request.header(h).is_some())
    }
}

/// A fault for the next `times` requests that match.
#[derive(Clone, Debug)]
pub struct Rule {
    matcher: Match,
    fault: Fault,
    times: usize,
    after_upstream: bool,
}

impl Rule {
    /// Apply `fault` to the next request matching `matcher` (once; see [`Rule::times`]).
    pub fn new(matcher: Match, fault: Fault) -> Rule {
        Rule {
            matcher,
            fault,
            times: 1,
            after_upstream: false,
        }
    }

    /// Apply it to the next `n` matching requests instead of one.
    pub fn times(mut self, n: usize) -> Rule {
        self.times = n;
        self
    }

    /// Forward the request and let the upstream act on it before injecting the fault
    /// (its answer is thrown away): "the server did it, the client never heard".
    pub fn after_upstream(mut self) -> Rule {
        self.after_upstream = true;
        self
    }
}

/// Handle to a rule added with [`FaultProxy::add`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleId(usize);

/// One request the proxy saw, in arrival order.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// Request method.
    pub method: String,
    /// Request target (path and query).
    pub target: String,
    /// The rule that fired, if any.
    pub rule: Option<RuleId>,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
    /// The upstream's status, when the request was forwarded and answered.
    pub upstream_status: Option<u16>,
}

struct RuleState {
    rule: Rule,
    fired: usize,
}

#[derive(Default)]
struct State {
    rules: Vec<RuleState>,
    log: Vec<Exchange>,
    /// Exchanges taken out of `log` by [`FaultProxy::take_exchanges`]: the log's first
    /// entry is exchange number `taken`.
    taken: usize,
    /// Open sockets per connection thread, shut down when the proxy is dropped so
    /// blocked reads return.
    sockets: HashMap<u64, Vec<TcpStream>>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    upstream: SocketAddr,
    stopping: AtomicBool,
    connections: AtomicU64,
    /// Protects the rules, the log, the open sockets and the connection threads; never
    /// held across I/O. Its condvar wakes stalls when the proxy stops.
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking connection thread must not take the whole test down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pick the first live rule matching `request`, count it and log the exchange.
    fn decide(&self, request: &RequestHead) -> (usize, Option<(RuleId, Rule)>) {
        let mut state = self.state();
        let hit = state
            .rules
            .iter_mut()
            .enumerate()
            .find(|(_, r)| r.fired < r.rule.times && r.rule.matcher.matches(request))
            .map(|(i, r)| {
                r.fired += 1;
                (RuleId(i), r.rule.clone())
            });
        state.log.push(Exchange {
            method: request.method.clone(),
            target: request.target.clone(),
            rule: hit.as_ref().map(|(id, _)| *id),
            fault: hit.as_ref().map(|(_, r)| r.fault.clone()),
            upstream_status: None,
        });
        (state.taken + state.log.len() - 1, hit)
    }

    fn record_status(&self, entry: usize, status: u16) {
        let mut state = self.state();
        let Some(index) = entry.checked_sub(state.taken) else {
            return;
        };
        if let Some(e) = state.log.get_mut(index) {
            e.upstream_status = Some(status);
        }
    }

    /// Wait up to `duration`, returning early when the proxy stops.
    fn stall(&self, duration: Duration) {
        let deadline = Instant::now() + duration;
        let mut state = self.state();
        while !self.stopping.load(Ordering::SeqCst) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = match self.wake.wait_timeout(state, deadline - now) {
                Ok((s, _)) => s,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

/// A running proxy on 127.0.0.1. Dropping it closes every connection and joins every
/// thread.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Start a proxy forwarding to `upstream`, given as `http://host:port` (an
    /// endpoint such as `LocalS3::endpoint()`) or `host:port`. Panics if it cannot:
    /// this is a test fixture.
    pub fn start(upstream: &str) -> FaultProxy {
        let authority = upstream.trim_start_matches("http://").trim_end_matches('/');
        let upstream: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(authority)
            .unwrap_or_else(|e| panic!("upstream {authority:?}: {e}"))
            .next()
            .expect("upstream resolves");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            upstream,
            stopping: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn the accept thread");
        FaultProxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`: the endpoint to give the client.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Add a rule. Rules are tried in the order added; the first live one that
    /// matches fires.
    pub fn add(&self, rule: Rule) -> RuleId {
        let mut state = self.shared.state();
        state.rules.push(RuleState { rule, fired: 0 });
        RuleId(state.rules.len() - 1)
    }

    /// How many times rule `id` fired.
    pub fn fired(&self, id: RuleId) -> usize {
        self.shared.state().rules.get(id.0).map_or(0, |r| r.fired)
    }

    /// How many more times rule `id` will fire.
    pub fn remaining(&self, id: RuleId) -> usize {
        self.shared
            .state()
            .rules
            .get(id.0)
            .map_or(0, |r| r.rule.times - r.fired)
    }

    /// Every request seen so far, in arrival order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.state().log.clone()
    }

    /// Every request seen since the last call, taken out of the log: a long run's log
    /// stays small.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        let mut state = self.shared.state();
        let log = std::mem::take(&mut state.log);
        state.taken += log.len();
        log
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let threads = {
            let mut state = self.shared.state();
            for sockets in state.sockets.values() {
                for socket in sockets {
                    let _ = socket.shutdown(Shutdown::Both);
                }
            }
            std::mem::take(&mut state.threads)
        };
        self.shared.wake.notify_all();
        // Wake the blocking accept with a connection of our own.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let late = std::mem::take(&mut self.shared.state().threads);
        for thread in threads.into_iter().chain(late) {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let id = next_id;
        next_id += 1;
        let conn_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{id}"))
            .spawn(move || {
                let _ = serve(id, stream, &conn_shared);
                // Forget the sockets before they are closed, so a reset's close is the
                // last one (SO_LINGER applies only when the last descriptor closes).
                conn_shared.state().sockets.remove(&id);
            })
            .expect("spawn a connection thread");
        // Join the connections that ended: an exited thread keeps its stack until it is
        // joined, which a long run (the soak) would see as growth.
        let ended: Vec<JoinHandle<()>> = {
            let mut state = shared.state();
            let (ended, running) = std::mem::take(&mut state.threads)
                .into_iter()
                .partition(|t| t.is_finished());
            state.threads = running;
            state.threads.push(thread);
            ended
        };
        for thread in ended {
            let _ = thread.join();
        }
    }
}

/// A parsed request or response head, with its raw bytes for forwarding unchanged.
struct RequestHead {
    raw: Vec<u8>,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl RequestHead {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// How a message body is delimited.
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

fn framing(headers: &[(String, String)], is_response: bool) -> io::Result<Framing> {
    if header(headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        return Ok(Framing::Chunked);
    }
    match header(headers, "content-length") {
        Some(v) => v
            .trim()
            .parse()
            .map(Framing::Length)
            .map_err(|_| bad(format!("bad Content-Length {v:?}"))),
        None if is_response => Ok(Framing::UntilClose),
        None => Ok(Framing::None),
    }
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A message head as read: its raw bytes, its start line and its header fields.
struct Head {
    raw: Vec<u8>,
    start_line: String,
    headers: Vec<(String, String)>,
}

/// Read a head (start line and headers) up to the blank line. `None` on a clean end
/// of stream before any byte.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    let mut start_line = None;
    let mut headers = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            if raw.is_empty() {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        raw.extend_from_slice(&line);
        if raw.len() > MAX_HEAD {
            return Err(bad("head too large".into()));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if start_line.is_none() {
            if text.is_empty() {
                // Tolerate stray blank lines between messages (RFC 9112 §2.2).
                raw.clear();
                continue;
            }
            start_line = Some(text.to_owned());
            continue;
        }
        if text.is_empty() {
            return Ok(Some(Head {
                raw,
                start_line: start_line.unwrap_or_default(),
                headers,
            }));
        }
        if let Some((name, value)) = text.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
}

/// Read a body delimited by `framing`, raw (chunk framing kept), so it can be
/// forwarded unchanged.
fn read_body(reader: &mut impl BufRead, framing: &Framing) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    match framing {
        Framing::None => {}
        Framing::Length(n) => {
            body.resize(*n, 0);
            reader.read_exact(&mut body)?;
        }
        Framing::UntilClose => {
            reader.read_to_end(&mut body)?;
        }
        Framing::Chunked => loop {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&line);
            let text = String::from_utf8_lossy(&line);
            let size_text = text.trim().split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| bad(format!("bad chunk size {size_text:?}")))?;
            if size == 0 {
                // Trailer fields, then the blank line.
                loop {
                    let mut trailer = Vec::new();
                    if reader.read_until(b'\n', &mut trailer)? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    body.extend_from_slice(&trailer);
                    if trailer == b"\r\n" || trailer == b"\n" {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size + 2, 0); // the data and its CRLF
            reader.read_exact(&mut body[start..])?;
        },
    }
    Ok(body)
}

/// One upstream response, buffered.
struct Response {
    status: u16,
    head: Vec<u8>,
    body: Vec<u8>,
    /// The connection cannot carry another exchange.
    close: bool,
}

/// The proxy's connection to the upstream for one client connection.
struct Upstream {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

fn connect_upstream(id: u64, shared: &Shared) -> io::Result<Upstream> {
    let writer = TcpStream::connect(shared.upstream)?;
    writer.set_nodelay(true)?;
    shared
        .state()
        .sockets
        .entry(id)
        .or_default()
        .push(writer.try_clone()?);
    Ok(Upstream {
        reader: BufReader::new(writer.try_clone()?),
        writer,
    })
}

/// Send the request on `upstream` (opening it if needed) and read the whole response.
/// A kept-alive connection the upstream closed meanwhile is replaced once.
fn exchange(
    id: u64,
    shared: &Shared,
    upstream: &mut Option<Upstream>,
    request: &RequestHead,
    body: &[u8],
) -> io::Result<Response> {
    let reused = upstream.is_some();
    match try_exchange(id, shared, upstream, request, body) {
        Err(_) if reused => {
            *upstream = None;
            try_exchange(id, shared, upstream, request, body)
        }
        other => other,
    }
}

fn try_exchange(
    id: u64,
    shared: &Shared,
    upstream: &mut Option<Upstream>,
    request: &RequestHead,
    body: &[u8],
) -> io::Result<Response> {
    if upstream.is_none() {
        *upstream = Some(connect_upstream(id, shared)?);
    }
    let conn = upstream.as_mut().expect("just connected");
    conn.writer.write_all(&request.raw)?;
    conn.writer.write_all(body)?;
    conn.writer.flush()?;
    loop {
        let Head {
            raw: head,
            start_line: status_line,
            headers,
        } = read_head(&mut conn.reader)?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let mut parts = status_line.split_whitespace();
        let version = parts.next().unwrap_or("");
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        if (100..200).contains(&status) {
            // An interim answer (100 Continue to a forwarded Expect): the client got
            // its own from us already.
            continue;
        }
        let framing = if request.method == "HEAD" || status == 204 || status == 304 {
            Framing::None
        } else {
            framing(&headers, true)?
        };
        let body = read_body(&mut conn.reader, &framing)?;
        let close = matches!(framing, Framing::UntilClose)
            || version == "HTTP/1.0"
            || header(&headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if close {
            *upstream = None;
        }
        return Ok(Response {
            status,
            head,
            body,
            close,
        });
    }
}

/// Invert the byte at `at`, or the last one when the body is shorter.
fn flip_byte(body: &mut [u8], at: usize) {
    if let Some(last) = body.len().checked_sub(1) {
        body[at.min(last)] ^= 0xFF;
    }
}

/// An S3 error response made up by the proxy.
fn error_response(status: &str, code: &str, message: &str, is_head: bool) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
    );
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         x-amz-request-id: fault-proxy\r\n\r\n",
        body.len()
    )
    .into_bytes();
    // A HEAD response announces the length but carries no body.
    if !is_head {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// Serve one client connection until it closes, a fault ends it, or the proxy stops.
fn serve(id: u64, client: TcpStream, shared: &Shared) -> io::Result<()> {
    client.set_nodelay(true)?;
    shared
        .state()
        .sockets
        .entry(id)
        .or_default()
        .push(client.try_clone()?);
    let mut reader = BufReader::new(client.try_clone()?);
    let mut writer = client;
    let mut upstream: Option<Upstream> = None;
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        let Some(Head {
            raw,
            start_line: request_line,
            headers,
        }) = read_head(&mut reader)?
        else {
            return Ok(());
        };
        let mut parts = request_line.split_whitespace();
        let request = RequestHead {
            raw,
            method: parts.next().unwrap_or("").to_owned(),
            target: parts.next().unwrap_or("").to_owned(),
            headers,
        };
        if request
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        {
            // The client waits for this before sending the body, and the body must be
            // read before a rule can answer in its place.
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            writer.flush()?;
        }
        let body = read_body(&mut reader, &framing(&request.headers, false)?)?;
        let client_close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let (entry, hit) = shared.decide(&request);
        let Some((_, rule)) = hit else {
            let response = exchange(id, shared, &mut upstream, &request, &body)?;
            shared.record_status(entry, response.status);
            writer.write_all(&response.head)?;
            writer.write_all(&response.body)?;
            writer.flush()?;
            if response.close || client_close {
                return Ok(());
            }
            continue;
        };
        let mut body = body;
        if let Fault::CorruptRequestBody(at) = rule.fault {
            flip_byte(&mut body, at);
        }
        let mut response = if rule.fault.needs_upstream() || rule.after_upstream {
            let response = exchange(id, shared, &mut upstream, &request, &body)?;
            shared.record_status(entry, response.status);
            Some(response)
        } else {
            None
        };
        if let (Fault::CorruptResponseBody(at), Some(r)) = (&rule.fault, response.as_mut()) {
            flip_byte(&mut r.body, *at);
        }
        let is_head = request.method == "HEAD";
        let cut = |n: usize| -> io::Result<Vec<u8>> {
            let response = response.as_ref().ok_or(io::ErrorKind::NotConnected)?;
            let mut out = response.head.clone();
            out.extend_from_slice(&response.body[..n.min(response.body.len())]);
            Ok(out)
        };
        match rule.fault {
            Fault::SlowDown => writer.write_all(&error_response(
                "503 Slow Down",
                "SlowDown",
                "Please reduce your request rate.",
                is_head,
            ))?,
            Fault::InternalError => writer.write_all(&error_response(
                "500 Internal Server Error",
                "InternalError",
                "We encountered an internal error. Please try again.",
                is_head,
            ))?,
            Fault::ErrorIn200 => writer.write_all(&error_response(
                "200 OK",
                "InternalError",
                "We encountered an internal error. Please try again.",
                is_head,
            ))?,
            Fault::ResetAfter(n) => {
                writer.write_all(&cut(n)?)?;
                writer.flush()?;
                // Linger 0: the close below sends RST instead of FIN.
                socket2::SockRef::from(&writer).set_linger(Some(Duration::ZERO))?;
                return Ok(());
            }
            Fault::ShortBody(n) => {
                writer.write_all(&cut(n)?)?;
                writer.flush()?;
                let _ = writer.shutdown(Shutdown::Write);
                return Ok(());
            }
            Fault::CorruptRequestBody(_) | Fault::CorruptResponseBody(_) => {
                writer.write_all(&cut(usize::MAX)?)?;
                let close = response.as_ref().is_some_and(|r| r.close);
                if close {
                    writer.flush()?;
                    return Ok(());
                }
            }
            Fault::Stall {
                after_body_bytes,
                duration,
            } => {
                if let Some(n) = after_body_bytes {
                    writer.write_all(&cut(n)?)?;
                    writer.flush()?;
                }
                shared.stall(duration);
                return Ok(());
            }
        }
        writer.flush()?;
        if client_close {
            return Ok(());
        }
    }
}
