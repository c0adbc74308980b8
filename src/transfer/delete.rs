//! Deletes: one DeleteObject, through the same future and subscriber machinery.

use crate::args::DeleteArgs;
use crate::client::DeleteObjectRequest;
use crate::error::TransferError;
use crate::future::TransferOutput;
use crate::transfer::context::TransferContext;

/// Run on a submission thread: queue the DeleteObject.
pub(crate) fn submit(ctx: TransferContext, args: DeleteArgs) {
    let Some(root) = ctx.begin(|| {}) else {
        return;
    };
    let ctx = std::sync::Arc::new(ctx);
    let job_ctx = ctx.clone();
    let submitted = ctx.submit(&root, move |_| {
        let ctx = job_ctx;
        let request = DeleteObjectRequest {
            bucket: ctx.bucket.clone(),
            key: ctx.key.clone(),
            version_id: args.version_id.clone(),
            mfa: args.mfa.clone(),
            context: args.context.clone(),
            ..Default::default()
        };
        let deleted = ctx.call(
            |_| ctx.engine.client.delete_object(&request),
            |source| TransferError::S3DeleteFailed {
                bucket: ctx.bucket.clone(),
                key: ctx.key.clone(),
                source,
            },
        );
        ctx.settle(deleted, |out| {
            ctx.coordinator.succeed(TransferOutput {
                version_id: out.version_id,
                parts: 1,
                ..Default::default()
            })
        });
    });
    if let Err(e) = submitted {
        ctx.coordinator.fail(e);
    }
}
