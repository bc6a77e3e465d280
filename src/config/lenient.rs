//! Reading a config file so that one run finds every mistake in it.
//!
//! serde stops at the first error, and the sections' semantic checks could only
//! run after a clean parse: a file with six mistakes took three runs. Here the
//! TOML is parsed with recovery (every syntax error, with its span), then
//! deserialized; each time serde refuses a value, the error is recorded with the
//! value's place in the *original* text, the offending entry is cut from a working
//! copy of the document, and the copy is deserialized again. What is left is a
//! `Raw*` with defaults where the bad entries were, which the semantic checks can
//! then judge; [`covers`] lets the caller drop their reports about keys
//! already refused here (a cut key's default says nothing about the file).

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One refusal by the TOML parser or by serde, before it is placed at line:column.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    /// Byte range in the text, when the parser knows it.
    pub(super) span: Option<Range<usize>>,
    /// Dotted key path (`queues[1].sl_target`); empty for syntax errors.
    pub(super) key: String,
    pub(super) message: String,
}

pub(super) struct Parsed<T> {
    /// `None` only when a refusal could not be cut out (it had no place).
    pub(super) value: Option<T>,
    pub(super) refusals: Vec<Refusal>,
}

/// Whether `key` is, or lies under, a key serde refused.
pub(super) fn covers(refusals: &[Refusal], key: &str) -> bool {
    refusals.iter().any(|r| {
        !r.key.is_empty()
            && key
                .strip_prefix(r.key.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
    })
}

/// More rounds than any hand-written file has mistakes; a bound so that a
/// pathological file cannot keep the loop going.
const MAX_ROUNDS: usize = 500;

/// Parses `text` into `T`, collecting every syntax and type error.
pub(super) fn parse<T: DeserializeOwned>(text: &str) -> Parsed<T> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    let mut refusals: Vec<Refusal> = syntax
        .into_iter()
        .map(|e| Refusal {
            span: e.span(),
            key: String::new(),
            message: format!("invalid TOML: {}", e.message().trim()),
        })
        .collect();
    let original = root.get_ref().clone();
    let mut work = root;
    for _ in 0..MAX_ROUNDS {
        let de = toml::de::Deserializer::from(work.clone());
        let e = match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(value) => return Parsed { value: Some(value), refusals: one_per_broken_line(text, refusals) },
            Err(e) => e,
        };
        let serde_path = e.path().to_string();
        let inner = e.into_inner();
        let span = inner.span();
        let at = span.as_ref().map(|s| s.start);
        // The path from the original document: serde's path counts array
        // elements of the working copy, which has lost the ones already cut.
        let key = at.and_then(|pos| path_at(&original, pos)).unwrap_or(if serde_path == "." {
            String::new()
        } else {
            serde_path
        });
        refusals.push(Refusal { span, key, message: inner.message().trim().to_owned() });
        if !at.is_some_and(|pos| cut_at(work.get_mut(), pos)) {
            return Parsed { value: None, refusals: one_per_broken_line(text, refusals) };
        }
    }
    Parsed { value: None, refusals: one_per_broken_line(text, refusals) }
}

/// A line the TOML parser could not read gets one report, its first: the
/// parser's recovery yields follow-on errors there, and serde's view of what it
/// salvaged from the line (an unknown key `broken` from `broken = = 1`) is noise.
fn one_per_broken_line(text: &str, refusals: Vec<Refusal>) -> Vec<Refusal> {
    let line_of =
        |r: &Refusal| r.span.as_ref().map(|s| text[..s.start.min(text.len())].matches('\n').count());
    let broken: Vec<usize> = refusals.iter().filter(|r| r.key.is_empty()).filter_map(line_of).collect();
    let mut seen = std::collections::HashSet::new();
    refusals
        .into_iter()
        .filter(|r| match line_of(r) {
            Some(line) if r.key.is_empty() => seen.insert(line),
            Some(line) => !broken.contains(&line),
            None => true,
        })
        .collect()
}

fn contains(span: &Range<usize>, pos: usize) -> bool {
    span.start <= pos && pos < span.end.max(span.start + 1)
}

/// The dotted path of the innermost entry whose key or value holds `pos`.
fn path_at(table: &DeTable<'_>, pos: usize) -> Option<String> {
    for (k, v) in table.iter() {
        let name = k.get_ref().as_ref();
        if let Some(rest) = path_in_value(v, pos) {
            return Some(format!("{name}{rest}"));
        }
        if contains(&k.span(), pos) || contains(&v.span(), pos) {
            return Some(name.to_owned());
        }
    }
    None
}

/// The path below a value (`.b[2]`), when `pos` falls inside one of its parts.
fn path_in_value(v: &Spanned<DeValue<'_>>, pos: usize) -> Option<String> {
    match v.get_ref() {
        DeValue::Table(t) => path_at(t, pos).map(|p| format!(".{p}")),
        DeValue::Array(a) => a.iter().enumerate().find_map(|(i, item)| {
            path_in_value(item, pos)
                .map(|rest| format!("[{i}]{rest}"))
                .or_else(|| contains(&item.span(), pos).then(|| format!("[{i}]")))
        }),
        _ => None,
    }
}

/// Removes the innermost entry (or array element) holding `pos`; whether one was.
fn cut_at(table: &mut DeTable<'_>, pos: usize) -> bool {
    let mut hit = None;
    for (k, v) in table.iter_mut() {
        if cut_in_value(v, pos) {
            return true;
        }
        if contains(&k.span(), pos) || contains(&v.span(), pos) {
            hit = Some(k.get_ref().to_string());
            break;
        }
    }
    match hit {
        Some(k) => table.remove(k.as_str()).is_some(),
        None => false,
    }
}

fn cut_in_value(v: &mut Spanned<DeValue<'_>>, pos: usize) -> bool {
    match v.get_mut() {
        DeValue::Table(t) => cut_at(t, pos),
        DeValue::Array(a) => {
            let mut hit = None;
            for (i, item) in a.iter_mut().enumerate() {
                if cut_in_value(item, pos) {
                    return true;
                }
                if contains(&item.span(), pos) {
                    hit = Some(i);
                    break;
                }
            }
            let Some(i) = hit else { return false };
            // DeArray has no `remove`: rebuild it without element i.
            let old = std::mem::replace(a, toml::de::DeArray::new());
            *a = old.into_iter().enumerate().filter(|(j, _)| *j != i).map(|(_, v)| v).collect();
            true
        }
        _ => false,
    }
}
