//! `beamlink epmd`: the EPMD server in the foreground until SIGTERM, SIGINT or an allowed
//! KILL_REQ.

use std::time::Duration;

use beamlink_epmd::{EpmdServer, ServerConfig, Stopped};

use crate::args::{Common, EpmdArgs};
use crate::exit;

pub fn run(args: EpmdArgs, common: &Common) -> i32 {
    let port = match crate::node_setup::epmd_port(common.port) {
        Ok(p) => p,
        Err(f) => return f.report("epmd"),
    };
    let mut addresses = Vec::new();
    for a in &args.address {
        match ServerConfig::parse_addresses(a) {
            Ok(mut v) => addresses.append(&mut v),
            Err(e) => {
                eprintln!("beamlink epmd: {e}");
                return exit::USAGE;
            }
        }
    }
    let config = ServerConfig {
        port,
        addresses,
        relaxed_command_check: args.relaxed_command_check,
        packet_timeout: Duration::from_secs(args.packet_timeout.max(1)),
        ..ServerConfig::default()
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("beamlink epmd: cannot start the runtime: {e}");
            return exit::FAILED;
        }
    };
    runtime.block_on(serve(config))
}

async fn serve(config: ServerConfig) -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("beamlink epmd: cannot handle signals: {e}");
            return exit::FAILED;
        }
    };
    let mut server = match EpmdServer::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("beamlink epmd: {e}");
            return exit::FAILED;
        }
    };
    let signal = tokio::select! {
        why = server.stopped() => {
            if why == Stopped::Killed {
                tracing::info!("stopped by KILL_REQ");
            }
            return exit::OK;
        }
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal, "stopping");
    server.shutdown().await;
    exit::OK
}
