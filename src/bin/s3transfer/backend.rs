//! The S3 backend the tool runs on (`--backend`, `S3TRANSFER_BACKEND`): rusoto (the
//! default) or aws-sdk-s3, behind one type, so that every command works with either.

use s3transfer::client::{
    AbortMultipartUploadRequest, CompleteMultipartUploadOutput, CompleteMultipartUploadRequest,
    CopyObjectOutput, CopyObjectRequest, CreateMultipartUploadOutput, CreateMultipartUploadRequest,
    DeleteObjectOutput, DeleteObjectRequest, GetObjectOutput, GetObjectRequest, HeadObjectOutput,
    HeadObjectRequest, ListMultipartUploadsOutput, ListMultipartUploadsRequest,
    ListObjectsV2Output, ListObjectsV2Request, ListPartsOutput, ListPartsRequest, PutObjectOutput,
    PutObjectRequest, RequestBody, ResponseSink, UploadPartCopyOutput, UploadPartCopyRequest,
    UploadPartOutput, UploadPartRequest,
};
use s3transfer::{AwsSdkS3, RusotoS3, S3Api, S3Error, S3ErrorKind};

use crate::report::{CliError, EXIT_ACCESS_DENIED, EXIT_NOT_FOUND, EXIT_OTHER};

/// Which backend `--backend` names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BackendKind {
    /// rusoto_s3 0.48 (`RusotoS3`)
    #[default]
    Rusoto,
    /// the AWS SDK for Rust (`AwsSdkS3`)
    AwsSdk,
}

/// The client every command uses.
pub(crate) enum Backend {
    Rusoto(RusotoS3),
    AwsSdk(AwsSdkS3),
}

/// Each `S3Api` call to the backend in use.
macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(fn $name(&self, $($arg: $ty),*) -> $out {
            match self {
                Backend::Rusoto(c) => c.$name($($arg),*),
                Backend::AwsSdk(c) => c.$name($($arg),*),
            }
        })*
    };
}

impl S3Api for Backend {
    delegate! {
        head_object(r: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error>;
        get_object(r: &GetObjectRequest, sink: &mut dyn ResponseSink) -> Result<GetObjectOutput, S3Error>;
        put_object(r: &PutObjectRequest, body: &mut RequestBody) -> Result<PutObjectOutput, S3Error>;
        create_multipart_upload(r: &CreateMultipartUploadRequest) -> Result<CreateMultipartUploadOutput, S3Error>;
        upload_part(r: &UploadPartRequest, body: &mut RequestBody) -> Result<UploadPartOutput, S3Error>;
        complete_multipart_upload(r: &CompleteMultipartUploadRequest) -> Result<CompleteMultipartUploadOutput, S3Error>;
        abort_multipart_upload(r: &AbortMultipartUploadRequest) -> Result<(), S3Error>;
        copy_object(r: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error>;
        upload_part_copy(r: &UploadPartCopyRequest) -> Result<UploadPartCopyOutput, S3Error>;
        delete_object(r: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error>;
        list_parts(r: &ListPartsRequest) -> Result<ListPartsOutput, S3Error>;
        list_multipart_uploads(r: &ListMultipartUploadsRequest) -> Result<ListMultipartUploadsOutput, S3Error>;
        list_objects_v2(r: &ListObjectsV2Request) -> Result<ListObjectsV2Output, S3Error>;
        supports_checksums() -> bool;
    }
}

/// ListBuckets on the aws-sdk-s3 backend (outside `S3Api`: transfers never list
/// buckets), every page.
pub(crate) fn sdk_bucket_names(client: &AwsSdkS3) -> Result<Vec<String>, CliError> {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let call = client
            .sdk_client()
            .list_buckets()
            .set_continuation_token(token.take())
            .send();
        let page = client.block_on(call).map_err(|e| {
            let status = e.raw_response().map(|r| r.status().as_u16());
            let kind = S3ErrorKind::classify(status, e.code());
            let code = match kind {
                S3ErrorKind::NotFound => EXIT_NOT_FOUND,
                S3ErrorKind::AccessDenied => EXIT_ACCESS_DENIED,
                _ => EXIT_OTHER,
            };
            let detail = aws_sdk_s3::error::DisplayErrorContext(&e);
            CliError::new(code, format!("listing buckets: {kind}: {detail}"))
        })?;
        names.extend(
            page.buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_owned)),
        );
        match page.continuation_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(names),
        }
    }
}
