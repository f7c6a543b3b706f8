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
/// row, for `VALUES ...`. Bind the values in the same order. To find rows by several columns,
/// join such a `VALUES` list (`FROM (VALUES ...) AS k JOIN t ON t.a = k.column1 AND ...`):
/// SQLite answers a row-value `(a, b) IN ((...), ...)` by scanning the whole index, and, once
/// `ANALYZE` has run, may plan OR-ed equalities as a table scan too; a join looks each row
/// up in the index on both engines.
pub fn placeholder_rows(start: usize, rows: usize, per_row: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholder_list(start + row * per_row, per_row)))
        .collect::<Vec<_>>()
        .join(", ")
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
    fn rows() {
        assert_eq!(placeholder_rows(1, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(placeholder_rows(3, 2, 3), "($3, $4, $5), ($6, $7, $8)");
        assert_eq!(placeholder_rows(1, 1, 1), "($1)");
    }
}
