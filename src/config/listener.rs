//! A queue listener configured by file, and its live reload.
//!
//! A reload reads and checks the new configuration and builds it into a fresh hierarchy on the
//! caller's thread (opening its files); only then is the new hierarchy handed to the dispatch
//! thread, which swaps it in between two batches and flushes and closes the old one's
//! handlers. So each record is handled by exactly one configuration and none is lost. An
//! incremental configuration changes levels of the running hierarchy in place instead.
//!
//! The new configuration's files are opened before the swap: a file handler with `mode: w`
//! truncates its file then, as a Python `dictConfig` would; reloaded listeners usually want
//! `mode: a` (the default).

use super::error::{ConfigError, ErrorKind};
use super::ConfigSource;
use crate::level::Level;
use crate::queue::listener::Target;
use crate::queue::{ListenerHandle, QueueListener, QueueListenerBuilder};

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
        let manager = source.into().load()?.build()?;
        Ok(QueueListener::builder().manager(manager))
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
        let result = self.try_reload(source.into());
        if let Err(e) = &result {
            self.notice(
                Level::ERROR,
                format!("configuration reload failed, keeping the running one: {e}"),
            );
        }
        result
    }

    fn try_reload(&self, source: ConfigSource) -> Result<(), ConfigError> {
        let config = source.load()?;
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
        let manager = config.build()?;
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
