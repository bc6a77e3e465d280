//! ESL framing: a message is `Key: Value` lines ending with an empty line (LF),
//! then, when it has a `Content-Length`, that many bytes of body. An event
//! (`text/event-plain`) carries its own headers in the body, values
//! URL-encoded. Both the header block and the declared length are capped: a
//! peer that sends an endless line or announces a huge body loses the link.

use percent_encoding::percent_decode_str;

/// One ESL message: envelope headers and body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Frame {
    pub fn get(&self, key: &str) -> Option<&str> {
        get(&self.headers, key)
    }
}

pub fn get<'a>(headers: &'a [(String, String)], key: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}

/// The headers of a `text/event-plain` body, values URL-decoded (everything
/// after the first empty line is the event's own body, unused here).
pub fn event_headers(body: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in body.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = crate::ingest::dial::split_header(line) {
            let v = percent_decode_str(v).decode_utf8_lossy().into_owned();
            out.push((k.to_owned(), v));
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Headers longer than the header cap without their empty line.
    HeadersTooLarge,
    /// A `Content-Length` above the body cap.
    BodyTooLarge,
    /// A `Content-Length` that is not a number.
    BadLength,
}

#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Headers of a message whose body has not fully arrived.
    pending: Option<(Vec<(String, String)>, usize)>,
    max_headers: usize,
    max_body: usize,
}

impl Framer {
    pub fn new(max_headers: usize, max_body: usize) -> Framer {
        Framer { buf: Vec::new(), pending: None, max_headers, max_body }
    }

    pub fn reset(&mut self) {
        self.buf.clear();
        self.pending = None;
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            if let Some((_, len)) = &self.pending {
                let len = *len;
                if self.buf.len() < len {
                    return Ok(None);
                }
                let body = String::from_utf8_lossy(&self.buf[..len]).into_owned();
                self.buf.drain(..len);
                let (headers, _) = self.pending.take().unwrap_or_default();
                return Ok(Some(Frame { headers, body }));
            }
            let lead = self.buf.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
            self.buf.drain(..lead);
            let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") else {
                return if self.buf.len() > self.max_headers {
                    Err(FrameError::HeadersTooLarge)
                } else {
                    Ok(None)
                };
            };
            if end > self.max_headers {
                return Err(FrameError::HeadersTooLarge);
            }
            let text = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            self.buf.drain(..end + 2);
            let headers: Vec<(String, String)> = text
                .split('\n')
                .filter_map(|l| crate::ingest::dial::split_header(l.trim_end_matches('\r')))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            match get(&headers, "Content-Length") {
                None => return Ok(Some(Frame { headers, body: String::new() })),
                Some(n) => {
                    let n: usize = n.trim().parse().map_err(|_| FrameError::BadLength)?;
                    if n > self.max_body {
                        return Err(FrameError::BodyTooLarge);
                    }
                    self.pending = Some((headers, n));
                }
            }
        }
    }
}
