//! The fast reader: a frame as bridges actually send it — an array of flat event
//! objects whose values are plain strings, non-negative integers or `null` — read
//! byte by byte into the same [`WireEvent`]s the serde reader makes.
//!
//! It declines (returns `false`) at the first thing it does not handle itself:
//! an escape or a control character in a string, a negative, fractional or very
//! long number, a boolean, a nested value, a lone object, or anything that is not
//! JSON. The caller then takes back what it was given and reads the whole frame
//! with the serde reader, which judges every case (and words every error). So it
//! only ever accepts valid JSON, and for that JSON yields exactly what serde
//! yields: a test reads frames both ways and compares.

use std::borrow::Cow;

use super::wire::{Key, Val, WireEvent};

/// Reads `frame` as an array of events, handing each to `each` in order. `false`:
/// declined — some events may already have been handed over; the caller must
/// discard them and read the frame again with the serde reader.
pub(crate) fn read_array<'a>(frame: &'a str, mut each: impl FnMut(&WireEvent<'a>)) -> bool {
    let mut r = Reader { s: frame, b: frame.as_bytes(), i: 0 };
    r.ws();
    if !r.eat(b'[') {
        return false;
    }
    r.ws();
    if r.eat(b']') {
        return r.at_end();
    }
    // One event record, refilled for each element: it is ~500 bytes, and a fresh
    // one per element (moved out of the object reader) cost ~5% of the reader.
    let mut w = WireEvent::default();
    loop {
        if !r.object(&mut w) {
            return false;
        }
        each(&w);
        r.ws();
        if r.eat(b',') {
            r.ws();
        } else if r.eat(b']') {
            return r.at_end();
        } else {
            return false;
        }
    }
}

struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    /// JSON whitespace only (not Unicode's), as serde_json.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.b.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    /// Only trailing whitespace after the closing bracket.
    fn at_end(&mut self) -> bool {
        self.ws();
        self.i == self.b.len()
    }

    /// `{ "key": value, ... }` into `w` (emptied first), positioned at `{`.
    fn object(&mut self, w: &mut WireEvent<'a>) -> bool {
        self.object_fields(w).is_some()
    }

    fn object_fields(&mut self, w: &mut WireEvent<'a>) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        *w = WireEvent::default();
        self.ws();
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let field = self.key()?;
            self.ws();
            if !self.eat(b':') {
                return None;
            }
            self.ws();
            let val = self.value()?;
            // A repeated key keeps its last value, as with serde.
            if let Some(slot) = w.slot(field) {
                *slot = Some(val);
            }
            self.ws();
            if self.eat(b',') {
                self.ws();
            } else if self.eat(b'}') {
                return Some(());
            } else {
                return None;
            }
        }
    }

    /// A string without escapes or control characters, positioned at its quote.
    fn string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        // A local index, so the scan keeps it in a register.
        let (b, start) = (self.b, self.i);
        let end = start + plain_len(b.get(start..)?);
        if *b.get(end)? != b'"' {
            return None;
        }
        // Both ends are ASCII quotes, so this is on char boundaries.
        let s = self.s.get(start..end)?;
        self.i = end + 1;
        Some(s)
    }

    /// A key, positioned at its quote: the field it names (`Key::Unknown` for
    /// any other). The protocol's keys are recognised in place by their bytes
    /// and closing quote; any other key is read as a string.
    fn key(&mut self) -> Option<Key> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let rest = &self.b[self.i + 1..];
        let is = |key: &[u8]| rest.len() > key.len() && rest[key.len()] == b'"' && rest.starts_with(key);
        let known = match rest.first()? {
            b't' if is(b"type") => Some((Key::Type, 4)),
            b't' if is(b"ts") => Some((Key::Ts, 2)),
            b't' if is(b"team") => Some((Key::Team, 4)),
            b's' if is(b"seq") => Some((Key::Seq, 3)),
            b's' if is(b"source") => Some((Key::Source, 6)),
            b's' if is(b"state") => Some((Key::State, 5)),
            b's' if is(b"status") => Some((Key::Status, 6)),
            b'a' if is(b"agent") => Some((Key::Agent, 5)),
            b'q' if is(b"queue") => Some((Key::Queue, 5)),
            b'c' if is(b"call") => Some((Key::Call, 4)),
            b'c' if is(b"caller") => Some((Key::Caller, 6)),
            b'c' if is(b"component") => Some((Key::Component, 9)),
            b'n' if is(b"name") => Some((Key::Name, 4)),
            b'r' if is(b"reason") => Some((Key::Reason, 6)),
            b'd' if is(b"detail") => Some((Key::Detail, 6)),
            _ => None,
        };
        if let Some((field, len)) = known {
            self.i += len + 2;
            return Some(field);
        }
        self.string().map(Key::parse)
    }

    fn value(&mut self) -> Option<Val<'a>> {
        match *self.b.get(self.i)? {
            b'"' => self.string().map(|s| Val::Str(Cow::Borrowed(s))),
            b'n' if self.b[self.i..].starts_with(b"null") => {
                self.i += 4;
                Some(Val::Null)
            }
            b'0'..=b'9' => self.integer().map(Val::U64),
            _ => None,
        }
    }

    /// A non-negative integer of at most 19 digits (so it fits a `u64`), with no
    /// leading zero, fraction or exponent: what serde hands to `visit_u64`.
    fn integer(&mut self) -> Option<u64> {
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(&d @ b'0'..=b'9') = self.b.get(self.i) {
            if self.i - start == 19 {
                return None;
            }
            n = n * 10 + u64::from(d - b'0');
            self.i += 1;
        }
        let leading_zero = self.b[start] == b'0' && self.i - start > 1;
        let more = matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'));
        (!leading_zero && !more).then_some(n)
    }
}

/// How many bytes at the start of `b` a string holds as they are (not a quote,
/// a backslash or a control character). Eight at a time with the "some byte is
/// zero / below n" bit tricks (exact as a yes/no for the word), the rest one by
/// one. Kept out of line: inlined into the reader, register pressure made it
/// slower than a plain loop (measured).
#[inline(never)]
fn plain_len(b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(chunk) = b.get(n..n + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let special = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if special != 0 {
            break;
        }
        n += 8;
    }
    while let Some(&c) = b.get(n) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::plain_len;

    #[test]
    fn plain_len_stops_at_the_first_special_byte_wherever_it_is() {
        let special = |c: u8| c == b'"' || c == b'\\' || c < 0x20;
        for fill in [b'a', b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xa0, 0xff] {
            for len in [0, 1, 7, 8, 9, 15, 16, 17, 24] {
                for at in 0..len {
                    for c in 0..=255u8 {
                        let mut b = vec![fill; len];
                        b[at] = c;
                        let naive = b.iter().position(|&x| special(x)).unwrap_or(len);
                        assert_eq!(plain_len(&b), naive, "{b:?}");
                    }
                }
            }
        }
    }
}
