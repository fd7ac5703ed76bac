//! The proof: 4 worker processes x 100,000 records -> listener -> SysLogHandler (TCP,
//! octet counting) -> a real rsyslogd -> its file: every record once, in each worker's order.

mod common;

use std::sync::Arc;

use common::rsyslog::Rsyslog;
use mplog::handler::syslog::{Framing, SockType, SysLogHandler, SyslogAddress};
use mplog::handler::Handler;
use mplog::queue::QueueListener;

const WORKERS: usize = 4;
const RECORDS: usize = 100_000;

#[test]
fn child() {
    let Some(role) = common::role() else { return };
    let w: usize = role.parse().expect("worker number");
    let guard = mplog::worker::init_from_env().expect("init");
    common::log_numbered(w, RECORDS);
    drop(guard);
}

#[test]
fn every_record_reaches_rsyslog_once_in_each_workers_order() {
    if common::role().is_some() {
        return;
    }
    let Some(rs) = Rsyslog::start() else { return };
    let syslog = SysLogHandler::builder(SyslogAddress::inet("127.0.0.1", rs.tcp_port))
        .socktype(SockType::Stream)
        .framing(Framing::OctetCounting)
        .ident("app: ")
        .build()
        .unwrap();
    let syslog = Arc::new(syslog);
    let listener = QueueListener::builder()
        .handlers(vec![syslog.clone() as Arc<dyn Handler>])
        .start()
        .expect("listener");
    let children = common::spawn_workers(WORKERS, listener.endpoint(), &[]);
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let stats = listener.stop();
    syslog.close();
    assert_eq!(stats.records, (WORKERS * RECORDS) as u64);
    assert_eq!(syslog.base().error_count(), 0);
    let lines = rs.messages("tcp", WORKERS * RECORDS);
    assert_eq!(lines.len(), WORKERS * RECORDS, "{}", rs.output());
    for w in 0..WORKERS {
        common::check_worker(&lines, w, RECORDS);
    }
}
