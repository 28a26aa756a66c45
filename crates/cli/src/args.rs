//! Every flag of every command, with its documentation, in one place.

use clap::{Parser, Subcommand, ValueEnum};

/// beamlink: a fast hidden member of Erlang/Elixir clusters.
///
/// The options below the commands (name, cookie, timeout, format, port, verbosity) are
/// accepted before or after the command: `beamlink --cookie-file F ping N` and
/// `beamlink ping N --cookie-file F` are the same.
#[derive(Debug, Parser)]
#[command(
    name = "beamlink",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_long_help = MANUAL
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments. For the commands a script runs in a loop (ping,
    /// list, rpc, eval, send, names) only that command's parser is built, which saves
    /// building all the others at every start; anything else (help, version, a mistake)
    /// goes through the whole parser, so messages and help are the same either way.
    pub fn parse_args() -> Result<Cli, clap::Error> {
        let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
        match plain_parse(&argv).or_else(|| quick_parse(&argv)) {
            Some(cli) => Ok(cli),
            None => Cli::try_parse_from(&argv),
        }
    }
}

/// `ping NODE...` and `rpc NODE MODULE FUNCTION [ARG...]` without a single option, the
/// forms a script runs in a loop, parsed without clap (building even one command's
/// parser costs more than the rest of the start-up); `None` for anything else, which
/// the parsers then decide. The result is what clap would give for the same words.
fn plain_parse(argv: &[std::ffi::OsString]) -> Option<Cli> {
    let words: Vec<&str> = argv.iter().skip(1).map(|a| a.to_str()).collect::<Option<_>>()?;
    if words
        .iter()
        .any(|w| w.starts_with('-') || w.is_empty() || *w == "help")
    {
        return None;
    }
    let common = Common {
        timeout: std::time::Duration::from_secs(5),
        ..Common::default()
    };
    let command = match words.as_slice() {
        ["ping", nodes @ ..] if !nodes.is_empty() => Command::Ping(PingArgs {
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            count: 1,
        }),
        ["rpc", node, module, function, args @ ..] => Command::Rpc(RpcArgs {
            node: node.to_string(),
            module: module.to_string(),
            function: function.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            elixir: false,
        }),
        _ => return None,
    };
    Some(Cli { common, command })
}

/// The parse with only the named command's parser, or `None` to use the whole one.
fn quick_parse(argv: &[std::ffi::OsString]) -> Option<Cli> {
    use clap::{Args, FromArgMatches};
    let words: Vec<&str> = argv.iter().skip(1).map(|a| a.to_str()).collect::<Option<_>>()?;
    if words
        .iter()
        .any(|w| matches!(*w, "-h" | "--help" | "-V" | "--version" | "help"))
    {
        return None;
    }
    // The first word that is neither an option nor a global option's value is the
    // command; should that guess be wrong, the quick parse fails and the whole parser
    // decides.
    let mut rest = words.iter();
    let name = loop {
        let w = *rest.next()?;
        if matches!(
            w,
            "--name" | "--sname" | "--cookie-file" | "--cookie" | "--timeout" | "--format" | "--port"
        ) {
            rest.next()?;
        } else if !w.starts_with('-') {
            break w;
        }
    };
    let sub = clap::Command::new;
    let sub = match name {
        "ping" => PingArgs::augment_args(sub("ping")),
        "list" => ListArgs::augment_args(sub("list")),
        "rpc" => RpcArgs::augment_args(sub("rpc")),
        "eval" => EvalArgs::augment_args(sub("eval")),
        "send" => SendArgs::augment_args(sub("send")),
        "names" => NamesArgs::augment_args(sub("names")),
        _ => return None,
    };
    let cmd = Common::augment_args(clap::Command::new("beamlink"))
        .subcommand(sub)
        .subcommand_required(true);
    let matches = cmd.try_get_matches_from(argv).ok()?;
    Cli::from_arg_matches(&matches).ok()
}

/// The long help's tail: how the pieces fit, with examples.
const MANUAL: &str = "\
Cookie: --cookie-file FILE, else $BEAMLINK_COOKIE, else $RELEASE_COOKIE, else
~/.erlang.cookie (read as erl reads it: only its owner may have permissions on it).

