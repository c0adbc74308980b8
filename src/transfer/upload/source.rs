//! What an upload reads from ([`UploadSource`]), and the reads themselves: a stream's
//! parts read until full, a file's parts read at their offsets without zeroing.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use crate::runtime::coordinator::panic_message;

/// A reader that can also seek: a file handle, a `Cursor`, ...
pub trait SeekRead: Read + Seek + Send {}
impl<T: Read + Seek + Send> SeekRead for T {}

/// What an upload reads from.
#[non_exhaustive]
pub enum UploadSource {
    /// A file by path. Its parts are read in parallel with positional reads; a FIFO or
    /// other special file is read as a stream.
    Path(PathBuf),
    /// A seekable reader, read from its current position to its end. Parts are read in
    /// order on a planning thread and buffered (at most `max_in_memory_upload_chunks`).
    Seekable(Box<dyn SeekRead>),
    /// A reader of unknown length (a pipe, a socket, stdin). Read in order, memory
    /// bounded like `Seekable`. Short reads are fine: each part is read until full.
    Stream(Box<dyn Read + Send>),
}

impl UploadSource {
    /// A file.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        UploadSource::Path(path.into())
    }

    /// A seekable reader, from its current position.
    pub fn seekable(reader: impl Read + Seek + Send + 'static) -> Self {
        UploadSource::Seekable(Box::new(reader))
    }

    /// A non-seekable reader.
    pub fn stream(reader: impl Read + Send + 'static) -> Self {
        UploadSource::Stream(Box::new(reader))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            UploadSource::Path(p) => format!("path {}", p.display()),
            UploadSource::Seekable(_) => "seekable reader".into(),
            UploadSource::Stream(_) => "stream".into(),
        }
    }
}

impl fmt::Debug for UploadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl From<PathBuf> for UploadSource {
    fn from(path: PathBuf) -> Self {
        UploadSource::Path(path)
    }
}

impl From<&Path> for UploadSource {
    fn from(path: &Path) -> Self {
        UploadSource::Path(path.to_path_buf())
    }
}

impl From<&str> for UploadSource {
    fn from(path: &str) -> Self {
        UploadSource::Path(PathBuf::from(path))
    }
}

/// Bytes from the reader's position to its end; a panic in its `seek` is reported like
/// one in its `read` (see [`read_full`]).
pub(super) fn seekable_remaining(reader: &mut dyn SeekRead) -> io::Result<u64> {
    catch_unwind(AssertUnwindSafe(|| {
        let here = reader.stream_position()?;
        let end = reader.seek(SeekFrom::End(0))?;
        reader.seek(SeekFrom::Start(here))?;
        Ok(end.saturating_sub(here))
    }))
    .unwrap_or_else(|panic| Err(source_panicked(&panic)))
}

/// Read until `buf` holds `want` bytes or the reader ends; short reads are not the end.
///
/// A reader that panics (or claims more bytes than it was given room for, which std
/// turns into a panic) is the caller's bug, not ours: it comes back as an I/O error
/// carrying the panic's message, so the transfer fails saying why instead of unwinding
/// through the planner and being reported as a puzzling internal error.
pub(super) fn read_full(reader: &mut dyn Read, want: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(want);
    let mut taken = (&mut *reader).take(want as u64);
    loop {
        match catch_unwind(AssertUnwindSafe(|| taken.read_to_end(&mut buf))) {
            Ok(Ok(_)) => return Ok(buf),
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
            Ok(Err(e)) => return Err(e),
            Err(panic) => return Err(source_panicked(&panic)),
        }
    }
}

/// The I/O error standing for a panic of the caller's reader.
pub(super) fn source_panicked(panic: &Box<dyn std::any::Any + Send>) -> io::Error {
    io::Error::other(format!(
        "the upload source panicked: {}",
        panic_message(panic)
    ))
}

/// The CRC32C of `len` bytes of `file` at `offset`, read in chunks of at most 1 MiB
/// (a resume re-checks parts of up to 5 GiB, whose sizes come from a file that could
/// have been edited: never one buffer of a recorded size), each chunk also given to
/// `also`.
pub(crate) fn crc32c_at(
    file: &File,
    offset: u64,
    len: u64,
    mut also: impl FnMut(&[u8]),
) -> io::Result<u32> {
    const CHUNK: u64 = 1024 * 1024;
    let end = offset
        .checked_add(len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "range past 2^64"))?;
    let mut crc = 0;
    let mut at = offset;
    while at < end {
        let chunk = read_at(file, at, (end - at).min(CHUNK) as usize)?;
        crc = crc32c::crc32c_append(crc, &chunk);
        also(&chunk);
        at += chunk.len() as u64;
    }
    Ok(crc)
}

/// Read `len` bytes of `file` at `offset` into a new buffer. On Unix the buffer is
/// not zeroed first: `pread` fills it straight from the page cache (zeroing 8 MiB parts
/// showed in the profile of a file upload; docs/benchmarks.md has the figures).
pub(crate) fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        let (at, want) = (offset + buf.len() as u64, len - buf.len());
        match read_at_into(file, at, &mut buf.spare_capacity_mut()[..want]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "file shrank while being uploaded (expected {len} bytes at offset {offset})"
                    ),
                ));
            }
            // SAFETY: `read_at_into` initialised the first `n` bytes of the spare
            // capacity.
            Ok(n) => unsafe { buf.set_len(buf.len() + n) },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}

/// One positional read into `dest`; returns how many of its first bytes it filled.
#[cfg(unix)]
fn read_at_into(
    file: &File,
    offset: u64,
    dest: &mut [std::mem::MaybeUninit<u8>],
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // The 64-bit offset variant where 32-bit targets have a 32-bit `off_t`, as std uses.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    use libc::{off_t, pread};
    #[cfg(any(target_os = "linux", target_os = "android"))]
    use libc::{off64_t as off_t, pread64 as pread};
    // macOS refuses a read above `i32::MAX` bytes (std caps its reads the same way); a
    // short read is fine, the caller loops.
    const MAX_READ: usize = i32::MAX as usize - 1;
    let len = dest.len().min(MAX_READ);
    let offset = off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset beyond off_t"))?;
    // SAFETY: `pread` writes at most `len <= dest.len()` bytes into `dest`, which is valid
    // for writes of that many bytes; the file descriptor is borrowed from a live `File`.
    let n = unsafe { pread(file.as_raw_fd(), dest.as_mut_ptr().cast(), len, offset) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// One positional read into `dest` (zeroed first: the portable API takes `&mut [u8]`).
#[cfg(not(unix))]
fn read_at_into(
    file: &File,
    offset: u64,
    dest: &mut [std::mem::MaybeUninit<u8>],
) -> io::Result<usize> {
    dest.fill(std::mem::MaybeUninit::new(0));
    // SAFETY: every byte of `dest` was just initialised.
    let dest = unsafe { &mut *(dest as *mut [std::mem::MaybeUninit<u8>] as *mut [u8]) };
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, dest, offset);
    #[cfg(not(windows))]
    return Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no positional reads",
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            // At most 3 bytes per call, like a slow socket.
            let n = buf.len().min(3).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn read_full_is_not_fooled_by_short_reads() {
        let mut r = Trickle((0..100).collect(), 0);
        assert_eq!(read_full(&mut r, 8).unwrap(), (0..8).collect::<Vec<u8>>());
        assert_eq!(read_full(&mut r, 1000).unwrap().len(), 92);
        assert!(read_full(&mut r, 10).unwrap().is_empty());
    }
}
