//! The generic, ordered tree of LVM2's configuration language, shared by metadata texts and
//! lvm.conf. It borrows from the input where it can (most strings need no unescaping) so that
//! parsing a large metadata text allocates little; `into_owned` detaches it when needed.
//! Besides content, each item remembers a little layout (its comments, blank lines above it,
//! its byte offset) so unknown parts of a metadata text can be written back as they were read.

use std::borrow::Cow;

/// A section body: the top level of a document, or the inside of `name { ... }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section<'a> {
    /// Items in the order they appear in the text.
    pub items: Vec<Item<'a>>,
}

/// One `key = value` or `key { ... }` entry.
///
/// Equality compares content only (`key` and `node`): comments, blank lines and offsets are
/// presentation, and the on-disk and backup forms of the same metadata differ in them.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub key: Cow<'a, str>,
    pub node: Node<'a>,
    /// Comments on and above the item; boxed because most items have none and metadata
    /// texts have hundreds of thousands of items.
    pub comments: Option<Box<Comments<'a>>>,
    /// Empty lines between the previous item (or the opening brace) and this one.
    pub blank_lines_before: u32,
    /// Byte offset of the key in the parsed input (0 for items built in code; saturates
    /// at 4 GiB).
    pub offset: u32,
}

/// The comments attached to an item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comments<'a> {
    /// Text after the `#` of a comment on the same line as the key (for a section: on the
    /// line of its opening brace), e.g. `" Hint only"`.
    pub trailing: Option<Cow<'a, str>>,
    /// Comment lines directly above the item, text after each `#`.
    pub leading: Vec<Cow<'a, str>>,
}

impl PartialEq for Item<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.node == other.node
    }
}

/// What an item holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Value(Value<'a>),
    Section(Section<'a>),
}

/// The right-hand side of `key = value`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Int(i64),
    /// A number with a decimal point, kept as written so it is never rounded.
    Float(Cow<'a, str>),
    String(Cow<'a, str>),
    Array(Array<'a>),
}

/// `[a, b, ...]`; arrays do not nest.
///
/// Equality compares the elements only; `per_line` is layout.
#[derive(Debug, Clone, Default)]
pub struct Array<'a> {
    pub elements: Vec<Scalar<'a>>,
    /// 0 when the array was written on one line; otherwise the number of elements on each
    /// line of a multi-line array (LVM2 writes segment areas one area per line).
    pub per_line: u32,
}

impl PartialEq for Array<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.elements == other.elements
    }
}

/// An array element.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Int(i64),
    Float(Cow<'a, str>),
    String(Cow<'a, str>),
}

impl<'a> Section<'a> {
    pub fn new() -> Self {
        Section { items: Vec::new() }
    }

    /// The first item called `key`.
    pub fn get(&self, key: &str) -> Option<&Item<'a>> {
        self.items.iter().find(|item| item.key == key)
    }

    /// The value of `key = value`, if `key` is a value.
    pub fn value(&self, key: &str) -> Option<&Value<'a>> {
        match self.get(key).map(|item| &item.node) {
            Some(Node::Value(value)) => Some(value),
            _ => None,
        }
    }

    /// The subsection `key { ... }`, if `key` is a section.
    pub fn section(&self, key: &str) -> Option<&Section<'a>> {
        match self.get(key).map(|item| &item.node) {
            Some(Node::Section(section)) => Some(section),
            _ => None,
        }
    }

    /// Follows a `/`-separated path of section names to a value, as lvm.conf settings are
    /// named (`devices/filter`).
    pub fn lookup(&self, path: &str) -> Option<&Value<'a>> {
        let mut section = self;
        let mut parts = path.split('/').filter(|part| !part.is_empty()).peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                return section.value(part);
            }
            section = section.section(part)?;
        }
        None
    }

    pub fn get_int(&self, key: &str) -> Option<i64> {
        match self.value(key) {
            Some(Value::Int(value)) => Some(*value),
            _ => None,
        }
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.value(key) {
            Some(Value::String(value)) => Some(value),
            _ => None,
        }
    }

    /// Appends `key = value` (for building trees in code).
    pub fn push_value(&mut self, key: impl Into<Cow<'a, str>>, value: Value<'a>) {
        self.items.push(Item::new(key, Node::Value(value)));
    }

    /// Appends `key { ... }` (for building trees in code).
    pub fn push_section(&mut self, key: impl Into<Cow<'a, str>>, section: Section<'a>) {
        self.items.push(Item::new(key, Node::Section(section)));
    }

    /// A copy that no longer borrows from the parsed input.
    pub fn into_owned(self) -> Section<'static> {
        Section {
            items: self.items.into_iter().map(Item::into_owned).collect(),
        }
    }
}

