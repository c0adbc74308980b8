//! The [`S3Api`] implementation: each call is recorded and run through the injected
//! faults, then answered from the store under the lock, and its body pulled or
//! streamed with the lock released.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::checksums::{completed_checksums, verify_checksums};
use super::copies::{copy_attributes, copy_source};
use super::etag::{content_etag, etag_matches, multipart_etag};
use super::listing::list_page;
use super::multipart::{StoredPart, Upload, check_part_number, chosen_parts, list_parts_page};
use super::objects::{Ctx, Entry, check_sse};
use super::reads::select;
use super::{FakeObject, FakePart, FakeS3, Operation, RecordedCall, State};
use crate::client::{
    AbortMultipartUploadRequest, ChecksumType, Checksums, CompleteMultipartUploadOutput,
    CompleteMultipartUploadRequest, CopyObjectOutput, CopyObjectRequest,
    CreateMultipartUploadOutput, CreateMultipartUploadRequest, DeleteObjectOutput,
    DeleteObjectRequest, Directive, GetObjectOutput, GetObjectRequest, HeadObjectOutput,
    HeadObjectRequest, ListObjectsV2Output, ListObjectsV2Request, ListPartsOutput,
    ListPartsRequest, PutObjectOutput, PutObjectRequest, RequestBody, ResponseSink, S3Api, S3Error,
    S3ErrorKind, SseCustomerKey, UploadPartCopyOutput, UploadPartCopyRequest, UploadPartOutput,
    UploadPartRequest,
};

