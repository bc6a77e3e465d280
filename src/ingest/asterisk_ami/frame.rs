//! AMI framing: after a one-line banner (`Asterisk Call Manager/5.0.x`), every
//! message is `Key: Value` lines ending with an empty line (CR LF, though a
//! bare LF is taken too). A message that has not ended within `max` bytes is
//! an error: the peer is broken or hostile, and the link is dropped.

/// One AMI message: its headers in order. Keys are matched without regard to
/// case, as Asterisk does for actions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, String)>,
    /// Lines that were not `Key: Value`.
    pub malformed: usize,
}

impl Message {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// Builds a message from `Key: Value` lines (tests and benches).
    pub fn parse(text: &str) -> Message {
        let mut m = Message::default();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            match crate::ingest::dial::split_header(line) {
                Some((k, v)) => m.headers.push((k.to_owned(), v.to_owned())),
                None => m.malformed += 1,
            }
        }
        m
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Banner(String),
    Message(Message),
}

/// A message longer than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Where the search for the end of the current message resumes.
    scanned: usize,
    banner_seen: bool,
    max: usize,
}

impl Framer {
    pub fn new(max: usize) -> Framer {
        Framer { buf: Vec::new(), scanned: 0, banner_seen: false, max }
    }

    /// A new link: its first line is a banner again.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.scanned = 0;
        self.banner_seen = false;
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, TooLarge> {
        if !self.banner_seen {
            let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                return if self.buf.len() > self.max { Err(TooLarge) } else { Ok(None) };
            };
            let line = String::from_utf8_lossy(&self.buf[..nl]).trim_end_matches('\r').to_owned();
            self.buf.drain(..=nl);
            self.banner_seen = true;
            return Ok(Some(Frame::Banner(line)));
        }
        loop {
            // Blank lines between messages are not messages.
            let lead = self.buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
            if lead > 0 {
                self.buf.drain(..lead);
                self.scanned = 0;
            }
            let Some(end) = self.find_end() else {
                return if self.buf.len() > self.max { Err(TooLarge) } else { Ok(None) };
            };
            if end > self.max {
                return Err(TooLarge);
            }
            let text = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            self.buf.drain(..end);
            self.scanned = 0;
            let m = Message::parse(&text);
            if m.headers.is_empty() && m.malformed == 0 {
                continue;
            }
            return Ok(Some(Frame::Message(m)));
        }
    }

    /// The end (exclusive, past the empty line) of the first complete message.
    fn find_end(&mut self) -> Option<usize> {
        let b = &self.buf;
        let mut i = self.scanned;
        while let Some(off) = b[i..].iter().position(|&c| c == b'\n') {
            let nl = i + off;
            let rest = &b[nl + 1..];
            if rest.first() == Some(&b'\n') {
                return Some(nl + 2);
            }
            if rest.starts_with(b"\r\n") {
                return Some(nl + 3);
            }
            if rest.is_empty() || rest == b"\r" {
                // The next line has not arrived yet: look here again.
                self.scanned = nl;
                return None;
            }
            i = nl + 1;
        }
        self.scanned = b.len();
        None
    }
}
