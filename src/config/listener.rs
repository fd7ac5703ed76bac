//! A queue listener configured by file, and its live reload.
//!
//! A reload reads and checks the new configuration and builds it into a fresh hierarchy on the
//! caller's thread (opening its files); only then is the new hierarchy handed to the dispatch
//! thread, which swaps it in between two batches and flushes and closes the old one's
//! handlers. So each record is handled by exactly one configuration and none is lost. An
//! incremental configuration changes levels of the running hierarchy in place instead.
//!
//! A reload applies as CPython's `dictConfig` applies to a running process: the running
//! hierarchy's loggers are carried into the new one first, so with `disable_existing_loggers`
//! (the default) those the new configuration does not name, nor has below one it names, are
//! disabled (mplog's own `mplog.*` loggers excepted).
//!
//! The new configuration's files are opened before the swap: a file handler with `mode: w`
//! truncates its file then, as a Python `dictConfig` would; reloaded listeners usually want
//! `mode: a` (the default).
//!
//! # The `listener` section
//! A configuration may also say where the listener takes Python's records (read when the
//! listener starts; a reload keeps the inputs it has):
//!
//! ```yaml
//! version: 1
//! listener:
//!   tcp: 9020                  # [HOST:]PORT, or a list; a port alone binds 127.0.0.1
//!   udp: "0.0.0.0:9021"        # named address: other hosts may send...
//!   allow_peers: [10.0.0.0/8]  # ...but only these (addresses or networks)
//!   unix_stream: /run/app/py-log.sock
//!   unix_dgram: /run/app/py-log.dgram
//! ```
//!
//! Python's default ports are [`DEFAULT_TCP_PORT`](crate::queue::listener::DEFAULT_TCP_PORT)
//! and [`DEFAULT_UDP_PORT`](crate::queue::listener::DEFAULT_UDP_PORT) (give them explicitly). `mplog listen --tcp`, `--udp`, `--unix-stream`, `--unix-dgram` and
//! `--allow-peer` add to what the file says.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::error::{ConfigError, ErrorKind};
use super::value::{self, Entry};
use super::{ConfigSource, Registry};
use crate::handler::{Handler, Overflow};
use crate::level::Level;
use crate::queue::listener::{AllowedPeer, PythonInput, Target};
use crate::queue::listener::{Confirm, ThreadedHandler};
use crate::queue::{ListenerHandle, QueueListener, QueueListenerBuilder};

/// The keys of the `listener` section.
const LISTENER_KEYS: &[&str] = &["tcp", "udp", "unix_stream", "unix_dgram", "allow_peers"];

/// A configuration's `listener` section: where Python's records come in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListenerSection {
    pub(crate) inputs: Vec<PythonInput>,
    pub(crate) allow: Vec<AllowedPeer>,
    /// Built for a listener: the network handlers get their own queue and thread.
    pub(crate) for_listener: bool,
}

/// Reads the `listener` section (at `written`, as the key was written).
pub(crate) fn listener_section(written: &str, v: &Value) -> Result<ListenerSection, ConfigError> {
    let mut entry = Entry::new(written.to_owned(), v)?;
    let mut section = ListenerSection::default();
    for kind in ["tcp", "udp", "unix_stream", "unix_dgram"] {
        let Some((key, value)) = entry.take(kind) else {
            continue;
        };
        for text in one_or_many(value).map_err(|k| entry.error(key, k))? {
            let input = PythonInput::parse(kind, &text)
                .map_err(|e| entry.error(key, ErrorKind::Invalid(e)))?;
            section.inputs.push(input);
        }
    }
    if let Some((key, value)) = entry.take("allow_peers") {
        for text in one_or_many(value).map_err(|k| entry.error(key, k))? {
            let peer = text
                .parse()
                .map_err(|e| entry.error(key, ErrorKind::Invalid(e)))?;
            section.allow.push(peer);
        }
    }
    entry.finish(LISTENER_KEYS)?;
    Ok(section)
}

/// A string or number, or a list of them, as texts.
fn one_or_many(v: &Value) -> Result<Vec<String>, ErrorKind> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(ErrorKind::Type {
            expected: "a string or a port number",
            got: super::value::describe(other),
        }),
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// The keys of a handler's `queue` table.
const QUEUE_KEYS: &[&str] = &["capacity", "overflow", "timeout", "confirm"];
/// The classes whose handlers a listener puts behind a queue of their own by default.
const NETWORK_CLASSES: &[&str] = &[
    "SocketHandler",
    "DatagramHandler",
    "SysLogHandler",
    "SMTPHandler",
    "HTTPHandler",
];

