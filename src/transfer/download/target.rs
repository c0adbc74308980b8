//! Where a download writes: the public [`DownloadTarget`], and the open output behind
//! it (a temporary file beside the destination, a seekable writer, or a stream written
//! in order).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Download;
use crate::error::TransferError;

/// A writer that can also seek: a file handle, a `Cursor<Vec<u8>>`, ...
pub trait SeekWrite: Write + Seek + Send {}
impl<T: Write + Seek + Send> SeekWrite for T {}

/// Where a download writes.
#[non_exhaustive]
pub enum DownloadTarget {
    /// A file by path. Written under a temporary name in the same directory and renamed
    /// over the path only when every byte arrived; removed on failure. A FIFO or
    /// character device is written in order, like a stream.
    Path(PathBuf),
    /// A seekable writer. Bytes go to their offset from the writer's position when the
    /// download starts; the writer is never truncated or closed.
    Seekable(Box<dyn SeekWrite>),
    /// A non-seekable writer (a pipe, stdout). Parts are put back in order, holding at
    /// most `max_in_memory_download_chunks` out of sequence.
    Stream(Box<dyn Write + Send>),
}

impl DownloadTarget {
    /// A file.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        DownloadTarget::Path(path.into())
    }

    /// A seekable writer.
    pub fn seekable(writer: impl Write + Seek + Send + 'static) -> Self {
        DownloadTarget::Seekable(Box::new(writer))
    }

    /// A non-seekable writer.
    pub fn stream(writer: impl Write + Send + 'static) -> Self {
        DownloadTarget::Stream(Box::new(writer))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            DownloadTarget::Path(p) => format!("path {}", p.display()),
            DownloadTarget::Seekable(_) => "seekable writer".into(),
            DownloadTarget::Stream(_) => "stream".into(),
        }
    }
}

impl fmt::Debug for DownloadTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl From<PathBuf> for DownloadTarget {
    fn from(path: PathBuf) -> Self {
        DownloadTarget::Path(path)
    }
}

impl From<&Path> for DownloadTarget {
    fn from(path: &Path) -> Self {
        DownloadTarget::Path(path.to_path_buf())
    }
}

impl From<&str> for DownloadTarget {
    fn from(path: &str) -> Self {
        DownloadTarget::Path(PathBuf::from(path))
    }
}

/// The open output. Only the io thread writes through it (and the finalizer, after
/// every write); a file's bytes go through [`Download::direct`] instead.
pub(super) enum Output {
    File {
        file: Arc<File>,
        temp: PathBuf,
        dest: PathBuf,
    },
    Seekable {
        writer: Box<dyn SeekWrite>,
        base: u64,
    },
    Stream {
        writer: Box<dyn Write + Send>,
        /// Bytes written so far: the offset the next write must start at.
        next: u64,
        /// Chunks that arrived ahead of `next`, by offset.
        pending: BTreeMap<u64, Vec<u8>>,
        /// The MD5 of what was written, when the object's ETag is the only check on
        /// offer and it comes in several GETs (`Stored::EtagMd5`).
        md5: Option<md5::Md5>,
    },
}

impl Output {
    pub(super) fn write_at(&mut self, offset: u64, data: Vec<u8>) -> io::Result<()> {
        match self {
            Output::File { file, .. } => write_all_at(file, offset, &data),
            Output::Seekable { writer, base } => {
                writer.seek(SeekFrom::Start(*base + offset))?;
                writer.write_all(&data)
            }
            Output::Stream {
                writer,
                next,
                pending,
                md5,
            } => {
                if offset != *next {
                    // Resumed GETs start exactly where the last byte landed, so an
                    // offset behind `next` would be a duplicate: never write it twice.
                    if offset > *next {
                        pending.insert(offset, data);
                    }
                    return Ok(());
                }
                let mut chunk = data;
                loop {
                    if let Some(md5) = md5.as_mut() {
                        md5::Digest::update(md5, &chunk);
                    }
                    writer.write_all(&chunk)?;
                    *next += chunk.len() as u64;
                    match pending.remove(next) {
                        Some(more) => chunk = more,
                        None => return Ok(()),
                    }
                }
            }
        }
    }
}

