//! Byte offsets as a person finds them in an editor: a 1-based line and a column
//! counted in characters.

/// The 1-based line and column (in characters) of byte `offset` in `text`.
/// Offsets past the end or inside a character are clamped, so any offset is safe.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    // A byte-order mark is not a column anyone can see.
    let column = before[line_start..]
        .trim_start_matches('\u{feff}')
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // `=` on the second line comes after two characters (three bytes) and a space.
        assert_eq!(line_column(text, text.find("= 2").unwrap()), (2, 4));
    }

    #[test]
    fn offsets_past_the_end_or_inside_a_character_do_not_panic() {
        assert_eq!(line_column("", 10), (1, 1));
        assert_eq!(line_column("é", 1), (1, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn a_byte_order_mark_takes_no_column() {
        assert_eq!(line_column("\u{feff}abc", 4), (1, 2));
    }
}