/// A handler's own queue and thread (see [`crate::queue::listener::outputs`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OutputSpec {
    /// The `queue` key: `None` when absent or `false`.
    queue: Option<QueueOptions>,
    /// `queue: false` given: not even a network handler's default queue.
    refused: bool,
    /// A network class (a listener queues it by default).
    network: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct QueueOptions {
    capacity: Option<usize>,
    overflow: Option<Overflow>,
    confirm: Option<Confirm>,
}

/// Reads a handler's `queue` key: `true`, `false`, or a table of `capacity`, `overflow`
/// (`block` or `drop`), `timeout` (seconds, with `block`) and `confirm` (`written` or
/// `queued`).
pub(crate) fn output_spec(class: &str, entry: &mut Entry<'_>) -> Result<OutputSpec, ConfigError> {
    let short = class.rsplit('.').next().unwrap_or(class);
    let mut spec = OutputSpec {
        network: NETWORK_CLASSES.contains(&short),
        ..OutputSpec::default()
    };
    let Some((key, v)) = entry.take("queue") else {
        return Ok(spec);
    };
    let path = format!("{}.{key}", entry.path);
    let options = match v {
        Value::Null => return Ok(spec),
        Value::Bool(false) => {
            spec.refused = true;
            return Ok(spec);
        }
        Value::Bool(true) => QueueOptions {
            capacity: None,
            overflow: None,
            confirm: None,
        },
        table => queue_table(Entry::new(path, table)?)?,
    };
    spec.queue = Some(options);
    Ok(spec)
}