pub(super) fn write_all_at(file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, data, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < data.len() {
            done += std::os::windows::fs::FileExt::seek_write(
                file,
                &data[done..],
                offset + done as u64,
            )?;
        }
        Ok(())
    }
}

/// A name beside `dest` that no other download picks: `.<name>.<16 hex>.s3tmp`.
pub(super) fn temp_path(dest: &Path) -> PathBuf {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    crate::resume::download_temp_path(dest, h.finish())
}

/// Refuse a destination the final rename could never write, before any request: the
/// whole object would otherwise be downloaded first. An empty path, one that ends in a
/// separator, `.` or `..`, and an existing directory name no file.
fn check_destination(dest: &Path) -> Result<(), TransferError> {
    let raw = dest.as_os_str().as_encoded_bytes();
    if raw.is_empty() {
        return Err(TransferError::InvalidArgument(
            "the download destination is an empty path".into(),
        ));
    }
    let is_separator = |b: u8| b.is_ascii() && std::path::is_separator(b as char);
    // `Path` normalises a trailing `/.` and `/` away (`a/.` has the file name `a`), so
    // the raw bytes are what say a directory was meant.
    let ends_in_dot =
        raw == b"." || (raw.len() >= 2 && raw.ends_with(b".") && is_separator(raw[raw.len() - 2]));
    let names_a_directory =
        dest.file_name().is_none() || raw.last().copied().is_some_and(is_separator) || ends_in_dot;
    if names_a_directory || std::fs::metadata(dest).is_ok_and(|m| m.is_dir()) {
        return Err(TransferError::InvalidArgument(format!(
            "the download destination {} is a directory, not a file",
            dest.display()
        )));
    }
    Ok(())
}

pub(super) fn is_special_file(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(path).is_ok_and(|m| {
            let t = m.file_type();
            t.is_fifo() || t.is_char_device() || t.is_block_device() || t.is_socket()
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

impl Download {
    pub(super) fn open(&self, target: DownloadTarget) -> Result<(), TransferError> {
        let output = match target {
            DownloadTarget::Path(dest) => {
                check_destination(&dest)?;
                if is_special_file(&dest) {
                    let file = File::options()
                        .write(true)
                        .open(&dest)
                        .map_err(|e| TransferError::io("opening", Some(&dest), e))?;
                    Output::Stream {
                        writer: Box::new(file),
                        next: 0,
                        pending: BTreeMap::new(),
                        md5: None,
                    }
                } else {
                    let temp = temp_path(&dest);
                    let file = File::options()
                        .write(true)
                        .create_new(true)
                        .open(&temp)
                        .map_err(|e| TransferError::io("creating", Some(&temp), e))?;
                    let cleanup_path = temp.clone();
                    // Runs only if the download fails or is cancelled, after every write.
                    self.ctx.coordinator.add_cleanup(move || {
                        let _ = std::fs::remove_file(&cleanup_path);
                    });
                    let file = Arc::new(file);
                    *self.direct.lock() = Some((file.clone(), Arc::from(temp.as_path())));
                    self.make_resumable(&temp, &dest, Vec::new());
                    Output::File { file, temp, dest }
                }
            }
            DownloadTarget::Seekable(mut writer) => {
                let base = writer
                    .stream_position()
                    .map_err(|e| TransferError::io("seeking", None, e))?;
                Output::Seekable { writer, base }
            }
            DownloadTarget::Stream(writer) => Output::Stream {
                writer,
                next: 0,
                pending: BTreeMap::new(),
                md5: None,
            },
        };
        *self.output.lock() = Some(output);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_name_fits_the_byte_limit_and_keeps_whole_characters() {
        for name in [
            "é".repeat(127),
            "字".repeat(85),
            "😀".repeat(63),
            "a".repeat(255),
        ] {
            assert!(name.len() <= 255);
            let temp = temp_path(&Path::new("dir").join(&name));
            let temp_name = temp.file_name().unwrap().to_str().unwrap();
            assert!(temp_name.len() <= 255, "{} bytes", temp_name.len());
            let kept = &temp_name[1..temp_name.len() - ".0123456789abcdef.s3tmp".len()];
            assert!(name.starts_with(kept) && !kept.is_empty(), "{kept}");
        }
    }
}
