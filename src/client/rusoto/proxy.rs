//! HTTP proxies for the backend's connections, as curl, the AWS CLI and the SDKs take
//! them from the environment: `HTTPS_PROXY` for https, `HTTP_PROXY` for http (the
//! lowercase names first, as curl reads them), `NO_PROXY` for the hosts that go
//! direct. An https connection goes through an HTTP CONNECT tunnel, so TLS runs end to
//! end with the store; an http request is sent to the proxy in absolute form.
//!
//! Written here because the crates that do this for hyper 0.14 (hyper-proxy and its
//! forks) pin old TLS stacks; the protocol part is one CONNECT exchange.

use std::fmt;
use std::io;

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::transport::proxy_variable;
use crate::client::{S3Error, S3ErrorKind};

/// One proxy: where it listens, and its credentials as a ready `Proxy-Authorization`
/// value (never shown: `Debug` leaves it out).
#[derive(Clone)]
pub(super) struct Proxy {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) authorization: Option<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &self.authorization.as_ref().map(|_| "(set)"))
            .finish()
    }
}

impl Proxy {
    /// `http://[user:password@]host[:port][/]`; a URL without a scheme is taken as
    /// http, as curl does. The port defaults to 80. Only http proxies: TLS to the proxy
    /// itself is not supported (refused, not silently ignored).
    pub(super) fn parse(url: &str) -> Result<Proxy, S3Error> {
        let fail = |why: &str| {
            S3Error::new(
                S3ErrorKind::Other,
                "Configure",
                // The URL may carry a password: name only what is wrong.
                format!("invalid proxy URL: {why}"),
            )
        };
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some((_, _)) => return Err(fail("only http:// proxies are supported")),
            None => url,
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| fail("the port is not a number"))?,
            ),
            _ => (hostport, 80),
        };
        if host.is_empty() {
            return Err(fail("no host"));
        }
        let authorization = userinfo.map(|u| {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            let pair = format!("{}:{}", percent_decode(user), percent_decode(password));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        Ok(Proxy {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            authorization,
        })
    }

    /// Open a tunnel to `host:port` through this proxy (HTTP CONNECT) and return the
    /// socket, ready for the TLS handshake with the store.
    pub(super) async fn connect_tunnel(
        &self,
        mut socket: TcpStream,
        host: &str,
        port: u16,
    ) -> io::Result<TcpStream> {
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(auth) = &self.authorization {
            request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
        request.push_str("\r\n");
        socket.write_all(request.as_bytes()).await?;
        // The proxy sends nothing after its answer's head until the client speaks, so
        // reading up to the blank line takes no byte of the tunnel.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 16 * 1024 || socket.read(&mut byte).await? == 0 {
                return Err(io::Error::other("the proxy closed the CONNECT exchange"));
            }
            head.push(byte[0]);
        }
        let status_line = String::from_utf8_lossy(&head);
        let status_line = status_line.lines().next().unwrap_or_default();
        let ok = status_line
            .split_whitespace()
            .nth(1)
            .is_some_and(|code| code.starts_with('2'));
        if !ok {
            return Err(io::Error::other(format!(
                "the proxy refused the tunnel to {target}: {status_line}"
            )));
        }
        Ok(socket)
    }
}

/// The proxies of each scheme and the hosts that bypass them.
#[derive(Clone, Debug, Default)]
pub(super) struct Proxies {
    pub(super) http: Option<Proxy>,
    pub(super) https: Option<Proxy>,
    /// `NO_PROXY` entries, lowercase, without a leading dot or `*.`.
    no_proxy: Vec<String>,
    /// `NO_PROXY=*`: nothing is proxied.
    no_proxy_all: bool,
}