beamlink's own node: hidden, not registered with EPMD, named beamlink_<unique>@<host>
where <host> is long (this host's address towards the target) when the target's host
part has a dot or is an IP address, short (this host's name) otherwise. --name/--sname
choose the name; --dynamic lets the first peer choose it (erl_call -R).

Exit status: 0 success; 1 the operation failed (pang, badrpc, unreachable, partition);
2 usage or configuration error (bad flag, no cookie, malformed term).

Examples:
  beamlink ping app@db1.example app@db2.example
  beamlink --cookie-file /run/secrets/cookie list --epmd db1.example
  beamlink list --dns myapp-headless --basename myapp --format json
  beamlink rpc app@127.0.0.1 erlang system_info '[otp_release]'
  beamlink rpc app@127.0.0.1 lists seq 1 3 --elixir
  echo 'X = 6, X * 7.' | beamlink eval app@127.0.0.1
  beamlink send app@127.0.0.1 my_server '{hello, <<\"world\">>}'
  beamlink names db1.example --port 4369
  beamlink completions bash > /etc/bash_completion.d/beamlink";

/// The options every command accepts, before or after the command's name.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Common {
    /// More logging (repeat for more); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// beamlink's own long node name (NAME@HOST, or NAME alone to add this host's address).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        conflicts_with = "sname",
        help_heading = "Node"
    )]
    pub name: Option<String>,
    /// beamlink's own short node name (NAME@HOST, or NAME alone to add this host's name).
    #[arg(long, global = true, value_name = "NAME", help_heading = "Node")]
    pub sname: Option<String>,
    /// Let the first peer name this node (NAME_ME, as erl_call -R).
    #[arg(long, global = true, conflicts_with_all = ["name", "sname"], help_heading = "Node")]
    pub dynamic: bool,
    /// Read the cookie from this file (only its owner may have permissions on it).
    #[arg(long, global = true, value_name = "FILE", help_heading = "Node")]
    pub cookie_file: Option<std::path::PathBuf>,
    /// The cookie itself, for parity with erl_call -c. It shows in the process list:
    /// prefer --cookie-file or BEAMLINK_COOKIE.
    #[arg(
        long,
        global = true,
        value_name = "COOKIE",
        hide_env_values = true,
        help_heading = "Node"
    )]
    pub cookie: Option<String>,
    /// How long to wait for each peer (connection setup and answer): seconds, or with a
    /// unit (500ms, 2s, 1m).
    #[arg(long, global = true, value_name = "DURATION", default_value = "5", value_parser = parse_duration, help_heading = "Node")]
    pub timeout: std::time::Duration,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t, help_heading = "Output")]
    pub format: OutputFormat,
    /// A port. For ping, list, rpc, eval and send: every peer's fixed distribution
    /// port, without EPMD (peers started with `-start_epmd false -erl_epmd_port PORT`).
    /// For names and epmd: EPMD's port (default: $ERL_EPMD_PORT, else 4369).
    #[arg(long, global = true, value_name = "PORT", help_heading = "Node")]
    pub port: Option<u16>,
}

