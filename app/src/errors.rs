//! Errors as the user reads them, on the command line and in the windows alike.

/// The error and its causes on one line, leaving out a cause whose text the message before it
/// already contains (library errors often include their source in their own message).
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}