impl<'a> Item<'a> {
    /// An item with no comments and no blank line above it.
    pub fn new(key: impl Into<Cow<'a, str>>, node: Node<'a>) -> Self {
        Item {
            key: key.into(),
            node,
            comments: None,
            blank_lines_before: 0,
            offset: 0,
        }
    }

    /// The comment on the item's line, without its `#`.
    pub fn comment(&self) -> Option<&str> {
        self.comments.as_ref()?.trailing.as_deref()
    }

    /// The comment lines above the item, each without its `#`.
    pub fn leading_comments(&self) -> &[Cow<'a, str>] {
        match &self.comments {
            Some(comments) => &comments.leading,
            None => &[],
        }
    }

    /// Sets the comment on the item's line (text after `#`).
    pub fn set_comment(&mut self, comment: Option<Cow<'a, str>>) {
        self.comments.get_or_insert_with(Default::default).trailing = comment;
    }

    pub fn into_owned(self) -> Item<'static> {
        Item {
            key: owned(self.key),
            node: self.node.into_owned(),
            comments: self.comments.map(|comments| {
                Box::new(Comments {
                    trailing: comments.trailing.map(owned),
                    leading: comments.leading.into_iter().map(owned).collect(),
                })
            }),
            blank_lines_before: self.blank_lines_before,
            offset: self.offset,
        }
    }
}

impl<'a> Node<'a> {
    pub fn into_owned(self) -> Node<'static> {
        match self {
            Node::Value(value) => Node::Value(value.into_owned()),
            Node::Section(section) => Node::Section(section.into_owned()),
        }
    }
}

impl<'a> Value<'a> {
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Int(value) => Value::Int(value),
            Value::Float(text) => Value::Float(owned(text)),
            Value::String(text) => Value::String(owned(text)),
            Value::Array(array) => Value::Array(array.into_owned()),
        }
    }

    /// A short name of the value's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number with a decimal point",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
        }
    }

    /// The value of a float as `f64` (integers convert too).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(value) => Some(*value as f64),
            Value::Float(text) => text.parse().ok(),
            _ => None,
        }
    }
}

impl<'a> Array<'a> {
    pub fn new(elements: Vec<Scalar<'a>>) -> Self {
        Array {
            elements,
            per_line: 0,
        }
    }

    pub fn into_owned(self) -> Array<'static> {
        Array {
            elements: self.elements.into_iter().map(Scalar::into_owned).collect(),
            per_line: self.per_line,
        }
    }
}

impl<'a> Scalar<'a> {
    pub fn into_owned(self) -> Scalar<'static> {
        match self {
            Scalar::Int(value) => Scalar::Int(value),
            Scalar::Float(text) => Scalar::Float(owned(text)),
            Scalar::String(text) => Scalar::String(owned(text)),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Scalar::Int(value) => Some(*value),
            _ => None,
        }
    }
}

fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

/// The 1-based line number of byte `offset` in `text`.
pub fn line_at(text: &[u8], offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text[..end].iter().filter(|&&byte| byte == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_follows_paths() {
        let mut devices = Section::new();
        devices.push_value("scan", Value::String("/dev".into()));
        let mut root = Section::new();
        root.push_section("devices", devices);
        assert_eq!(
            root.lookup("devices/scan"),
            Some(&Value::String("/dev".into()))
        );
        assert_eq!(root.lookup("devices/missing"), None);
        assert_eq!(root.lookup("nothing/scan"), None);
    }

    #[test]
    fn equality_ignores_layout() {
        let mut a = Item::new("k", Node::Value(Value::Int(1)));
        let b = a.clone();
        a.set_comment(Some(" note".into()));
        a.blank_lines_before = 2;
        a.offset = 10;
        assert_eq!(a, b);
    }

    #[test]
    fn line_numbers_count_newlines() {
        assert_eq!(line_at(b"a\nb\nc", 0), 1);
        assert_eq!(line_at(b"a\nb\nc", 2), 2);
        assert_eq!(line_at(b"a\nb\nc", 99), 3);
    }
}
