//! Input splitting shared by the targets (included with `#[path]`).

/// `name: value` lines as header pairs; a line without `:` is a name with an empty value.
#[allow(dead_code)]
pub fn header_lines(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .map(|line| match line.split_once(':') {
            Some((name, value)) => (name.trim(), value.trim()),
            None => (line.trim(), ""),
        })
        .collect()
}