/// `5`, `2.5`, `500ms`, `2s`, `1m`: a duration for --timeout.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: give seconds (5, 0.5) or 500ms, 2s, 1m"))?;
    let secs = v * scale;
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(format!(
            "{text:?} is out of range: give more than 0 and at most a day"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Is the node up? pong or pang per node, with the round-trip time and why.
    ///
    /// Connects as a hidden node and asks each node's net_kernel, as net_adm:ping/1
    /// does. A pang names its reason: no EPMD on that host, the name is not registered,
    /// the connection was refused, the cookies differ, or no answer within --timeout.
    /// Exit 0 only when every node answered pong.
    ///
    /// Examples:
    ///   beamlink ping app@127.0.0.1
    ///   beamlink ping app@db1 app@db2 --count 3 --format json
    #[command(verbatim_doc_comment)]
    Ping(PingArgs),
    /// The cluster at a glance: every node, its state, and whether the mesh is complete.
    ///
    /// Nodes come from the sources (combinable, repeatable) and from the peers each
    /// reachable node is connected to (its nodes()), so one seed shows the whole cluster.
    /// Prints a table (node, address, status and reason, round-trip time, OTP release,
    /// how many of the other listed nodes it is connected to) and one line: the mesh is
    /// complete, or which nodes do not see which. Exit 0 only when every node is up and
    /// the mesh is complete: usable as a health check.
    ///
    /// Examples:
    ///   beamlink list --nodes app@10.0.0.1
    ///   beamlink list --epmd db1.example --epmd db2.example:4370
    ///   beamlink list --dns myapp-headless --basename myapp --resolver 10.96.0.10:53
    ///   beamlink list --srv _app._tcp.myapp.default.svc.cluster.local --basename myapp
    #[command(verbatim_doc_comment)]
    List(ListArgs),
    /// Call MODULE:FUNCTION(ARG...) on a node (rpc:call) and print the result.
    ///
    /// Each ARG is one Erlang term in text syntax (quote it for the shell). The result
    /// prints in Erlang syntax, in Elixir syntax with --elixir, or as JSON with
    /// --format json. {badrpc, Reason} prints on stderr and exits 1.
    ///
    /// Examples:
    ///   beamlink rpc app@127.0.0.1 erlang node
    ///   beamlink rpc app@127.0.0.1 lists seq 1 10
    ///   beamlink rpc app@127.0.0.1 ets info "my_table" size
    ///   beamlink rpc app@127.0.0.1 'Elixir.Application' started_applications --elixir
    #[command(verbatim_doc_comment)]
    Rpc(RpcArgs),
    /// Evaluate Erlang expressions on a node (as erl_call -e) and print the value.
    ///
    /// The expressions come from the argument, or from stdin when it is absent; a
    /// final `.` is added when missing. The value of the last one is printed.
    ///
    /// Examples:
    ///   beamlink eval app@127.0.0.1 'length(processes()).'
    ///   echo 'X = 6, X * 7.' | beamlink eval app@127.0.0.1
    #[command(verbatim_doc_comment)]
    Eval(EvalArgs),
    /// Send a term to a process registered on a node (NAME ! TERM there).
    ///
    /// Like Erlang's send, it does not wait for the process: exit 0 means the message
    /// left over an established connection, not that a process of that name exists.
    ///
    /// Example:
    ///   beamlink send app@127.0.0.1 my_server '{hello, <<"world">>}'
    #[command(verbatim_doc_comment)]
    Send(SendArgs),
    /// Print a completion script for a shell.
    ///
    /// Example:
    ///   beamlink completions bash > /etc/bash_completion.d/beamlink
    ///   beamlink completions zsh > "${fpath[1]}/_beamlink"
    #[command(verbatim_doc_comment)]
    Completions(CompletionsArgs),
    /// Convert one Erlang term between the External Term Format and text syntax.
    ///
    /// Reads one term on stdin and writes it on stdout. `etf` is the output of
    /// `term_to_binary/1` (version byte 131 first); `text` is an Erlang literal.
    ///
    /// Example: echo '{ok, [1,2,3]}' | beamlink term --from text --to etf > t.bin
    Term(TermArgs),
    /// Run an EPMD server in the foreground (a drop-in for `epmd`).
    ///
    /// Real `erl` nodes started with ERL_EPMD_PORT=<port> register here and find each
    /// other; `epmd -port <port> -names` and net_adm:names/1 list them. Registrations are
    /// logged on stderr. SIGTERM or SIGINT stops it (exit 0), so does an allowed
    /// `epmd -kill`. --port is the port to listen on.
    ///
    /// Example: beamlink epmd --port 4370 --address 10.0.0.5,::1
    Epmd(EpmdArgs),
    /// List the names registered at an EPMD, like `epmd -names`.
    ///
    /// Text output: one `NAME PORT` line per node, in EPMD's order (newest first), nothing
    /// when none is registered. JSON output: [{"name": "app", "port": 40123}, ...].
    /// --port is EPMD's port. Exit 1 with one line on stderr when no EPMD answers.
    ///
    /// Example: beamlink names db1.example --port 4369 --format json
    Names(NamesArgs),
    /// Join a cluster as a hidden node and stay in it while nodes come and go.
    ///
    /// Polls the sources every --interval, connects to the nodes that appear, reconnects
    /// dropped ones with backoff, disconnects those that vanish from every source (unless
    /// --no-prune). A failed or empty lookup keeps the current connections. Prints one line
    /// per membership change on stdout (discovered, connected, lost, vanished,
    /// disconnected, connect-failed, lookup-failed). With --http: /healthz, /readyz (200
    /// when connected to every discovered node, or --min-ready of them), /metrics
    /// (Prometheus) and /nodes (JSON). SIGTERM or SIGINT disconnects cleanly and exits 0;
    /// SIGHUP polls at once.
    ///
    /// Its own node: beamlink@$POD_IP (or --name / $BEAMLINK_NAME), registered at an EPMD
    /// on port 4369 (run inside beamlink when none is there). Every flag has a BEAMLINK_*
    /// variable, so a Kubernetes manifest needs no arguments.
    ///
    /// Examples:
    ///   beamlink join --dns myapp-headless --basename myapp --http 0.0.0.0:8080
    ///   BEAMLINK_DNS=myapp-headless BEAMLINK_BASENAME=myapp RELEASE_COOKIE=... beamlink join
    ///   beamlink join --epmd db1 --epmd db2 --interval 2s --min-ready 1
    #[command(verbatim_doc_comment)]
    Join(JoinArgs),
}

#[derive(Debug, clap::Args)]
pub struct PingArgs {
    /// The nodes to ping (name@host).
    #[arg(required = true, value_name = "NODE")]
    pub nodes: Vec<String>,
    /// Ping each node this many times (a new connection is not made between pings).
    #[arg(long, short = 'c', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Do not follow the nodes' connected peers: list only what the sources name.
    #[arg(long)]
    pub no_follow: bool,
}

/// Where node names come from: used by `list` and `join`. Sources combine; every option
/// may be repeated.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceArgs {
    /// These nodes (name@host), comma separated.
    #[arg(
        long,
        value_name = "NODE,...",
        value_delimiter = ',',
        help_heading = "Sources"
    )]
    pub nodes: Vec<String>,
    /// Every node registered at this host's EPMD (HOST or HOST:PORT; the port defaults
    /// to $ERL_EPMD_PORT, else 4369).
    #[arg(long, value_name = "HOST", help_heading = "Sources")]
    pub epmd: Vec<String>,
    /// A and AAAA records of this name (a Kubernetes headless Service): BASENAME@IP,
    /// as libcluster's Kubernetes.DNS names nodes.
    #[arg(long, value_name = "NAME", help_heading = "Sources")]
    pub dns: Vec<String>,
    /// SRV records of this name: BASENAME@TARGET, as libcluster's Kubernetes.DNSSRV.
    #[arg(long, value_name = "NAME", help_heading = "Sources")]
    pub srv: Vec<String>,
    /// The part before @ of the nodes found by --dns and --srv (libcluster's
    /// application_name / node_basename; a release's name by default in mix releases).
    #[arg(long, value_name = "NAME", help_heading = "Sources")]
    pub basename: Option<String>,
    /// Ask this nameserver instead of /etc/resolv.conf's (the search list and options
    /// still apply).
    #[arg(long, value_name = "IP:PORT", help_heading = "Sources")]
    pub resolver: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RpcArgs {
    /// The node to call (name@host).
    pub node: String,
    /// The module (an atom; Elixir modules as 'Elixir.Name').
    pub module: String,
    /// The function.
    pub function: String,
    /// The arguments, each one Erlang term in text syntax.
    #[arg(value_name = "ARG", allow_negative_numbers = true)]
    pub args: Vec<String>,
    /// Print the result in Elixir syntax.
    #[arg(long)]
    pub elixir: bool,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The node (name@host).
    pub node: String,
    /// Erlang expressions, separated by commas; read from stdin when absent.
    #[arg(allow_hyphen_values = true)]
    pub exprs: Option<String>,
    /// Print the value in Elixir syntax.
    #[arg(long)]
    pub elixir: bool,
}

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The node (name@host).
    pub node: String,
    /// The registered name of the process on that node. (Its own id: the global `--name`
    /// option is beamlink's node name, and clap would merge two arguments named alike.)
    #[arg(id = "registered_name", value_name = "NAME")]
    pub registered: String,
    /// The message, one Erlang term in text syntax.
    #[arg(allow_hyphen_values = true)]
    pub term: String,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TermFormat {
    /// External Term Format bytes, as term_to_binary/1 writes them.
    Etf,
    /// Erlang term syntax, as io_lib:format("~0p") prints it.
    Text,
}

