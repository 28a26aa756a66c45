//! The discovery flags (`--nodes`, `--epmd`, `--dns`, `--srv`, `--basename`,
//! `--resolver`) turned into `beamlink_cluster` sources, checked once so that every
//! mistake is a usage error before anything is asked.

use std::sync::Arc;

use beamlink_cluster::strategy::Source;
use beamlink_cluster::{AddressFamilies, NodeName, Resolver, Strategy};

use crate::args::SourceArgs;
use crate::exit::Failure;

/// The sources the flags describe, in the order: nodes, EPMD hosts, DNS, SRV.
///
/// `epmd_port` is the port for `--epmd HOST` without `:PORT`. `--dns`/`--srv` need
/// `--basename`. An empty result means no source was given.
pub fn sources(args: &SourceArgs, epmd_port: u16) -> Result<Vec<Source>, Failure> {
    let mut out = Vec::new();
    if !args.nodes.is_empty() {
        let mut nodes = Vec::new();
        for n in args.nodes.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let name = NodeName::parse(n).map_err(|e| Failure::usage(format!("--nodes {n}: {e}")))?;
            nodes.push(name);
        }
        out.push(Source::Nodes(nodes));
    }
    // One source per EPMD port, hosts in the order given.
    let mut by_port: Vec<(u16, Vec<String>)> = Vec::new();
    for h in &args.epmd {
        let (host, port) = split_host_port(h, epmd_port)?;
        match by_port.iter_mut().find(|(p, _)| *p == port) {
            Some((_, hosts)) => hosts.push(host),
            None => by_port.push((port, vec![host])),
        }
    }
    for (port, hosts) in by_port {
        out.push(Source::Epmd { hosts, port });
    }
    if !args.dns.is_empty() || !args.srv.is_empty() {
        let basename = match args.basename.as_deref().map(str::trim) {
            Some(b) if !b.is_empty() => b.to_string(),
            _ => {
                return Err(Failure::usage(
                    "--dns and --srv need --basename NAME: the part before @ of the nodes' names \
                     (libcluster's application_name / node_basename)",
                ))
            }
        };
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if !basename.chars().all(valid) || NodeName::new(&basename, "host").is_err() {
            return Err(Failure::usage(format!(
                "--basename {basename:?} is not a node name part: use letters, digits, '_' or '-'"
            )));
        }
        for name in &args.dns {
            out.push(Source::Dns {
                name: name.clone(),
                basename: basename.clone(),
                families: AddressFamilies::Both,
            });
        }
        for name in &args.srv {
            out.push(Source::Srv {
                name: name.clone(),
                basename: basename.clone(),
            });
        }
    }
    Ok(out)
}

/// The resolver for DNS sources: `--resolver` (nameserver override) or the system's.
/// `None` when no source asks DNS.
pub fn resolver(args: &SourceArgs, sources: &[Source]) -> Result<Option<Arc<Resolver>>, Failure> {
    if !sources.iter().any(Source::uses_dns) {
        if args.resolver.is_some() {
            return Err(Failure::usage(
                "--resolver only applies to --dns and --srv sources",
            ));
        }
        return Ok(None);
    }
    let ns = match &args.resolver {
        Some(text) => Some(
            beamlink_cluster::parse_nameserver(text)
                .map_err(|e| Failure::usage(format!("--resolver {text}: {e}")))?,
        ),
        None => None,
    };
    Resolver::system(ns)
        .map(|r| Some(Arc::new(r)))
        .map_err(|e| Failure::usage(e.to_string()))
}

/// The strategies that ask the sources, sharing one resolver.
pub fn strategies(args: &SourceArgs, epmd_port: u16) -> Result<Vec<Arc<dyn Strategy>>, Failure> {
    let sources = sources(args, epmd_port)?;
    let resolver = resolver(args, &sources)?;
    Ok(sources.iter().map(|s| s.strategy(resolver.as_ref())).collect())
}

/// `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT`; a bare IPv6 address has no port.
fn split_host_port(text: &str, default_port: u16) -> Result<(String, u16), Failure> {
    let t = text.trim();
    let bad = || Failure::usage(format!("--epmd {text:?}: give HOST or HOST:PORT"));
    if t.is_empty() {
        return Err(bad());
    }
    if let Some(rest) = t.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        return Ok((host.to_string(), port));
    }
    if t.matches(':').count() > 1 {
        return Ok((t.to_string(), default_port));
    }
    match t.split_once(':') {
        Some((h, p)) if !h.is_empty() => Ok((h.to_string(), p.parse().map_err(|_| bad())?)),
        Some(_) => Err(bad()),
        None => Ok((t.to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SourceArgs {
        SourceArgs::default()
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("db1", 4369).unwrap(), ("db1".into(), 4369));
        assert_eq!(split_host_port("db1:4370", 4369).unwrap(), ("db1".into(), 4370));
        assert_eq!(split_host_port("::1", 4369).unwrap(), ("::1".into(), 4369));
        assert_eq!(split_host_port("[::1]:9", 4369).unwrap(), ("::1".into(), 9));
        assert!(split_host_port("db1:x", 4369).is_err());
        assert!(split_host_port(":9", 4369).is_err());
    }

    #[test]
    fn nodes_and_epmd_hosts_group_by_port() {
        let mut a = args();
        a.nodes = vec!["a@h1".into(), " b@h2 ".into()];
        a.epmd = vec!["h1".into(), "h2:4370".into(), "h3".into()];
        let s = sources(&a, 4369).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[1],
            Source::Epmd {
                hosts: vec!["h1".into(), "h3".into()],
                port: 4369
            }
        );
        assert_eq!(
            s[2],
            Source::Epmd {
                hosts: vec!["h2".into()],
                port: 4370
            }
        );
    }

    #[test]
    fn dns_needs_a_basename_and_bad_input_is_usage() {
        let mut a = args();
        a.dns = vec!["svc".into()];
        assert_eq!(sources(&a, 4369).unwrap_err().code, crate::exit::USAGE);
        a.basename = Some("my app".into());
        assert_eq!(sources(&a, 4369).unwrap_err().code, crate::exit::USAGE);
        a.basename = Some("myapp".into());
        assert!(
            matches!(&sources(&a, 4369).unwrap()[0], Source::Dns { basename, .. } if basename == "myapp")
        );
        let mut b = args();
        b.nodes = vec!["nohost".into()];
        assert_eq!(sources(&b, 4369).unwrap_err().code, crate::exit::USAGE);
        let mut c = args();
        c.nodes = vec!["a@h".into()];
        c.resolver = Some("10.0.0.1:53".into());
        let s = sources(&c, 4369).unwrap();
        assert!(resolver(&c, &s).is_err());
    }
}
