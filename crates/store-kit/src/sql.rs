//! Numbered placeholder lists for statements whose length depends on the input (a batch, a
//! list of ids). Only these numbers are ever formatted into SQL; every value is bound.

/// `$start, $start+1, ...`: `n` numbered placeholders, for `IN (...)`.
pub fn placeholder_list(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|k| format!("${k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($start, ...), (...)`: `rows` tuples of `per_row` numbered placeholders, numbered row by
/// row, for `VALUES ...`. Bind the values in the same order. To find rows by several columns
/// use [`rows_match`], not a row-value `IN`.
pub fn placeholder_rows(start: usize, rows: usize, per_row: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholder_list(start + row * per_row, per_row)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(a = $start AND b = $start+1) OR (...)`: rows matched on several columns at once, `rows`
/// terms numbered row by row (bind the values in the same order); `1 = 0` for none. Not a
/// row-value `(a, b) IN (($1, $2), ...)`: SQLite answers that by scanning the whole index
/// (118 ms against 1 ms on a million messages), while it looks each OR term up in the index,
/// and PostgreSQL does the same with a bitmap OR. The ORs are nested as a balanced tree, so a
/// batch of 1,024 stays far below SQLite's expression depth limit (1,000).
pub fn rows_match(columns: &[&str], start: usize, rows: usize) -> String {
    let terms: Vec<String> = (0..rows)
        .map(|row| {
            let first = start + row * columns.len();
            let equalities: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(k, column)| format!("{column} = ${}", first + k))
                .collect();
            format!("({})", equalities.join(" AND "))
        })
        .collect();
    fn either(terms: &[String]) -> String {
        match terms {
            [] => "1 = 0".to_owned(),
            [one] => one.clone(),
            _ => {
                let (left, right) = terms.split_at(terms.len() / 2);
                format!("({} OR {})", either(left), either(right))
            }
        }
    }
    either(&terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(placeholder_list(1, 3), "$1, $2, $3");
        assert_eq!(placeholder_list(4, 1), "$4");
        assert_eq!(placeholder_list(1, 0), "");
    }

    #[test]
    fn matches() {
        assert_eq!(
            rows_match(&["a", "b"], 1, 2),
            "((a = $1 AND b = $2) OR (a = $3 AND b = $4))"
        );
        assert_eq!(
            rows_match(&["a"], 1, 3),
            "((a = $1) OR ((a = $2) OR (a = $3)))"
        );
        assert_eq!(rows_match(&["a"], 3, 1), "(a = $3)");
        assert_eq!(rows_match(&["a", "b"], 1, 0), "1 = 0");
    }

    #[test]
    fn rows() {
        assert_eq!(placeholder_rows(1, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(placeholder_rows(3, 2, 3), "($3, $4, $5), ($6, $7, $8)");
        assert_eq!(placeholder_rows(1, 1, 1), "($1)");
    }
}
