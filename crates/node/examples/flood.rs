//! Two beamlink nodes in one process, one connection between them: how many 16-byte
//! messages per second go from a mailbox on one to a mailbox on the other. For
//! profiling the node's own path (`perf record cargo run --release --example flood`).
//! No EPMD needed: the nodes meet on a fixed port on 127.0.0.1 and 127.0.0.2.

use beamlink::{EpmdMode, Node, Term};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let start = |host: &'static str| {
        Node::builder(&format!("flood{}@{host}", std::process::id()))
            .cookie("flood")
            .listen_addr(host.parse().expect("an IP"))
            .epmd(EpmdMode::None { listen_port: port })
            .start()
    };
    let a = start("127.0.0.1").await?;
    let b = start("127.0.0.2").await?;
    let mut sink = b.mailbox_named("sink")?;
    let sender = a.mailbox()?;
    let dest = ("sink", b.name().as_str());
    let size: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(16);
    let payload = Term::binary(vec![0u8; size]);
    sender.send(dest, Term::atom("warmup"))?;
    sink.recv_timeout(Duration::from_secs(10)).await?;
    let t0 = Instant::now();
    let receiver = tokio::spawn(async move {
        for _ in 0..n {
            if sink.recv().await.is_err() {
                break;
            }
        }
    });
    for _ in 0..n {
        sender.send(dest, payload.clone())?;
    }
    receiver.await?;
    let d = t0.elapsed();
    println!("{n} messages in {d:?}: {:.0} msg/s", n as f64 / d.as_secs_f64());
    Ok(())
}
