//! `beamlink epmd`: the EPMD server in the foreground until SIGTERM, SIGINT or an allowed
//! KILL_REQ.

use std::time::Duration;

use beamlink_epmd::{EpmdServer, ServerConfig, Stopped};

use crate::args::{Common, EpmdArgs};
use crate::exit;
use crate::signals::Signals;

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
    // Before the runtime, so that no thread of it can take these signals.
    let signals = match Signals::handle(&[libc::SIGTERM, libc::SIGINT]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("beamlink epmd: cannot handle SIGTERM and SIGINT: {e}");
            return exit::FAILED;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("beamlink epmd: cannot start the runtime: {e}");
            return exit::FAILED;
        }
    };
    runtime.block_on(serve(config, signals))
}

async fn serve(config: ServerConfig, mut signals: Signals) -> i32 {
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
        signal = signals.recv() => crate::signals::name(signal),
    };
    tracing::info!(signal, "stopping");
    server.shutdown().await;
    exit::OK
}
