//! Level names process-wide: built-in levels keep their names when custom levels are
//! registered (as the `log` and `tracing` bridges register TRACE), and a renamed built-in
//! level shows its new name. Its own binary: names are process-wide.

use mplog::{add_level_name, Level, Record};

#[test]
fn builtin_names_survive_custom_levels_and_can_be_renamed() {
    add_level_name(Level::new(5), "TRACE");
    assert_eq!(Level::new(5).name(), "TRACE");
    assert_eq!(Level::INFO.name(), "INFO");
    assert_eq!(Record::new("a", Level::ERROR, "m").level_name, "ERROR");

    add_level_name(Level::WARNING, "WARN");
    assert_eq!(Level::WARNING.name(), "WARN");
    assert_eq!(Record::new("a", Level::WARNING, "m").level_name, "WARN");
    assert_eq!(Level::INFO.name(), "INFO");
    assert_eq!(Level::new(5).name(), "TRACE");
}
