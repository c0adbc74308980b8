//! Deletes: one DeleteObject, through the same future and subscriber machinery.

use std::sync::Arc;

use crate::args::DeleteArgs;
use crate::client::DeleteObjectRequest;
use crate::error::TransferError;
use crate::future::TransferOutput;
use crate::runtime::coordinator::{Coordinator, WorkGroup, run_job};
use crate::transfer::engine::Engine;

/// Run on a submission thread: queue the DeleteObject.
pub(crate) fn submit(
    engine: Arc<Engine>,
    coordinator: Arc<Coordinator>,
    bucket: String,
    key: String,
    args: DeleteArgs,
) {
    let root = {
        let coordinator = coordinator.clone();
        WorkGroup::start(move || coordinator.announce_done())
    };
    if coordinator.start().is_err() {
        return;
    }
    let guard = root.hold();
    let engine2 = engine.clone();
    let c = coordinator.clone();
    let submitted = engine.request.submit(Box::new(move || {
        run_job(&c, guard, |_| {
            let request = DeleteObjectRequest {
                bucket: bucket.clone(),
                key: key.clone(),
                version_id: args.version_id.clone(),
                mfa: args.mfa.clone(),
                context: args.context.clone(),
                ..Default::default()
            };
            let deleted = engine2.call(
                &c,
                |_| engine2.client.delete_object(&request),
                |source| TransferError::S3DeleteFailed {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    source,
                },
            );
            match deleted {
                Ok(out) => c.succeed(TransferOutput {
                    bytes: 0,
                    etag: None,
                    version_id: out.version_id,
                    parts: 1,
                    ..Default::default()
                }),
                Err(e) => c.fail(e),
            }
        })
    }));
    if let Err(e) = submitted {
        coordinator.fail(e);
    }
    drop(root);
}
