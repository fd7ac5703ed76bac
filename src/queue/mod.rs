//! The cookbook queue pattern across processes (issue 3 fills this room).
