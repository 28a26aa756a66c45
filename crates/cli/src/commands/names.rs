//! `beamlink names`: the names registered at an EPMD, like `epmd -names`.

use beamlink_epmd::EpmdClient;

use crate::args::{Common, NamesArgs, OutputFormat};
use crate::exit;

pub fn run(args: NamesArgs, common: &Common) -> i32 {
    let port = match crate::node_setup::epmd_port(common.port) {
        Ok(p) => p,
        Err(f) => return f.report("names"),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("beamlink names: cannot start the runtime: {e}");
            return exit::FAILED;
        }
    };
    let client = EpmdClient::new(args.host.clone(), port);
    let names = match runtime.block_on(client.names()) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("beamlink names: {e}");
            return exit::FAILED;
        }
    };
    let out = match common.format {
        OutputFormat::Text => names
            .iter()
            .map(|n| format!("{} {}\n", n.name, n.port))
            .collect::<String>(),
        OutputFormat::Json => {
            let list: Vec<_> = names
                .iter()
                .map(|n| serde_json::json!({ "name": n.name, "port": n.port }))
                .collect();
            format!("{}\n", serde_json::Value::Array(list))
        }
    };
    print!("{out}");
    exit::OK
}
