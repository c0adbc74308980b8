//! The four operations on top of the runtime: uploads, downloads, copies and deletes,
//! each planned on a submission thread and carried out as jobs on the request pool.

pub(crate) mod context;
pub(crate) mod copy;
pub(crate) mod delete;
pub(crate) mod download;
pub(crate) mod engine;
pub(crate) mod multipart;
pub(crate) mod recognise;
pub(crate) mod upload;
