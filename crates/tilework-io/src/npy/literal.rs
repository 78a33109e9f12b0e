//! The small subset of Python literal syntax that `.npy` headers are written in: a dict of
//! strings, booleans, integers, tuples and lists (`ast.literal_eval` territory, nothing more).
//!
//! The parser is written for hostile input: it never panics, never recurses deeper than
//! [`MAX_DEPTH`] and reports what it expected and where.

use std::ops::Range;

/// Nesting deeper than this is rejected; real headers nest at most three levels (structured
/// dtypes), and a bound keeps crafted headers from exhausting the stack.
const MAX_DEPTH: usize = 32;

/// A parsed value together with the byte range of its source text, so errors can quote the
/// header verbatim (e.g. a structured `descr` list).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) span: Range<usize>,
}

/// A Python literal.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Bool(bool),
    None,
    Int(i128),
    Tuple(Vec<Node>),
    List(Vec<Node>),
    Dict(Vec<(Node, Node)>),
}

/// Parses `source`, which must hold exactly one literal surrounded only by whitespace.
pub(crate) fn parse(source: &str) -> Result<Node, String> {
    let mut parser = Parser { source, pos: 0 };
    let node = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < source.len() {
        return Err(parser.unexpected("the end of the header"));
    }
    Ok(node)
}

struct Parser<'a> {
    source: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.source.get(self.pos..)?.chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let next = self.peek()?;
        self.pos += next.len_utf8();
        Some(next)
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r' | '\x0c')) {
            self.pos += 1;
        }
    }

    fn unexpected(&self, expected: &str) -> String {
        match self.peek() {
            Some(found) => format!("expected {expected} at byte {}, found {found:?}", self.pos),
            None => format!("expected {expected} at byte {}, found the end", self.pos),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, String> {
        if depth > MAX_DEPTH {
            return Err(format!("literal nested deeper than {MAX_DEPTH} levels"));
        }
        self.skip_whitespace();
        let start = self.pos;
        let value = match self.peek() {
            Some(quote @ ('\'' | '"')) => Value::Str(self.string(quote)?),
            Some('(') => {
                let (mut items, saw_comma) = self.sequence(')', depth)?;
                // `(x)` is just `x` in Python; only a comma (or emptiness) makes a tuple.
                if items.len() == 1 && !saw_comma {
                    let mut inner = items.remove(0);
                    inner.span = start..self.pos;
                    return Ok(inner);
                }
                Value::Tuple(items)
            }
            Some('[') => Value::List(self.sequence(']', depth)?.0),
            Some('{') => Value::Dict(self.dict(depth)?),
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => Value::Int(self.integer()?),
            Some(c) if c.is_ascii_alphabetic() => self.keyword()?,
            _ => return Err(self.unexpected("a literal")),
        };
        Ok(Node {
            value,
            span: start..self.pos,
        })
    }

    fn string(&mut self, quote: char) -> Result<String, String> {
        let start = self.pos;
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                None => return Err(format!("string starting at byte {start} is not closed")),
                Some(c) if c == quote => return Ok(text),
                // Only the escapes a repr() of a dtype string can produce matter; any other
                // escaped character stands for itself, which is enough to report it faithfully.
                Some('\\') => match self.bump() {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some(escaped) => text.push(escaped),
                    None => return Err(format!("string starting at byte {start} is not closed")),
                },
                Some(c) => text.push(c),
            }
        }
    }

    fn integer(&mut self) -> Result<i128, String> {
        let start = self.pos;
        let negative = match self.peek() {
            Some('-') => {
                self.pos += 1;
                true
            }
            Some('+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let mut magnitude: i128 = 0;
        let mut digits = 0usize;
        while let Some(c) = self.peek() {
            if let Some(digit) = c.to_digit(10) {
                magnitude = magnitude
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(i128::from(digit)))
                    .ok_or_else(|| format!("integer at byte {start} is too large"))?;
                digits += 1;
                self.pos += 1;
            } else if c == '_' && digits > 0 {
                self.pos += 1;
            } else {
                break;
            }
        }
        if digits == 0 {
            return Err(self.unexpected("a digit"));
        }
        // Python 2 wrote long integers with an `L` suffix; old NumPy files carry it in shapes.
        if matches!(self.peek(), Some('L' | 'l')) {
            self.pos += 1;
        }
        Ok(if negative { -magnitude } else { magnitude })
    }

    fn keyword(&mut self) -> Result<Value, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        match &self.source[start..self.pos] {
            "True" => Ok(Value::Bool(true)),
            "False" => Ok(Value::Bool(false)),
            "None" => Ok(Value::None),
            word => Err(format!(
                "unexpected name {word:?} at byte {start} (only True, False and None are literals)"
            )),
        }
    }

    /// Items up to `close`, with an optional trailing comma; also says whether any comma was
    /// seen, which decides whether parentheses made a tuple.
    fn sequence(&mut self, close: char, depth: usize) -> Result<(Vec<Node>, bool), String> {
        self.bump();
        let mut items = Vec::new();
        let mut saw_comma = false;
        loop {
            self.skip_whitespace();
            if self.peek() == Some(close) {
                self.bump();
                return Ok((items, saw_comma));
            }
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek() {
                Some(',') => {
                    self.bump();
                    saw_comma = true;
                }
                Some(c) if c == close => {}
                _ => return Err(self.unexpected(&format!("',' or '{close}'"))),
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Vec<(Node, Node)>, String> {
        self.bump();
        let mut entries = Vec::new();
        loop {
            self.skip_whitespace();
            if self.peek() == Some('}') {
                self.bump();
                return Ok(entries);
            }
            let key = self.value(depth + 1)?;
            self.skip_whitespace();
            if self.peek() != Some(':') {
                return Err(self.unexpected("':'"));
            }
            self.bump();
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {}
                _ => return Err(self.unexpected("',' or '}'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(source: &str) -> Value {
        parse(source)
            .map(|node| node.value)
            .unwrap_or_else(|e| panic!("{source}: {e}"))
    }

    #[test]
    fn parses_header_shapes() {
        assert_eq!(value("()"), Value::Tuple(vec![]));
        assert!(matches!(value("(5,)"), Value::Tuple(items) if items.len() == 1));
        assert_eq!(value("(5)"), Value::Int(5));
        assert_eq!(value(" 12L "), Value::Int(12));
        assert_eq!(value("-3"), Value::Int(-3));
        assert!(matches!(value("{'a': True, 'b': [1, (2, 3)], }"), Value::Dict(e) if e.len() == 2));
        assert_eq!(value(r#""it\'s""#), Value::Str("it's".into()));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "{",
            "{'a' 1}",
            "{'a': }",
            "(1 2)",
            "'open",
            "Truth",
            "--1",
            "1 2",
            "{'a': 1,,}",
            "99999999999999999999999999999999999999999999",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn spans_quote_the_source() {
        let source = "{'descr': [('a', '<i4')], }";
        let Ok(Node {
            value: Value::Dict(entries),
            ..
        }) = parse(source)
        else {
            panic!("not a dict");
        };
        assert_eq!(&source[entries[0].1.span.clone()], "[('a', '<i4')]");
    }
}
