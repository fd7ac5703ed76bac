//! Configuration from files: the dictConfig schema (issue 5 fills this room).
