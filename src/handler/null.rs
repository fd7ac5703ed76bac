//! [`NullHandler`]: does nothing (Python's `NullHandler`, for libraries that log but leave the
//! configuration to the application).

use super::{Handler, HandlerBase, HandlerError};
use crate::record::Record;

/// A handler that drops every record, without even running filters.
///
/// ```
/// use mplog::handler::{Handler, NullHandler};
/// assert!(!NullHandler::new().handle(&mplog::Record::new("a", mplog::Level::INFO, "m")));
/// ```
#[derive(Debug, Default)]
pub struct NullHandler {
    base: HandlerBase,
}

impl NullHandler {
    /// A new null handler.
    ///
    /// ```
    /// use std::sync::Arc;
    /// // A library gives its top logger a NullHandler, so it logs nothing until configured.
    /// let m = mplog::Manager::new();
    /// m.get_logger("mylib").add_handler(Arc::new(mplog::handler::NullHandler::new()));
    /// assert!(m.get_logger("mylib.io").has_handlers()); // the last resort stays quiet
    /// ```
    pub fn new() -> NullHandler {
        NullHandler::default()
    }
}

impl Handler for NullHandler {
    fn base(&self) -> &HandlerBase {
        &self.base
    }

    fn emit(&self, _record: &Record) -> Result<(), HandlerError> {
        Ok(())
    }

    /// Python's `NullHandler.handle` is a no-op: no filters, no emit.
    fn handle(&self, _record: &Record) -> bool {
        false
    }
}