fn queue_table(mut q: Entry<'_>) -> Result<QueueOptions, ConfigError> {
    let capacity = q.get("capacity", value::integer)?;
    let capacity = match capacity {
        Some(0) => {
            return Err(q.error(
                "capacity",
                ErrorKind::Invalid("the capacity must be at least 1".into()),
            ))
        }
        Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        None => None,
    };
    let timeout = match q.take("timeout") {
        None | Some((_, Value::Null)) => None,
        Some((key, v)) => match v.as_f64() {
            Some(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
            _ => {
                return Err(q.error(
                    key,
                    ErrorKind::Type {
                        expected: "a number of seconds",
                        got: value::describe(v),
                    },
                ))
            }
        },
    };
    let overflow = match q.get("overflow", value::string)?.as_deref() {
        None if timeout.is_none() => None,
        None | Some("block") => Some(Overflow::Block {
            timeout: timeout.unwrap_or(crate::handler::DEFAULT_BLOCK_TIMEOUT),
        }),
        Some("drop") => Some(Overflow::Drop),
        Some(other) => {
            return Err(q.error(
                "overflow",
                ErrorKind::Invalid(format!("'{other}' is not 'block' or 'drop'")),
            ))
        }
    };
    let confirm = match q.get("confirm", value::string)?.as_deref() {
        None => None,
        Some("written") => Some(Confirm::Written),
        Some("queued") => Some(Confirm::Queued),
        Some(other) => {
            return Err(q.error(
                "confirm",
                ErrorKind::Invalid(format!("'{other}' is not 'written' or 'queued'")),
            ))
        }
    };
    q.finish(QUEUE_KEYS)?;
    Ok(QueueOptions {
        capacity,
        overflow,
        confirm,
    })
}

/// `h`, or `h` behind its own queue and thread: when its `queue` key asks for one, or, in a
/// listener, for a network handler (confirmed once queued, dropping when full: its own buffer
/// already counts as received, and it must never stall the files).
pub(crate) fn behind_queue(
    h: Arc<dyn Handler>,
    spec: &OutputSpec,
    for_listener: bool,
) -> std::io::Result<Arc<dyn Handler>> {
    let network_default = spec.network && for_listener && !spec.refused;
    let options = match (spec.queue, network_default) {
        (Some(o), _) => o,
        (None, true) => QueueOptions {
            capacity: None,
            overflow: None,
            confirm: None,
        },
        (None, false) => return Ok(h),
    };
    let mut b = ThreadedHandler::builder(h);
    if let Some(c) = options.capacity {
        b = b.capacity(c);
    }
    match (options.overflow, spec.network) {
        (Some(o), _) => b = b.overflow(o),
        (None, true) => b = b.overflow(Overflow::Drop),
        (None, false) => {}
    }
    match (options.confirm, spec.network) {
        (Some(c), _) => b = b.confirm(c),
        (None, true) => b = b.confirm(Confirm::Queued),
        (None, false) => {}
    }
    Ok(Arc::new(b.build()?))
}

impl QueueListener {
    /// A builder whose dispatch hierarchy is built from `source` (a file path or a
    /// [`DictConfig`](super::DictConfig)); set the endpoint and start it as usual.
    ///
    /// ```
    /// use mplog::queue::{Endpoint, QueueListener};
    /// let listener = QueueListener::from_config("examples/configs/dev.toml")
    ///     .unwrap()
    ///     .endpoint_kind(Endpoint::InProcess)
    ///     .start()
    ///     .unwrap();
    /// assert!(listener.manager().unwrap().root().has_handlers());
    /// listener.stop();
    /// ```
    pub fn from_config(
        source: impl Into<ConfigSource>,
    ) -> Result<QueueListenerBuilder, ConfigError> {
        QueueListener::from_config_with(source, &Registry::new())
    }

    /// [`from_config`](QueueListener::from_config) with a program's own classes (see
    /// [`Registry`]).
    ///
    /// ```
    /// use mplog::config::Registry;
    /// use mplog::queue::{Endpoint, QueueListener};
    /// let listener = QueueListener::from_config_with("examples/configs/dev.toml", &Registry::new())
    ///     .unwrap()
    ///     .endpoint_kind(Endpoint::InProcess)
    ///     .start()
    ///     .unwrap();
    /// listener.stop();
    /// ```
    pub fn from_config_with(
        source: impl Into<ConfigSource>,
        registry: &Registry,
    ) -> Result<QueueListenerBuilder, ConfigError> {
        let mut config = source.into().load_with(registry)?;
        config
            .listener
            .get_or_insert_with(Box::default)
            .for_listener = true;
        let manager = config.build()?;
        let mut builder = QueueListener::builder().manager(manager);
        if let Some(section) = &config.listener {
            for input in &section.inputs {
                builder = builder.python_input(input.clone());
            }
            builder = builder.python_allow(section.allow.iter().copied());
        }
        Ok(builder)
    }
}

impl ListenerHandle {
    /// Swaps the whole configuration for the one in `source`, atomically for the records (see
    /// the module docs). On error the running configuration stays, and the error is also
    /// logged on the listener's own logger.
    ///
    /// ```
    /// use mplog::config::DictConfig;
    /// use mplog::queue::{Endpoint, QueueListener};
    /// let listener = QueueListener::from_config("examples/configs/dev.toml")
    ///     .unwrap()
    ///     .endpoint_kind(Endpoint::InProcess)
    ///     .start()
    ///     .unwrap();
    /// let quiet = DictConfig::from_json(r#"{"version": 1, "root": {"level": "ERROR"}}"#).unwrap();
    /// listener.reload(quiet).unwrap();
    /// assert!(!listener.manager().unwrap().root().has_handlers());
    /// assert!(listener.reload("no/such/file.toml").is_err());
    /// listener.stop();
    /// ```
    pub fn reload(&self, source: impl Into<ConfigSource>) -> Result<(), ConfigError> {
        self.reload_with(source, &Registry::new())
    }

    /// [`reload`](ListenerHandle::reload) with a program's own classes (see [`Registry`]).
    ///
    /// ```
    /// use mplog::config::Registry;
    /// use mplog::queue::{Endpoint, QueueListener};
    /// let listener = QueueListener::from_config("examples/configs/dev.toml")
    ///     .unwrap()
    ///     .endpoint_kind(Endpoint::InProcess)
    ///     .start()
    ///     .unwrap();
    /// listener.reload_with("examples/configs/dev.toml", &Registry::new()).unwrap();
    /// listener.stop();
    /// ```
    pub fn reload_with(
        &self,
        source: impl Into<ConfigSource>,
        registry: &Registry,
    ) -> Result<(), ConfigError> {
        let result = self.try_reload(source.into(), registry);
        if let Err(e) = &result {
            self.notice(
                Level::ERROR,
                format!("configuration reload failed, keeping the running one: {e}"),
            );
        }
        result
    }

    fn try_reload(&self, source: ConfigSource, registry: &Registry) -> Result<(), ConfigError> {
        let mut config = source.load_with(registry)?;
        config
            .listener
            .get_or_insert_with(Box::default)
            .for_listener = true;
        if config.is_incremental() {
            let manager = self.manager().ok_or_else(|| {
                ConfigError::new(
                    "incremental",
                    ErrorKind::Unsupported(
                        "an incremental configuration needs a listener with a hierarchy".into(),
                    ),
                )
            })?;
            return config.apply_to(&manager);
        }
        // The running loggers carry over, so `disable_existing_loggers` applies as in CPython.
        let manager = match self.manager() {
            Some(running) => config.build_replacing(&running)?,
            None => config.build()?,
        };
        if self.swap_target(Target::Manager(manager.clone())) {
            Ok(())
        } else {
            manager.shutdown();
            Err(ConfigError::new(
                "",
                ErrorKind::Invalid("the listener is stopped".into()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DictConfig;

    fn handler_output(yaml: &str) -> Result<OutputSpec, ConfigError> {
        let cfg = DictConfig::from_yaml(yaml)?;
        Ok(cfg.handlers["h"].output.clone())
    }

    #[test]
    fn the_queue_key_reads_true_false_and_a_table() {
        let head = "version: 1\nhandlers:\n  h:\n    class: logging.NullHandler\n";
        assert_eq!(handler_output(head).unwrap(), OutputSpec::default());
        let on = handler_output(&format!("{head}    queue: true\n")).unwrap();
        assert!(on.queue.is_some());
        let off = handler_output(&format!("{head}    queue: false\n")).unwrap();
        assert!(off.refused && off.queue.is_none());
        let table = handler_output(&format!(
            "{head}    queue: {{capacity: 5, overflow: drop, confirm: queued}}\n"
        ))
        .unwrap();
        assert_eq!(
            table.queue,
            Some(QueueOptions {
                capacity: Some(5),
                overflow: Some(Overflow::Drop),
                confirm: Some(Confirm::Queued),
            })
        );
        let timeout = handler_output(&format!("{head}    queue: {{timeout: 2.5}}\n")).unwrap();
        assert_eq!(
            timeout.queue.unwrap().overflow,
            Some(Overflow::Block {
                timeout: Duration::from_millis(2500)
            })
        );
    }

    #[test]
    fn bad_queue_options_name_their_place() {
        let head = "version: 1\nhandlers:\n  h:\n    class: logging.NullHandler\n";
        for (bad, says) in [
            ("{capacity: 0}", "at least 1"),
            ("{overflow: wait}", "'wait' is not 'block' or 'drop'"),
            ("{confirm: maybe}", "'maybe' is not 'written' or 'queued'"),
            ("{timeout: -1}", "a number of seconds"),
            ("{size: 3}", "unknown key 'size'"),
        ] {
            let err = handler_output(&format!("{head}    queue: {bad}\n")).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(says), "{bad}: {text}");
            assert!(text.contains("handlers.h.queue"), "{bad}: {text}");
        }
    }

    #[test]
    fn a_listener_queues_network_handlers_unless_told_not_to() {
        let mut entry_value = serde_json::json!({"queue": false});
        let mut entry = Entry::new("handlers.s".into(), &entry_value).unwrap();
        let refused = output_spec("logging.handlers.SocketHandler", &mut entry).unwrap();
        assert!(refused.network && refused.refused);
        entry_value = serde_json::json!({});
        let mut entry = Entry::new("handlers.s".into(), &entry_value).unwrap();
        let network = output_spec("logging.handlers.DatagramHandler", &mut entry).unwrap();
        assert!(network.network && !network.refused);
        let null: Arc<dyn Handler> = Arc::new(crate::handler::NullHandler::new());
        // Outside a listener, nothing changes; inside, a queue that never waits on flush.
        let same = behind_queue(null.clone(), &network, false).unwrap();
        assert!(Arc::ptr_eq(&same, &null));
        let queued = behind_queue(null.clone(), &network, true).unwrap();
        assert!(!Arc::ptr_eq(&queued, &null));
        assert!(queued.flush().is_ok());
        queued.close();
        let kept = behind_queue(null.clone(), &refused, true).unwrap();
        assert!(Arc::ptr_eq(&kept, &null));
    }

    #[test]
    fn a_listener_section_reads_its_inputs() {
        let cfg = DictConfig::from_yaml(
            "version: 1\nlistener:\n  tcp: [9020, '0.0.0.0:9030']\n  udp: 9021\n  \
             unix_stream: /tmp/x.sock\n  allow_peers: 10.0.0.0/8\n",
        )
        .unwrap();
        let section = cfg.listener.unwrap();
        let shown: Vec<String> = section.inputs.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "tcp 127.0.0.1:9020",
                "tcp 0.0.0.0:9030",
                "udp 127.0.0.1:9021",
                "unix-stream /tmp/x.sock"
            ]
        );
        assert_eq!(section.allow[0].to_string(), "10.0.0.0/8");
        let err = DictConfig::from_yaml("version: 1\nlistener: {tcp: 'host:x'}\n").unwrap_err();
        assert!(err.to_string().contains("listener"), "{err}");
        let err = DictConfig::from_yaml("version: 1\nlistener: {http: 80}\n").unwrap_err();
        assert!(err.to_string().contains("unknown key 'http'"), "{err}");
    }
}
