//! DNS name resolution configured like the platform's own resolver.
//!
//! A pod's `/etc/resolv.conf` carries the search list (`NS.svc.cluster.local
//! svc.cluster.local cluster.local`) and `options ndots:5`; reading it is what makes a
//! bare `my-svc` resolve in the pod's namespace. Overriding the nameserver (`--resolver
//! IP:PORT`) keeps the search list and options and replaces only the servers.
//!
//! Lookups never cache: discovery polls to see changes, and a cached answer would hide them.
//! An answer without records (NXDOMAIN, or NOERROR with no data) is `Ok` with nothing in
//! it; anything else that prevents an answer (timeout, refused, server failure, no
//! server reachable) is a [`LookupError`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, Protocol, ResolverConfig, ResolverOpts};
use hickory_resolver::error::{ResolveError, ResolveErrorKind};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::TokioAsyncResolver;

/// The file the platform resolver reads.
pub const SYSTEM_RESOLV_CONF: &str = "/etc/resolv.conf";

/// Which address records to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFamilies {
    /// A records only (what libcluster's `DNSPoll` and `Kubernetes.DNS` ask for).
    V4,
    /// AAAA records only.
    V6,
    /// A and AAAA records (what dns_cluster asks for by default).
    Both,
}

/// The resolver could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ResolverConfigError {
    /// The file could not be read.
    #[error("cannot read resolver configuration {path}: {source}; pass a nameserver explicitly (--resolver IP:PORT)")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid resolv.conf syntax.
    #[error("cannot parse resolver configuration {path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A lookup got no answer: the nameservers timed out, refused, failed or were unreachable.
///
/// Distinct from an empty answer, which is `Ok` with no records.
#[derive(Debug, Clone, thiserror::Error)]
#[error("DNS lookup of {record} records for `{name}` failed: {reason} (nameservers: {nameservers}); check that the nameserver is up and reachable")]
pub struct LookupError {
    /// The name asked for, as given (before the search list).
    pub name: String,
    /// The record type: `A`, `AAAA` or `SRV`.
    pub record: &'static str,
    /// What went wrong.
    pub reason: String,
    /// The nameservers that were asked.
    pub nameservers: String,
}

/// One SRV answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SrvTarget {
    /// Lower is preferred.
    pub priority: u16,
    /// Share among targets of equal priority.
    pub weight: u16,
    /// The service's port on the target.
    pub port: u16,
    /// The target host without the trailing dot, as Erlang's `inet_res` returns it.
    pub target: String,
}

/// How to build a [`Resolver`]: from a resolv.conf file (default `/etc/resolv.conf`), with
/// optional overrides.
#[derive(Debug, Clone, Default)]
pub struct ResolverBuilder {
    resolv_conf: Option<PathBuf>,
    resolv_conf_text: Option<String>,
    nameserver: Option<SocketAddr>,
    timeout: Option<Duration>,
    attempts: Option<usize>,
}

impl ResolverBuilder {
    /// Read this file instead of `/etc/resolv.conf`.
    pub fn resolv_conf(mut self, path: impl Into<PathBuf>) -> Self {
        self.resolv_conf = Some(path.into());
        self
    }
    /// Use this resolv.conf text instead of reading a file.
    pub fn resolv_conf_text(mut self, text: impl Into<String>) -> Self {
        self.resolv_conf_text = Some(text.into());
        self
    }
    /// Ask this nameserver (UDP, then TCP) instead of those in resolv.conf; the search list,
    /// domain and options (ndots, timeout, attempts) still come from resolv.conf. When
    /// resolv.conf cannot be read, the override alone is used with default options.
    pub fn nameserver(mut self, addr: SocketAddr) -> Self {
        self.nameserver = Some(addr);
        self
    }
    /// Per-request timeout (resolv.conf `options timeout:N`, default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Attempts per nameserver (resolv.conf `options attempts:N`, default 2).
    pub fn attempts(mut self, attempts: usize) -> Self {
        self.attempts = Some(attempts);
        self
    }