impl Proxies {
    /// From `lookup` (the environment, or a test's map): `https_proxy`/`HTTPS_PROXY`,
    /// `http_proxy`/`HTTP_PROXY`, `no_proxy`/`NO_PROXY`. An empty value counts as unset.
    pub(super) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Proxies, S3Error> {
        let var = |name: &str| proxy_variable(&lookup, name);
        let mut proxies = Proxies {
            http: var("HTTP_PROXY").map(|u| Proxy::parse(&u)).transpose()?,
            https: var("HTTPS_PROXY").map(|u| Proxy::parse(&u)).transpose()?,
            ..Proxies::default()
        };
        proxies.set_no_proxy(&var("NO_PROXY").unwrap_or_default());
        Ok(proxies)
    }

    /// The process environment's proxies.
    pub(super) fn from_env() -> Result<Proxies, S3Error> {
        Proxies::from_lookup(|name| std::env::var(name).ok())
    }

    /// Comma-separated hosts, domains (`.example.com`, `example.com` and `*.example.com`
    /// all match the domain and its subdomains), IP addresses, `host:port` (the port is
    /// ignored), or `*` for all.
    pub(super) fn set_no_proxy(&mut self, list: &str) {
        self.no_proxy.clear();
        self.no_proxy_all = false;
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                self.no_proxy_all = true;
                continue;
            }
            let entry = entry.trim_start_matches("*.").trim_start_matches('.');
            let host = match entry.rsplit_once(':') {
                Some((h, p)) if p.parse::<u16>().is_ok() && !h.contains(':') => h,
                _ => entry,
            };
            self.no_proxy
                .push(host.trim_matches(['[', ']']).to_ascii_lowercase());
        }
    }

    /// The proxy for a connection to `host` over `scheme` (`"http"`/`"https"`).
    pub(super) fn for_host(&self, scheme: &str, host: &str) -> Option<&Proxy> {
        let proxy = match scheme {
            "https" => self.https.as_ref(),
            _ => self.http.as_ref(),
        }?;
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        let bypass = self.no_proxy_all
            || self.no_proxy.iter().any(|entry| {
                host == *entry
                    || (host.len() > entry.len()
                        && host.ends_with(entry.as_str())
                        && host.as_bytes()[host.len() - entry.len() - 1] == b'.')
            });
        (!bypass).then_some(proxy)
    }

    /// Whether no proxy is configured at all.
    pub(super) fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok();
        match (bytes[i], hex().and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn lowercase_variables_win_and_no_proxy_matches_domain_suffixes() {
        let p = Proxies::from_lookup(env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "proxy.corp:3128"),
            (
                "NO_PROXY",
                "localhost, .internal.example,*.svc, 10.0.0.1:9000",
            ),
        ]))
        .unwrap();
        let proxy = p.for_host("https", "s3.eu-west-1.amazonaws.com").unwrap();
        assert_eq!((proxy.host.as_str(), proxy.port), ("proxy.corp", 3128));
        for direct in [
            "localhost",
            "a.internal.example",
            "internal.example",
            "x.svc",
            "10.0.0.1",
        ] {
            assert!(p.for_host("https", direct).is_none(), "{direct}");
        }
        // A suffix match is on a label boundary only.
        assert!(p.for_host("https", "notinternal.example").is_some());
        // No http proxy is set.
        assert!(p.for_host("http", "s3.example").is_none());
    }

    #[test]
    fn no_proxy_star_bypasses_everything() {
        let p = Proxies::from_lookup(env(&[("HTTP_PROXY", "http://p:8080"), ("no_proxy", "*")]))
            .unwrap();
        assert!(p.for_host("http", "anything.example").is_none());
    }

    #[test]
    fn proxy_credentials_become_a_basic_header_and_are_never_shown() {
        let p = Proxy::parse("http://us%40er:p%3Ass@proxy:8080/").unwrap();
        assert_eq!(
            p.authorization.as_deref(),
            Some(
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("us@er:p:ss")
                )
                .as_str()
            )
        );
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("p%3Ass") && !shown.contains("p:ss"),
            "{shown}"
        );
        let err = Proxy::parse("socks5://user:secret@proxy:1080").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
