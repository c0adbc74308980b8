//! The runtime every transfer runs on, with no S3 semantics: worker pools over
//! shutdown-aware queues, the per-transfer state machine and work counting, memory
//! permits, the one retry policy, the one clock, and bandwidth limiting.

pub(crate) mod bandwidth;
pub(crate) mod clock;
pub(crate) mod coordinator;
pub(crate) mod permits;
pub(crate) mod pool;
pub(crate) mod queue;
pub(crate) mod retry;
pub(crate) mod work_group;
