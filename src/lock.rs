//! `FLockRLock`: an inter-process, reentrant lock on `flock` (issue 4 fills this room).
