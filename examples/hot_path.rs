//! Logs 2,000,000 enabled records into a NullHandler and prints the time per call: a quick
//! profile target (`valgrind --tool=callgrind target/release/examples/hot_path`).

use std::sync::Arc;
use std::time::Instant;

use mplog::handler::NullHandler;
use mplog::{Level, Manager};

fn main() {
    let m = Manager::new();
    let log = m.get_logger("app.db.pool");
    log.set_level(Level::INFO);
    log.set_propagate(false);
    log.add_handler(Arc::new(NullHandler::new()));
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let start = Instant::now();
    for _ in 0..n {
        mplog::info!(log, "request served");
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(n);
    println!("hot_path calls={n} ns_per_call={ns:.1}");
}
