//! The accessors of [`Line`] and [`Section`] against what SetupAPI numbering gives.

use super::{Line, parse};

fn first_line<'a>(inf: &'a super::Inf, section: &str) -> &'a Line {
    let s = inf.section(section).expect("section");
    s.lines().first().expect("a line")
}

#[test]
fn accessors_give_the_key_values_and_numbers() {
    let inf = parse(
        b"[Version]\r\nSignature=\"$Windows NT$\"\r\n\r\n[strings]\r\nv=\"s u b\"\r\n[Test]\r\nk = a , %v%,\"q\"\"x\" ; c\r\nno key here\r\n[TEST]\r\nx,y\r\n",
    );
    let t = inf.section("test").expect("[Test]");
    assert_eq!(t.name(), "Test", "the first header's spelling");
    assert_eq!(t.number(), 6);
    assert_eq!(t.lines().len(), 3, "a repeated section's lines are merged");

    let l = first_line(&inf, "Test");
    assert_eq!(l.key(), Some("k"));
    assert_eq!(l.number(), 7);
    let f = l.fields();
    assert_eq!(f.len(), 3);
    assert_eq!(f.get(0), Some("a"));
    assert_eq!(f.get(1), Some("s u b"), "substituted");
    assert_eq!(f.get(2), Some("q\"x"), "quotes removed, \"\" kept as one");
    assert_eq!(f.get(3), None);
    assert_eq!(f, ["a", "s u b", "q\"x"]);
    // 0-based values against SetupGetStringField numbering (0 = key).
    for (i, v) in l.fields().enumerate() {
        assert_eq!(l.field(i + 1), Some(v));
    }
    assert_eq!(l.fields().next_back(), Some("q\"x"));

    let no_key = &t.lines()[1];
    assert_eq!(no_key.key(), None);
    assert_eq!(no_key.fields(), ["no key here"]);
    assert_eq!(t.lines()[2].fields(), ["x", "y"]);
    assert_eq!(t.lines()[2].number(), 10);
}

#[test]
fn fields_iterate_from_where_they_are() {
    let inf = parse(b"[Version]\nSignature=$Chicago$\n[T]\na,b,c,d\n");
    let l = first_line(&inf, "T");
    let mut f = l.fields();
    assert_eq!(f.next(), Some("a"));
    assert_eq!(f.len(), 3);
    assert_eq!(f.first(), Some("b"));
    assert_eq!(f.get(2), Some("d"));
    assert_eq!(f.clone().collect::<Vec<_>>(), ["b", "c", "d"]);
    assert_eq!(format!("{f:?}"), r#"["b", "c", "d"]"#);
    assert!(!f.is_empty());
    assert_eq!(f.by_ref().count(), 3);
    assert!(f.is_empty());
}

#[test]
fn json_is_the_inf_dump_schema() {
    // `infuse inf dump --json`: sections in file order with their names as written, lines with
    // `key` (null without `=`) and `fields`; nothing else (no line numbers, no diagnostics).
    let inf = parse(
        b"[Version]\nSignature=$Chicago$\n[strings]\nv=\"x,y\"\n[T]\nk=%v%,\"\"\nbare text\n",
    );
    let json = serde_json::to_string(&inf).expect("serializes");
    assert_eq!(
        json,
        r#"{"sections":[{"name":"Version","lines":[{"key":"Signature","fields":["$Chicago$"]}]},{"name":"strings","lines":[{"key":"v","fields":["x,y"]}]},{"name":"T","lines":[{"key":"k","fields":["x,y",""]},{"key":null,"fields":["bare text"]}]}]}"#
    );
}
