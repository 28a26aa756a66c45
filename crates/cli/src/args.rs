//! Every flag of every command, with its documentation, in one place.

use clap::{Parser, Subcommand, ValueEnum};

/// beamlink: a fast hidden member of Erlang/Elixir clusters.
#[derive(Debug, Parser)]
#[command(name = "beamlink", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More logging (repeat for more); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// `epmd -kill`.
    ///
    /// Example: beamlink epmd --port 4370 --address 10.0.0.5,::1
    Epmd(EpmdArgs),
    /// List the names registered at an EPMD, like `epmd -names`.
    ///
    /// Text output: one `NAME PORT` line per node, in EPMD's order (newest first), nothing
    /// when none is registered. JSON output: [{"name": "app", "port": 40123}, ...].
    /// Exit 1 with one line on stderr when no EPMD answers.
    ///
    /// Example: beamlink names db1.example --port 4369 --format json
    Names(NamesArgs),
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
    /// Port to listen on.
    #[arg(long, env = "ERL_EPMD_PORT", default_value_t = 4369)]
    pub port: u16,
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
    /// EPMD's port.
    #[arg(long, env = "ERL_EPMD_PORT", default_value_t = 4369)]
    pub port: u16,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}