    /// Reads the configuration and builds the resolver. Must run inside a tokio runtime.
    pub fn build(self) -> Result<Resolver, ResolverConfigError> {
        let path = self
            .resolv_conf
            .clone()
            .unwrap_or_else(|| PathBuf::from(SYSTEM_RESOLV_CONF));
        let text = match (&self.resolv_conf_text, self.nameserver) {
            (Some(t), _) => Some(t.clone()),
            (None, override_ns) => match std::fs::read_to_string(&path) {
                Ok(t) => Some(t),
                // With an explicit nameserver, a missing resolv.conf is no obstacle.
                Err(_) if override_ns.is_some() => None,
                Err(source) => return Err(ResolverConfigError::Read { path, source }),
            },
        };
        let (mut config, mut opts) = match text {
            Some(t) => hickory_resolver::system_conf::parse_resolv_conf(t.as_bytes()).map_err(|e| {
                ResolverConfigError::Parse {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?,
            None => (
                ResolverConfig::from_parts(None, vec![], vec![]),
                ResolverOpts::default(),
            ),
        };
        if let Some(ns) = self.nameserver {
            let mut with_override =
                ResolverConfig::from_parts(config.domain().cloned(), config.search().to_vec(), vec![]);
            with_override.add_name_server(NameServerConfig::new(ns, Protocol::Udp));
            with_override.add_name_server(NameServerConfig::new(ns, Protocol::Tcp));
            config = with_override;
        }
        if let Some(t) = self.timeout {
            opts.timeout = t;
        }
        if let Some(a) = self.attempts {
            opts.attempts = a;
        }
        // Discovery polls to see changes: never answer from a cache.
        opts.cache_size = 0;
        let mut seen = Vec::new();
        for ns in config.name_servers() {
            if !seen.contains(&ns.socket_addr) {
                seen.push(ns.socket_addr);
            }
        }
        let nameservers = if seen.is_empty() {
            "none configured".to_string()
        } else {
            seen.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
        };
        // The search list is applied here, not by hickory, so that each candidate name's
        // answer can be told apart (see `Resolver::search`).
        let search: Vec<String> = config
            .search()
            .iter()
            .map(|n| n.to_ascii().trim_end_matches('.').to_string())
            .filter(|n| !n.is_empty())
            .collect();
        let summary = ResolverSummary {
            nameservers,
            search,
            ndots: opts.ndots,
        };
        let bare = ResolverConfig::from_parts(None, vec![], config.name_servers().to_vec());
        Ok(Resolver {
            inner: TokioAsyncResolver::tokio(bare, opts),
            summary,
        })
    }
}

/// What `name` was asked for, as a list of absolute names, the way the C library and
/// Erlang's `inet_res` do: a name ending with a dot is absolute; a name with at least
/// `ndots` dots is tried as is first, then with each search domain; a shorter one with each
/// search domain first, then as is.
pub fn candidates(name: &str, search: &[String], ndots: usize) -> Vec<String> {
    if let Some(absolute) = name.strip_suffix('.') {
        return vec![format!("{absolute}.")];
    }
    let with_search = search.iter().map(|d| format!("{name}.{d}."));
    let as_is = std::iter::once(format!("{name}."));
    if name.matches('.').count() >= ndots {
        as_is.chain(with_search).collect()
    } else {
        with_search.chain(as_is).collect()
    }
}

/// One candidate name's answer.
enum Answer<T> {
    Records(Vec<T>),
    /// NXDOMAIN, or NOERROR without records of that type.
    Nothing,
    /// No usable answer; `fatal` when the server itself did not answer (timeout,
    /// unreachable), which ends the search.
    Failed {
        reason: String,
        fatal: bool,
    },
}

/// What a [`Resolver`] was configured with, for logs and errors.
#[derive(Debug, Clone)]
pub struct ResolverSummary {
    /// The nameservers asked, `IP:PORT`, comma separated.
    pub nameservers: String,
    /// The search list, in order, without trailing dots.
    pub search: Vec<String>,
    /// Names with fewer dots than this go through the search list first.
    pub ndots: usize,
}

/// A DNS resolver for discovery: asynchronous, uncached, configured from resolv.conf.
pub struct Resolver {
    inner: TokioAsyncResolver,
    summary: ResolverSummary,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("summary", &self.summary)
            .finish()
    }
}

impl Resolver {
    /// A builder that reads `/etc/resolv.conf` unless told otherwise.
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::default()
    }

    /// The platform's resolver configuration, optionally with another nameserver.
    pub fn system(nameserver: Option<SocketAddr>) -> Result<Resolver, ResolverConfigError> {
        let b = Self::builder();
        match nameserver {
            Some(ns) => b.nameserver(ns).build(),
            None => b.build(),
        }
    }

    /// What this resolver asks and how.
    pub fn summary(&self) -> &ResolverSummary {
        &self.summary
    }

    /// The addresses of `name`. An empty vector means the name has no such records. With
    /// both families, A and AAAA are asked at the same time; if either lookup fails, the
    /// whole lookup fails (a half answer would look like pods going away).
    pub async fn lookup_ips(
        &self,
        name: &str,
        families: AddressFamilies,
    ) -> Result<Vec<IpAddr>, LookupError> {
        let v4 = async {
            if families == AddressFamilies::V6 {
                return Ok(Vec::new());
            }
            self.search(name, "A", |n| async move {
                self.inner
                    .ipv4_lookup(n)
                    .await
                    .map(|l| l.iter().map(|a| IpAddr::V4(a.0)).collect())
            })
            .await
        };
        let v6 = async {
            if families == AddressFamilies::V4 {
                return Ok(Vec::new());
            }
            self.search(name, "AAAA", |n| async move {
                self.inner
                    .ipv6_lookup(n)
                    .await
                    .map(|l| l.iter().map(|a| IpAddr::V6(a.0)).collect())
            })
            .await
        };
        let (v4, v6) = tokio::join!(v4, v6);
        let mut out: Vec<IpAddr> = v4?;
        out.extend(v6?);
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The SRV records of `name`. An empty vector means the name has no SRV records.
    pub async fn lookup_srv(&self, name: &str) -> Result<Vec<SrvTarget>, LookupError> {
        let mut out = self
            .search(name, "SRV", |n| async move {
                self.inner.srv_lookup(n).await.map(|l| {
                    l.iter()
                        .map(|s| {
                            let t = s.target().to_ascii();
                            SrvTarget {
                                priority: s.priority(),
                                weight: s.weight(),
                                port: s.port(),
                                target: t.strip_suffix('.').unwrap_or(&t).to_string(),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .await?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Asks each candidate name (see [`candidates`]) in turn. The first one with records
    /// answers. Without records anywhere: empty if some candidate said "no such records"
    /// (NXDOMAIN or NODATA), even if others were refused, as the C library reports it;
    /// a failure otherwise. A server that does not answer at all ends the search.
    async fn search<T, F, Fut>(&self, name: &str, record: &'static str, ask: F) -> Result<Vec<T>, LookupError>
    where
        F: Fn(hickory_resolver::Name) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>, ResolveError>>,
    {
        let mut saw_nothing = false;
        let mut last_failure = None;
        for candidate in candidates(name, &self.summary.search, self.summary.ndots) {
            let fqdn = hickory_resolver::Name::from_ascii(&candidate).map_err(|e| {
                self.error(
                    name,
                    record,
                    format!("`{candidate}` is not a valid DNS name: {e}"),
                )
            })?;
            let answer = match ask(fqdn).await {
                Ok(records) if records.is_empty() => Answer::Nothing,
                Ok(records) => Answer::Records(records),
                Err(e) => classify(e),
            };
            match answer {
                Answer::Records(r) => return Ok(r),
                Answer::Nothing => saw_nothing = true,
                Answer::Failed { reason, fatal } => {
                    let reason = format!("{reason} (asking {candidate})");
                    if fatal {
                        return Err(self.error(name, record, reason));
                    }
                    last_failure = Some(reason);
                }
            }
        }
        match (saw_nothing, last_failure) {
            (false, Some(reason)) => Err(self.error(name, record, reason)),
            _ => Ok(Vec::new()),
        }
    }

    fn error(&self, name: &str, record: &'static str, reason: String) -> LookupError {
        LookupError {
            name: name.to_string(),
            record,
            reason,
            nameservers: self.summary.nameservers.clone(),
        }
    }
}

/// Sorts a hickory error into "no such records", a refusal or failure by the server (try
/// the next candidate), or no answer from the server at all (stop).
fn classify<T>(e: ResolveError) -> Answer<T> {
    match e.kind() {
        ResolveErrorKind::NoRecordsFound { response_code, .. } => {
            if matches!(response_code, ResponseCode::NoError | ResponseCode::NXDomain) {
                Answer::Nothing
            } else {
                Answer::Failed {
                    reason: format!("the nameserver answered {response_code}"),
                    fatal: false,
                }
            }
        }
        ResolveErrorKind::Timeout => Answer::Failed {
            reason: "no answer before the timeout".into(),
            fatal: true,
        },
        ResolveErrorKind::NoConnections => Answer::Failed {
            reason: "no nameserver could be reached".into(),
            fatal: true,
        },
        ResolveErrorKind::Io(_) | ResolveErrorKind::Proto(_) => Answer::Failed {
            reason: e.to_string(),
            fatal: true,
        },
        _ => Answer::Failed {
            reason: e.to_string(),
            fatal: false,
        },
    }
}

/// Parses a nameserver given on a command line: `IP:PORT`, `[IPv6]:PORT`, or a bare `IP`
/// (port 53).
pub fn parse_nameserver(text: &str) -> Result<SocketAddr, String> {
    let t = text.trim();
    if let Ok(addr) = t.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = t.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "`{text}` is not a nameserver address: expected IP, IP:PORT or [IPv6]:PORT"
    ))
}

/// Reads resolv.conf at `path` and says whether it parses, for a startup check.
pub fn check_resolv_conf(path: &Path) -> Result<(), ResolverConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ResolverConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    hickory_resolver::system_conf::parse_resolv_conf(text.as_bytes())
        .map(|_| ())
        .map_err(|e| ResolverConfigError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn override_keeps_search_list_and_ndots() {
        let r = Resolver::builder()
            .resolv_conf_text(
                "nameserver 10.0.0.10\nsearch ns1.svc.cluster.local svc.cluster.local\noptions ndots:5\n",
            )
            .nameserver("10.245.3.1:5353".parse().unwrap())
            .build()
            .unwrap();
        let s = r.summary();
        assert_eq!(s.nameservers, "10.245.3.1:5353");
        assert_eq!(s.search, vec!["ns1.svc.cluster.local", "svc.cluster.local"]);
        assert_eq!(s.ndots, 5);
    }

    #[test]
    fn search_list_order_follows_ndots() {
        let search = vec![
            "ns1.svc.cluster.local".to_string(),
            "svc.cluster.local".to_string(),
        ];
        assert_eq!(
            candidates("app", &search, 5),
            vec!["app.ns1.svc.cluster.local.", "app.svc.cluster.local.", "app."]
        );
        assert_eq!(
            candidates("a.b.c.d.e.f", &search, 5),
            vec![
                "a.b.c.d.e.f.",
                "a.b.c.d.e.f.ns1.svc.cluster.local.",
                "a.b.c.d.e.f.svc.cluster.local."
            ]
        );
        assert_eq!(candidates("app.example.", &search, 5), vec!["app.example."]);
        assert_eq!(candidates("app", &[], 1), vec!["app."]);
    }

    #[test]
    fn nameserver_forms() {
        assert_eq!(
            parse_nameserver("10.0.0.1").unwrap(),
            "10.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("10.0.0.1:5353").unwrap(),
            "10.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("fd00::1").unwrap(),
            "[fd00::1]:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("[fd00::1]:54").unwrap(),
            "[fd00::1]:54".parse().unwrap()
        );
        assert!(parse_nameserver("dns.example:53").is_err());
    }

    #[tokio::test]
    async fn missing_resolv_conf_is_an_error_unless_a_nameserver_is_given() {
        let missing = "/nonexistent/beamlink/resolv.conf";
        assert!(matches!(
            Resolver::builder().resolv_conf(missing).build(),
            Err(ResolverConfigError::Read { .. })
        ));
        let r = Resolver::builder()
            .resolv_conf(missing)
            .nameserver("127.0.0.1:53".parse().unwrap())
            .build();
        assert_eq!(r.unwrap().summary().nameservers, "127.0.0.1:53");
    }
}
