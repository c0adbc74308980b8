//! The conformance suite: the same transfer tests against every S3 implementation we
//! can run on 127.0.0.1 (object_store's pattern). Each target module instantiates every
//! case; cases that need S3 behaviour a store gets wrong say so and are listed only
//! for the stores that get it right.

#[path = "../common/mod.rs"]
mod common;

mod cases;
mod support;

/// One `#[test]` per case, each against a fresh bucket of `$target`.
macro_rules! cases_for {
    ($target:ident: $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let target = super::support::$target();
                super::cases::$case(&target);
            }
        )*
    };
}

/// The cases every store runs, then the ones `$target` is faithful enough for.
macro_rules! conformance {
    ($target:ident; $($extra:ident),* $(,)?) => {
        cases_for!($target:
            upload_small_file_is_one_put,
            upload_file_multipart_has_expected_part_count,
            upload_seekable_reader_starts_at_its_position,
            upload_stream_with_short_reads_goes_multipart,
            upload_small_stream_is_one_put,
            zero_byte_objects_round_trip,
            download_to_seekable_writer,
            download_to_stream_keeps_order,
            download_with_size_provided_skips_nothing,
            awkward_keys_round_trip,
            missing_key_gives_typed_error_and_no_file,
            missing_destination_directory_gives_clear_error,
            object_replaced_during_download_fails_typed,
            progress_and_callbacks_are_exact,
            many_concurrent_transfers_complete,
            copy_and_delete_round_trip,
            copy_single_keeps_metadata_and_content_type,
            copy_multipart_keeps_metadata_and_content_type,
            copy_across_buckets,
            $($extra,)*
        );
    };
}

/// In-process s3s-fs: fast; ignores If-Match and CopySourceIfMatch, accepts SSE-C keys
/// without enforcing them and has no versioning, so only the cases that need none of it.
mod s3s_fs {
    conformance!(s3s_fs;);
}

/// SeaweedFS: a real object store that behaves like AWS S3 where s3s-fs does not
/// (If-Match on GET, CopySourceIfMatch on UploadPartCopy, ListMultipartUploads, SSE-C,
/// versioning). It answers an SSE-C UploadPartCopy with 501 NotImplemented (SeaweedFS
/// 4.48), so `copy_from_sse_c_source_multipart` runs on the fake only.
mod seaweedfs {
    conformance!(seaweedfs;
        delete_with_version_id,
        copy_from_sse_c_source_single,
        copy_source_changed_mid_multipart_fails_precondition,
        if_match_pins_every_range,
        cancelled_multipart_upload_is_aborted,
    );
}

/// The aws-sdk-s3 backend on the same stores, with the same cases.
#[cfg(feature = "aws-sdk")]
mod s3s_fs_aws_sdk {
    conformance!(s3s_fs_sdk;);
}

#[cfg(feature = "aws-sdk")]
mod seaweedfs_aws_sdk {
    conformance!(seaweedfs_sdk;
        delete_with_version_id,
        copy_from_sse_c_source_single,
        copy_source_changed_mid_multipart_fails_precondition,
        if_match_pins_every_range,
        cancelled_multipart_upload_is_aborted,
    );
}

/// The in-memory fake, which models the S3 behaviours the engine relies on.
mod fake {
    conformance!(fake;
        delete_with_version_id,
        copy_from_sse_c_source_single,
        copy_from_sse_c_source_multipart,
        copy_source_changed_mid_multipart_fails_precondition,
        if_match_pins_every_range,
        cancelled_multipart_upload_is_aborted,
    );
}
