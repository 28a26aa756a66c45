//! `beamlink names`: the names registered at an EPMD, like `epmd -names`.

use beamlink_epmd::EpmdClient;

use crate::args::{NamesArgs, OutputFormat};
use crate::exit;

pub fn run(args: NamesArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("beamlink names: cannot start the runtime: {e}");
            return exit::FAILED;
        }
    };
    let client = EpmdClient::new(args.host.clone(), args.port);
    let names = match runtime.block_on(client.names()) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("beamlink names: {e}");
            return exit::FAILED;
        }
    };
    let out = match args.format {
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
