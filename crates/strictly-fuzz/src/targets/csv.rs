//! CSV rows as `strictly batch` and `POST /v1/batches` read them: any bytes
//! give a typed error or rows, each with its text or a typed row error, and
//! the reader's byte count never runs past the input.

use arbitrary::{Result, Unstructured};
use strictly_batch::{CsvOptions, CsvRows};

use crate::{Outcome, Target, bucket, signature};

#[derive(Default)]
pub struct CsvTarget;

impl Target for CsvTarget {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn run(&mut self, input: &[u8]) -> Outcome {
        // The first byte picks the options, as a user's flags would.
        let (flags, body) = input.split_first().unwrap_or((&0, &[]));
        let mut options = CsvOptions::new(if flags & 1 == 0 { "text" } else { "body" });
        if flags & 2 != 0 {
            options = options.with_id_column("id");
        }
        if flags & 4 != 0 {
            options = options.with_delimiter(b';');
        }
        let rows = match CsvRows::new(body, &options) {
            Ok(rows) => rows,
            Err(err) => return Ok(signature(("refused", std::mem::discriminant(&err)))),
        };
        let columns = rows.headers().len();
        let mut ok = 0usize;
        let mut row_errors = Vec::new();
        let mut stream_error = false;
        let mut rows = rows;
        for row in rows.by_ref() {
            match row {
                Ok(row) => match row.text {
                    Ok(_) => ok += 1,
                    Err(err) => row_errors.push(err.kind),
                },
                Err(_) => {
                    stream_error = true;
                    break;
                }
            }
        }
        if rows.bytes_read() > body.len() as u64 {
            return Err(format!(
                "bytes_read {} past the input's {} bytes",
                rows.bytes_read(),
                body.len()
            ));
        }
        row_errors.sort_by_key(|k| format!("{k:?}"));
        row_errors.dedup();
        Ok(signature((
            bucket(columns),
            bucket(ok),
            format!("{row_errors:?}"),
            stream_error,
        )))
    }

    fn generate(&self, entropy: &[u8]) -> Vec<u8> {
        let mut u = Unstructured::new(entropy);
        csv_from(&mut u).unwrap_or_default()
    }

    fn dictionary(&self) -> &[&[u8]] {
        &[
            b"\xef\xbb\xbf",
            b"\"",
            b"\"\"",
            b",",
            b";",
            b"\n",
            b"\r\n",
            b"\r",
            b"id",
            b"text",
            b"body",
            b"\xff\xfe",
            b"\xc3",
            b"\0",
        ]
    }
}

const CELLS: [&str; 9] = [
    "text",
    "body",
    "id",
    "",
    " ",
    "\"a,b\"",
    "\"x\"\"y\"",
    "é",
    "\"open",
];

fn csv_from(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut out = vec![u.arbitrary::<u8>()?];
    if u.ratio(1, 5)? {
        out.extend_from_slice(b"\xef\xbb\xbf");
    }
    let delimiter = if out[0] & 4 != 0 { b';' } else { b',' };
    let rows = u.int_in_range(0..=6)?;
    for _ in 0..=rows {
        let cells = u.int_in_range(0..=4)?;
        for c in 0..cells {
            if c > 0 {
                out.push(delimiter);
            }
            if u.ratio(1, 4)? {
                out.extend_from_slice(&u.arbitrary::<Vec<u8>>()?);
            } else {
                out.extend_from_slice(u.choose(&CELLS)?.as_bytes());
            }
        }
        out.extend_from_slice(if u.ratio(1, 3)? { b"\r\n" } else { b"\n" });
    }
    Ok(out)
}
