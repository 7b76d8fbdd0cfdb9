use super::*;

fn rows(input: &[u8], options: &CsvOptions) -> Vec<InputRow> {
    CsvRows::new(input, options)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn texts(rows: &[InputRow]) -> Vec<Result<&str, RowErrorKind>> {
    rows.iter()
        .map(|r| r.text.as_deref().map_err(|e| e.kind))
        .collect()
}

#[test]
fn reads_text_and_numbers_rows_without_an_id_column() {
    let rows = rows(b"body,other\nhello,1\nworld,2\n", &CsvOptions::new("body"));
    assert_eq!(texts(&rows), [Ok("hello"), Ok("world")]);
    assert_eq!(
        rows.iter()
            .map(|r| (r.row, r.id.as_str()))
            .collect::<Vec<_>>(),
        [(1, "1"), (2, "2")]
    );
}

#[test]
fn a_byte_order_mark_does_not_hide_the_first_column() {
    let options = CsvOptions::new("body").with_id_column("id");
    let rows = rows(b"\xEF\xBB\xBFid,body\r\nA7,first\r\n", &options);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, "A7");
    assert_eq!(rows[0].text.as_deref(), Ok("first"));
}

#[test]
fn quoted_fields_keep_newlines_delimiters_and_quotes() {
    let input = b"id,body\n1,\"line one\nline two, still \"\"quoted\"\"\"\n2,plain\n";
    let rows = rows(input, &CsvOptions::new("body").with_id_column("id"));
    assert_eq!(
        texts(&rows),
        [Ok("line one\nline two, still \"quoted\""), Ok("plain")]
    );
    // The second row starts on line 4: the quoted newline took a line.
    assert_eq!(rows[1].line, 4);
    assert_eq!(rows[1].row, 2);
}

#[test]
fn other_delimiters() {
    for (delimiter, input) in [
        (b';', &b"id;body\n1;a,b\n"[..]),
        (b'\t', &b"id\tbody\n1\ta,b\n"[..]),
        (b'|', &b"id|body\n1|a,b\n"[..]),
    ] {
        let options = CsvOptions::new("body")
            .with_id_column("id")
            .with_delimiter(delimiter);
        assert_eq!(texts(&rows(input, &options)), [Ok("a,b")]);
    }
}

#[test]
fn a_missing_column_is_named_with_the_columns_there_are() {
    let err = CsvRows::new(&b"id,text\n1,a\n"[..], &CsvOptions::new("body")).unwrap_err();
    assert!(
        matches!(&err, InputError::MissingColumn { column, available }
            if column == "body" && available == &["id", "text"]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        r#"column "body" is not in the header; the columns are: "id", "text""#
    );
    let options = CsvOptions::new("text").with_id_column("key");
    let err = CsvRows::new(&b"id,text\n"[..], &options).unwrap_err();
    assert!(matches!(err, InputError::MissingColumn { column, .. } if column == "key"));
}

#[test]
fn wrong_delimiter_reads_as_one_column_and_says_so() {
    let err = CsvRows::new(&b"id;body\n1;a\n"[..], &CsvOptions::new("body")).unwrap_err();
    assert!(err.to_string().contains(r#""id;body""#), "{err}");
}

#[test]
fn empty_input_and_duplicate_columns_are_refused() {
    assert!(matches!(
        CsvRows::new(&b""[..], &CsvOptions::new("body")),
        Err(InputError::NoHeader)
    ));
    assert!(matches!(
        CsvRows::new(&b"body,body\n"[..], &CsvOptions::new("body")),
        Err(InputError::DuplicateColumn { .. })
    ));
}

#[test]
fn empty_cells_and_bad_bytes_become_error_rows_and_the_rest_goes_on() {
    let input = b"id,body\n1,\n2,\"  \"\n3,caf\xE9\n4\n5,ok\n";
    let rows = rows(input, &CsvOptions::new("body").with_id_column("id"));
    assert_eq!(
        texts(&rows),
        [
            Err(RowErrorKind::EmptyText),
            Err(RowErrorKind::EmptyText),
            Err(RowErrorKind::NotUtf8),
            Err(RowErrorKind::MissingField),
            Ok("ok"),
        ]
    );
    let bad = rows[2].text.as_ref().unwrap_err();
    assert!(bad.message.contains("line 4"), "{}", bad.message);
    assert!(bad.message.contains("offset 3"), "{}", bad.message);
}

#[test]
fn blank_lines_are_not_rows_but_a_quoted_empty_cell_is() {
    let rows = rows(b"body\n\na\n\n\"\"\n\n", &CsvOptions::new("body"));
    assert_eq!(texts(&rows), [Ok("a"), Err(RowErrorKind::EmptyText)]);
}

#[test]
fn non_utf8_ids_are_kept_lossily() {
    let rows = rows(
        b"id,body\n\xFFx,text\n",
        &CsvOptions::new("body").with_id_column("id"),
    );
    assert_eq!(rows[0].id, "\u{FFFD}x");
    assert!(rows[0].text.is_ok());
}

#[test]
fn no_trailing_newline_and_bytes_read() {
    let input = b"\xEF\xBB\xBFbody\nlast";
    let mut reader = CsvRows::new(&input[..], &CsvOptions::new("body")).unwrap();
    let row = reader.next().unwrap().unwrap();
    assert_eq!(row.text.as_deref(), Ok("last"));
    assert!(reader.next().is_none());
    assert_eq!(reader.bytes_read(), input.len() as u64);
}

#[test]
fn streams_rows_without_reading_everything_first() {
    /// A header and then rows forever.
    struct Endless {
        served: u64,
    }
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            const HEADER: &[u8] = b"body\n";
            const ROW: &[u8] = b"some document text\n";
            for (i, b) in buf.iter_mut().enumerate() {
                let pos = self.served + i as u64;
                *b = match pos.checked_sub(HEADER.len() as u64) {
                    None => HEADER[pos as usize],
                    Some(p) => ROW[(p % ROW.len() as u64) as usize],
                };
            }
            self.served += buf.len() as u64;
            Ok(buf.len())
        }
    }
    let mut reader = CsvRows::new(Endless { served: 0 }, &CsvOptions::new("body")).unwrap();
    for _ in 0..1000 {
        assert!(reader.next().unwrap().unwrap().text.is_ok());
    }
    assert!(reader.bytes_read() < 64 * 1024);
}
