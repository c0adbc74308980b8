//! Content-Type guessing from a file name, as the AWS CLI does with Python's
//! `mimetypes.guess_type(name)[0]`: a built-in table of common extensions, no dependency
//! and no reading of `/etc/mime.types` (so the answer is the same on every machine).

use std::path::Path;

/// Compression suffixes that `mimetypes` reports as an *encoding*, not a type: the
/// type is that of the name without them (`a.tar.gz` is `application/x-tar`), and a
/// bare `a.gz` has no type at all.
const ENCODINGS: &[&str] = &["gz", "bz2", "xz", "br", "z", "zst"];

/// `mimetypes.suffix_map`: shorthands for a compressed archive.
const SUFFIXES: &[(&str, &str)] = &[
    ("tgz", "tar"),
    ("taz", "tar"),
    ("tz", "tar"),
    ("tbz2", "tar"),
    ("txz", "tar"),
];

/// Extension (lower case, no dot) to type. Python's `types_map` values where it has
/// the extension; IANA's registered type for the few modern ones it lacks.
const TYPES: &[(&str, &str)] = &[
    // Text and the web.
    ("txt", "text/plain"),
    ("text", "text/plain"),
    ("log", "text/plain"),
    ("conf", "text/plain"),
    ("c", "text/plain"),
    ("h", "text/plain"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("md", "text/markdown"),
    ("markdown", "text/markdown"),
    ("xml", "text/xml"),
    ("ics", "text/calendar"),
    ("vtt", "text/vtt"),
    ("py", "text/x-python"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("jsonld", "application/ld+json"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
    ("wasm", "application/wasm"),
    ("xhtml", "application/xhtml+xml"),
    ("rss", "application/rss+xml"),
    ("atom", "application/atom+xml"),
    ("sh", "application/x-sh"),
    // Images.
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("jpe", "image/jpeg"),
    ("gif", "image/gif"),
    ("bmp", "image/bmp"),
    ("svg", "image/svg+xml"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("heic", "image/heic"),
    ("ico", "image/vnd.microsoft.icon"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    // Audio and video.
    ("mp3", "audio/mpeg"),
    ("wav", "audio/x-wav"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/opus"),
    ("flac", "audio/flac"),
    ("aac", "audio/aac"),
    ("m4a", "audio/mp4"),
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("webm", "video/webm"),
    ("mov", "video/quicktime"),
    ("avi", "video/x-msvideo"),
    ("mkv", "video/x-matroska"),
    ("mpeg", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("ts", "video/mp2t"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    // Documents.
    ("pdf", "application/pdf"),
    ("rtf", "application/rtf"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("epub", "application/epub+zip"),
    ("eml", "message/rfc822"),
    // Archives and binaries.
    ("zip", "application/zip"),
    ("tar", "application/x-tar"),
    ("7z", "application/x-7z-compressed"),
    ("rar", "application/vnd.rar"),
    ("jar", "application/java-archive"),
    ("bin", "application/octet-stream"),
    ("exe", "application/octet-stream"),
    ("so", "application/octet-stream"),
    ("dll", "application/octet-stream"),
    ("parquet", "application/vnd.apache.parquet"),
    // Fonts.
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
];

/// The Content-Type for a file called like `path`, or `None` when the extension is not
/// in the table (S3 then stores its default, `binary/octet-stream`).
pub(crate) fn guess(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let mut rest = name.as_str();
    loop {
        let (stem, ext) = rest.rsplit_once('.')?;
        if stem.is_empty() {
            // `.bashrc`: a hidden file's name, not an extension (as `mimetypes`).
            return None;
        }
        if let Some((_, inner)) = SUFFIXES.iter().find(|(s, _)| *s == ext) {
            return lookup(inner);
        }
        if ENCODINGS.contains(&ext) {
            rest = stem;
            continue;
        }
        return lookup(ext);
    }
}

fn lookup(ext: &str) -> Option<&'static str> {
    TYPES.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::guess;
    use std::path::Path;

    #[test]
    fn common_extensions_like_mimetypes() {
        let g = |n: &str| guess(Path::new(n));
        assert_eq!(g("dir/a.txt"), Some("text/plain"));
        assert_eq!(g("photo.JPG"), Some("image/jpeg"));
        assert_eq!(g("index.html"), Some("text/html"));
        assert_eq!(g("data.json"), Some("application/json"));
        assert_eq!(g("backup.tar.gz"), Some("application/x-tar"));
        assert_eq!(g("backup.tgz"), Some("application/x-tar"));
        assert_eq!(g("log.gz"), None);
        assert_eq!(g(".bashrc"), None);
        assert_eq!(g("Makefile"), None);
        assert_eq!(g("x.unknownext"), None);
    }
}