impl S3Api for FakeS3 {
    fn head_object(&self, request: &HeadObjectRequest) -> Result<HeadObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::HeadObject, &request.bucket, &request.key);
        self.enter(RecordedCall::HeadObject(request.clone()))?;
        let st = self.state.lock();
        let object = readable(
            cx,
            &st,
            request.version_id.as_deref(),
            request.sse_customer.as_ref(),
            request.if_match.as_deref(),
        )?;
        let sel = select(cx, object, None, request.part_number, request.checksum_mode)?;
        Ok(HeadObjectOutput {
            content_length: sel.len,
            etag: Some(object.etag.clone()),
            last_modified: Some(object.last_modified.clone()),
            version_id: object.version_id.clone(),
            parts_count: sel.parts_count,
            checksums: sel.checksums,
            attributes: object.attributes.clone(),
        })
    }

    fn get_object(
        &self,
        request: &GetObjectRequest,
        sink: &mut dyn ResponseSink,
    ) -> Result<GetObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::GetObject, &request.bucket, &request.key);
        let truncate_after = self.enter(RecordedCall::GetObject(request.clone()))?;
        let (body, mut out, chunk_size) = {
            let st = self.state.lock();
            let object = readable(
                cx,
                &st,
                request.version_id.as_deref(),
                request.sse_customer.as_ref(),
                request.if_match.as_deref(),
            )?;
            let sel = select(
                cx,
                object,
                request.range,
                request.part_number,
                request.checksum_mode,
            )?;
            let body = object
                .data
                .slice(sel.start as usize..(sel.start + sel.len) as usize);
            let out = GetObjectOutput {
                content_length: sel.len,
                content_range: sel.content_range,
                etag: Some(object.etag.clone()),
                version_id: object.version_id.clone(),
                last_modified: Some(object.last_modified.clone()),
                parts_count: sel.parts_count,
                checksums: sel.checksums,
                bytes_received: 0,
            };
            (body, out, st.get_chunk_size)
        };
        // Streamed with the lock released: the sink may block on a full queue.
        sink.on_response(&out)?;
        let deliver = truncate_after.map_or(body.len(), |a| body.len().min(a as usize));
        for chunk in body[..deliver].chunks(chunk_size) {
            sink.write_chunk(chunk)?;
            out.bytes_received += chunk.len() as u64;
        }
        if deliver < body.len() {
            let mut err = S3Error::new(
                S3ErrorKind::TruncatedBody,
                Operation::GetObject.as_str(),
                format!(
                    "injected: connection closed after {deliver} of {} bytes",
                    body.len()
                ),
            )
            .with_object(&request.bucket, &request.key);
            err.status = Some(if out.content_range.is_some() {
                206
            } else {
                200
            });
            return Err(err);
        }
        Ok(out)
    }

    fn put_object(
        &self,
        request: &PutObjectRequest,
        body: &mut RequestBody,
    ) -> Result<PutObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::PutObject, &request.bucket, &request.key);
        let data = self.receive(
            RecordedCall::PutObject {
                request: request.clone(),
                body_len: body.len(),
            },
            body,
        )?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        let checksums =
            verify_checksums(cx, request.checksum_algorithm, &request.checksums, &data)?;
        let mut object = FakeObject::new(Bytes::from(data));
        object.attributes = request.attributes.clone();
        object.checksums = checksums;
        if !object.checksums.is_empty() {
            // A single PUT's checksum is of the whole object.
            object.checksums.checksum_type = Some(ChecksumType::FullObject);
        }
        object.sse_customer = request.sse_customer.clone();
        let stored = st.store(&request.bucket, &request.key, object);
        Ok(PutObjectOutput {
            etag: Some(stored.etag),
            version_id: stored.version_id,
            checksums: stored.checksums,
        })
    }

    fn create_multipart_upload(
        &self,
        request: &CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput, S3Error> {
        let cx = Ctx::new(
            Operation::CreateMultipartUpload,
            &request.bucket,
            &request.key,
        );
        self.enter(RecordedCall::CreateMultipartUpload(request.clone()))?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        let upload_id = format!("fake-upload-{:08}", st.next_id());
        st.uploads.insert(
            upload_id.clone(),
            Upload {
                bucket: request.bucket.clone(),
                key: request.key.clone(),
                attributes: request.attributes.clone(),
                sse_customer: request.sse_customer.clone(),
                checksum_algorithm: request.checksum_algorithm,
                checksum_type: request.checksum_type.clone(),
                parts: BTreeMap::new(),
                initiated: std::time::SystemTime::now(),
            },
        );
        Ok(CreateMultipartUploadOutput { upload_id })
    }

    fn upload_part(
        &self,
        request: &UploadPartRequest,
        body: &mut RequestBody,
    ) -> Result<UploadPartOutput, S3Error> {
        let cx = Ctx::new(Operation::UploadPart, &request.bucket, &request.key);
        let data = self.receive(
            RecordedCall::UploadPart {
                request: request.clone(),
                body_len: body.len(),
            },
            body,
        )?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        let upload = st.upload(cx, &request.upload_id)?;
        check_sse(
            cx,
            upload.sse_customer.as_ref(),
            request.sse_customer.as_ref(),
        )?;
        check_part_number(cx, request.part_number)?;
        let checksums =
            verify_checksums(cx, request.checksum_algorithm, &request.checksums, &data)?;
        let data = Bytes::from(data);
        let part = StoredPart {
            etag: content_etag(&data),
            data,
            checksums,
        };
        let out = UploadPartOutput {
            etag: Some(part.etag.clone()),
            checksums: part.checksums.clone(),
        };
        st.uploads
            .get_mut(&request.upload_id)
            .expect("upload checked above")
            .parts
            .insert(request.part_number, part);
        Ok(out)
    }

    fn complete_multipart_upload(
        &self,
        request: &CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        let cx = Ctx::new(
            Operation::CompleteMultipartUpload,
            &request.bucket,
            &request.key,
        );
        self.enter(RecordedCall::CompleteMultipartUpload(request.clone()))?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        let upload = st.upload(cx, &request.upload_id)?;
        check_sse(
            cx,
            upload.sse_customer.as_ref(),
            request.sse_customer.as_ref(),
        )?;
        let chosen = chosen_parts(cx, upload, request, st.min_part_size)?;
        let mut data = Vec::with_capacity(chosen.iter().map(|p| p.data.len()).sum());
        for p in &chosen {
            data.extend_from_slice(&p.data);
        }
        let checksums = completed_checksums(cx, upload, &request.checksums, &chosen, &data)?;
        let upload = st
            .uploads
            .remove(&request.upload_id)
            .expect("upload checked above");
        let mut object = FakeObject::new(Bytes::from(data));
        object.etag = multipart_etag(chosen.iter().map(|p| p.etag.as_str()), chosen.len());
        object.attributes = upload.attributes;
        object.sse_customer = upload.sse_customer;
        object.checksums = checksums;
        if !object.checksums.is_empty() && object.checksums.checksum_type.is_none() {
            object.checksums.checksum_type = upload.checksum_type;
        }
        object.parts = chosen
            .into_iter()
            .map(|p| FakePart {
                size: p.data.len() as u64,
                etag: p.etag,
                checksums: p.checksums,
            })
            .collect();
        let stored = st.store(&request.bucket, &request.key, object);
        Ok(CompleteMultipartUploadOutput {
            etag: Some(stored.etag),
            version_id: stored.version_id,
            checksums: stored.checksums,
        })
    }

    fn abort_multipart_upload(&self, request: &AbortMultipartUploadRequest) -> Result<(), S3Error> {
        let cx = Ctx::new(
            Operation::AbortMultipartUpload,
            &request.bucket,
            &request.key,
        );
        self.enter(RecordedCall::AbortMultipartUpload(request.clone()))?;
        let mut st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        st.upload(cx, &request.upload_id)?;
        st.uploads.remove(&request.upload_id);
        Ok(())
    }

    fn copy_object(&self, request: &CopyObjectRequest) -> Result<CopyObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::CopyObject, &request.bucket, &request.key);
        self.enter(RecordedCall::CopyObject(request.clone()))?;
        let mut st = self.state.lock();
        let source = copy_source(
            cx,
            &st,
            &request.source,
            request.copy_source_sse_customer.as_ref(),
            &request.conditions,
        )?;
        st.bucket(cx, &request.bucket)?;
        let attributes = copy_attributes(cx, &source.attributes, request)?;
        let onto_itself = request.source.bucket == request.bucket
            && request.source.key == request.key
            && request.source.version_id.is_none();
        let changes_something = request.metadata_directive == Some(Directive::Replace)
            || request.attributes.storage_class.is_some()
            || request.attributes.website_redirect_location.is_some()
            || request.attributes.server_side_encryption.is_some()
            || request.sse_customer.is_some();
        if onto_itself && !changes_something {
            return Err(cx.error(
                400,
                "InvalidRequest",
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            ));
        }
        let mut object = FakeObject::new(source.data.clone());
        object.attributes = attributes;
        object.sse_customer = request.sse_customer.clone();
        // A copy is a single-part object: a multipart source's composite checksum would
        // be wrong for it, and a newly requested algorithm is not computed here.
        if !source.is_multipart() && request.checksum_algorithm.is_none() {
            object.checksums = source.checksums.clone();
        }
        let stored = st.store(&request.bucket, &request.key, object);
        Ok(CopyObjectOutput {
            etag: Some(stored.etag),
            version_id: stored.version_id,
            checksums: stored.checksums,
        })
    }

    fn upload_part_copy(
        &self,
        request: &UploadPartCopyRequest,
    ) -> Result<UploadPartCopyOutput, S3Error> {
        let cx = Ctx::new(Operation::UploadPartCopy, &request.bucket, &request.key);
        self.enter(RecordedCall::UploadPartCopy(request.clone()))?;
        let mut st = self.state.lock();
        let source = copy_source(
            cx,
            &st,
            &request.source,
            request.copy_source_sse_customer.as_ref(),
            &request.conditions,
        )?;
        st.bucket(cx, &request.bucket)?;
        let upload = st.upload(cx, &request.upload_id)?;
        check_sse(
            cx,
            upload.sse_customer.as_ref(),
            request.sse_customer.as_ref(),
        )?;
        check_part_number(cx, request.part_number)?;
        let size = source.data.len() as u64;
        let data = match request.source_range {
            None => source.data.clone(),
            Some((first, last)) if first <= last && last < size => {
                source.data.slice(first as usize..=last as usize)
            }
            Some(_) => {
                return Err(cx.error(
                    400,
                    "InvalidArgument",
                    format!("Range specified is not valid for source object of size: {size}"),
                ));
            }
        };
        let part = StoredPart {
            etag: content_etag(&data),
            data,
            checksums: Checksums::default(),
        };
        let etag = part.etag.clone();
        st.uploads
            .get_mut(&request.upload_id)
            .expect("upload checked above")
            .parts
            .insert(request.part_number, part);
        Ok(UploadPartCopyOutput {
            etag: Some(etag),
            checksums: Checksums::default(),
        })
    }

    fn supports_checksums(&self) -> bool {
        true
    }

    fn delete_object(&self, request: &DeleteObjectRequest) -> Result<DeleteObjectOutput, S3Error> {
        let cx = Ctx::new(Operation::DeleteObject, &request.bucket, &request.key);
        self.enter(RecordedCall::DeleteObject(request.clone()))?;
        let mut st = self.state.lock();
        let versioned = st.bucket(cx, &request.bucket)?.versioned;
        if !versioned {
            if request.version_id.as_deref().is_some_and(|v| v != "null") {
                return Err(cx.error(400, "InvalidArgument", "Invalid version id specified"));
            }
            if let Some(b) = st.buckets.get_mut(&request.bucket) {
                b.keys.remove(&request.key);
            }
            return Ok(DeleteObjectOutput::default());
        }
        match &request.version_id {
            Some(v) => {
                let entries = st
                    .buckets
                    .get_mut(&request.bucket)
                    .and_then(|b| b.keys.get_mut(&request.key));
                let mut was_marker = false;
                if let Some(entries) = entries
                    && let Some(i) = entries
                        .iter()
                        .position(|e| e.version_id.as_deref() == Some(v))
                {
                    was_marker = entries.remove(i).object.is_none();
                }
                Ok(DeleteObjectOutput {
                    delete_marker: was_marker.then_some(true),
                    version_id: Some(v.clone()),
                })
            }
            None => {
                st.tick();
                let marker_id = format!("v{:08}", st.next_id());
                st.buckets
                    .get_mut(&request.bucket)
                    .expect("bucket checked above")
                    .keys
                    .entry(request.key.clone())
                    .or_default()
                    .push(Entry {
                        version_id: Some(marker_id.clone()),
                        object: None,
                    });
                Ok(DeleteObjectOutput {
                    delete_marker: Some(true),
                    version_id: Some(marker_id),
                })
            }
        }
    }

    fn list_objects_v2(
        &self,
        request: &ListObjectsV2Request,
    ) -> Result<ListObjectsV2Output, S3Error> {
        let prefix = request.prefix.clone().unwrap_or_default();
        let cx = Ctx::new(Operation::ListObjectsV2, &request.bucket, &prefix);
        self.enter(RecordedCall::ListObjectsV2(request.clone()))?;
        let st = self.state.lock();
        list_page(cx, &st, request)
    }

    fn list_parts(&self, request: &ListPartsRequest) -> Result<ListPartsOutput, S3Error> {
        let cx = Ctx::new(Operation::ListParts, &request.bucket, &request.key);
        self.enter(RecordedCall::ListParts(request.clone()))?;
        let st = self.state.lock();
        let upload = st.upload(cx, &request.upload_id)?;
        check_sse(
            cx,
            upload.sse_customer.as_ref(),
            request.sse_customer.as_ref(),
        )?;
        Ok(list_parts_page(upload, request))
    }

    fn list_multipart_uploads(
        &self,
        request: &crate::client::ListMultipartUploadsRequest,
    ) -> Result<crate::client::ListMultipartUploadsOutput, S3Error> {
        let prefix = request.prefix.clone().unwrap_or_default();
        let cx = Ctx::new(Operation::ListMultipartUploads, &request.bucket, &prefix);
        self.enter(RecordedCall::ListMultipartUploads(request.clone()))?;
        let st = self.state.lock();
        st.bucket(cx, &request.bucket)?;
        Ok(super::multipart::list_uploads_page(&st.uploads, request))
    }
}

impl FakeS3 {
    /// Admit `call` and take its whole body before answering, as over HTTP without
    /// `Expect: 100-continue`: progress is reported even for a request then refused.
    fn receive(&self, call: RecordedCall, body: &mut RequestBody) -> Result<Vec<u8>, S3Error> {
        let verdict = self.enter(call);
        let data = body.collect()?;
        verdict?;
        Ok(data)
    }
}

/// The object a read (HeadObject, GetObject) names, once its SSE-C key and If-Match
/// passed.
fn readable<'a>(
    cx: Ctx<'_>,
    st: &'a State,
    version_id: Option<&str>,
    sse: Option<&SseCustomerKey>,
    if_match: Option<&str>,
) -> Result<&'a FakeObject, S3Error> {
    let object = st.lookup(cx, cx.bucket, cx.key, version_id)?;
    check_sse(cx, object.sse_customer.as_ref(), sse)?;
    if let Some(m) = if_match
        && !etag_matches(m, &object.etag)
    {
        return Err(cx.precondition_failed());
    }
    Ok(object)
}