#[derive(Debug, clap::Args)]
pub struct TermArgs {
    /// The format of the term read on stdin.
    #[arg(long, value_enum)]
    pub from: TermFormat,
    /// The format to write on stdout.
    #[arg(long, value_enum)]
    pub to: TermFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON, for scripts.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct EpmdArgs {
    /// Addresses to listen on, comma separated (IPv4 or IPv6); default: all.
    #[arg(long, env = "ERL_EPMD_ADDRESS", value_delimiter = ',')]
    pub address: Vec<String>,
    /// Allow `epmd -kill` and `-stop` while nodes are registered (epmd's -relaxed_command_check).
    #[arg(long, env = "ERL_EPMD_RELAXED_COMMAND_CHECK")]
    pub relaxed_command_check: bool,
    /// Seconds a client may take to send a whole request before its connection is closed
    /// (epmd's -packet_timeout).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub packet_timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct NamesArgs {
    /// The host whose EPMD to ask.
    #[arg(default_value = "localhost")]
    pub host: String,
}

/// `beamlink join`: every setting has an environment variable, so that a Kubernetes
/// manifest needs no arguments. Sources (when no source flag is given): BEAMLINK_DNS,
/// BEAMLINK_SRV, BEAMLINK_EPMD, BEAMLINK_NODES (comma separated), BEAMLINK_BASENAME,
/// BEAMLINK_RESOLVER; datapio_cluster's DATAPIO_SERVICE_NAME and DATAPIO_APP_NAME as
/// the DNS name and basename. Own name: --name, BEAMLINK_NAME, else beamlink@$POD_IP.
/// Cookie: RELEASE_COOKIE among the usual places.
#[derive(Debug, clap::Args)]
pub struct JoinArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Time between two lookups of the sources (libcluster's polling_interval): seconds, or
    /// with a unit (500ms, 2s, 1m).
    #[arg(long, env = "BEAMLINK_INTERVAL", value_name = "DURATION", default_value = "5", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    /// Serve /healthz, /readyz, /metrics (Prometheus) and /nodes (JSON) on this address.
    #[arg(long, env = "BEAMLINK_HTTP", value_name = "ADDR:PORT")]
    pub http: Option<String>,
    /// /readyz answers 200 once this many nodes are connected (default: every node the
    /// sources name).
    #[arg(long, env = "BEAMLINK_MIN_READY", value_name = "N")]
    pub min_ready: Option<usize>,
    /// Stay connected to nodes that vanish from every source (default: disconnect them).
    #[arg(long, env = "BEAMLINK_NO_PRUNE")]
    pub no_prune: bool,
    /// Listen for distribution on this port only (default: any free port).
    #[arg(long, env = "BEAMLINK_DIST_PORT", value_name = "PORT")]
    pub dist_port: Option<u16>,
    /// The port of the EPMD this node registers with; one runs inside beamlink when none
    /// answers there.
    #[arg(long, env = "BEAMLINK_EPMD_PORT", value_name = "PORT", default_value_t = 4369)]
    pub epmd_port: u16,
    /// net_ticktime in seconds: a peer silent this long is declared down. Use the
    /// cluster's value (the BEAM's default is 60).
    #[arg(
        long,
        env = "BEAMLINK_NET_TICKTIME",
        value_name = "SECONDS",
        default_value_t = 60
    )]
    pub net_ticktime: u64,
    /// The address to listen on for distribution (default: every address of the family
    /// of the node name's host).
    #[arg(long, env = "BEAMLINK_LISTEN", value_name = "IP")]
    pub listen: Option<std::net::IpAddr>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn both(args: &[&str]) -> (Option<Cli>, Result<Cli, clap::Error>) {
        let argv: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        (quick_parse(&argv), Cli::try_parse_from(&argv))
    }

    #[test]
    fn the_quick_parse_agrees_with_the_whole_parser() {
        for args in [
            vec!["beamlink", "rpc", "a@h", "m", "f", "1", "-2", "--elixir"],
            vec![
                "beamlink",
                "--timeout",
                "2s",
                "--format",
                "json",
                "ping",
                "a@h",
                "b@h",
                "--count",
                "3",
            ],
            vec![
                "beamlink",
                "ping",
                "a@h",
                "--cookie-file",
                "/f",
                "-vv",
                "--port",
                "9",
            ],
            vec![
                "beamlink", "--name", "me", "list", "--nodes", "a@h,b@h", "--epmd", "x",
            ],
            vec!["beamlink", "send", "a@h", "box", "{x}"],
            vec!["beamlink", "eval", "a@h"],
            vec!["beamlink", "names", "--port", "4370"],
            vec!["beamlink", "--name", "ping", "rpc", "a@h", "m", "f"],
            vec!["beamlink", "--port=9", "ping", "a@h"],
        ] {
            let (quick, full) = both(&args);
            let quick = quick.unwrap_or_else(|| panic!("quick parse of {args:?}"));
            assert_eq!(format!("{quick:?}"), format!("{:?}", full.unwrap()), "{args:?}");
        }
    }

    #[test]
    fn anything_unusual_goes_to_the_whole_parser() {
        for args in [
            vec!["beamlink", "--help"],
            vec!["beamlink", "ping", "--help"],
            vec!["beamlink", "ping"],
            vec!["beamlink", "--name", "ping"],
            vec!["beamlink", "term", "--from", "text", "--to", "etf"],
            vec!["beamlink", "nosuchcommand"],
        ] {
            assert!(both(&args).0.is_none(), "{args:?}");
        }
    }

    #[test]
    fn the_plain_parse_agrees_with_the_whole_parser() {
        for args in [
            vec!["beamlink", "ping", "a@h"],
            vec!["beamlink", "ping", "a@h", "b@127.0.0.1"],
            vec!["beamlink", "rpc", "a@h", "erlang", "node"],
            vec!["beamlink", "rpc", "a@h", "lists", "seq", "1", "3"],
            vec!["beamlink", "rpc", "a@h", "m", "f", "{x, \"y z\"}"],
        ] {
            let argv: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            let plain = plain_parse(&argv).unwrap_or_else(|| panic!("plain parse of {args:?}"));
            let full = Cli::try_parse_from(&argv).unwrap();
            assert_eq!(format!("{plain:?}"), format!("{full:?}"), "{args:?}");
        }
    }

    #[test]
    fn the_plain_parse_leaves_options_and_other_commands_to_clap() {
        for args in [
            vec!["beamlink", "ping"],
            vec!["beamlink", "ping", "a@h", "-c", "2"],
            vec!["beamlink", "rpc", "a@h", "m"],
            vec!["beamlink", "rpc", "a@h", "m", "f", "-1"],
            vec!["beamlink", "rpc", "a@h", "m", "f", "--elixir"],
            vec!["beamlink", "--quiet", "ping", "a@h"],
            vec!["beamlink", "ping", "help"],
            vec!["beamlink", "ping", ""],
            vec!["beamlink", "list", "a@h"],
            vec!["beamlink"],
        ] {
            let argv: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            assert!(plain_parse(&argv).is_none(), "{args:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5").unwrap(), std::time::Duration::from_secs(5));
        assert_eq!(
            parse_duration("500ms").unwrap(),
            std::time::Duration::from_millis(500)
        );
        assert_eq!(
            parse_duration("1.5s").unwrap(),
            std::time::Duration::from_millis(1500)
        );
        assert_eq!(parse_duration("1m").unwrap(), std::time::Duration::from_secs(60));
        for bad in ["0", "-1", "soon", "", "1h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
