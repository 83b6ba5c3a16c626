use super::*;

/// A context over `text`, and the `[policy]` section it holds.
fn policy(text: &str) -> (Ctx<'_>, RawPolicy) {
    let ctx = Ctx {
        path: Path::new("agents/bot.toml"),
        text,
        problems: RefCell::new(Vec::new()),
    };
    (ctx, toml::from_str(text).unwrap())
}

#[test]
fn line_col_counts_characters_and_rounds_into_a_character() {
    let text = "ab\ncé x";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 3), (2, 1));
    // 'é' is two bytes: byte 7 is the 4th character of line 2.
    assert_eq!(line_col(text, 7), (2, 4));
    // Inside 'é': its start.
    assert_eq!(line_col(text, 5), (2, 2));
    assert_eq!(line_col(text, 99), (2, 5));
}

#[test]
fn policy_keys_default_and_name_the_bad_value() {
    let (ctx, p) = policy("");
    assert_eq!(policy_mode(&ctx, &p), Ok(Mode::Enforce));
    assert_eq!(catalog_access(&ctx, &p), Ok(CatalogAccess::Drivers));
    assert_eq!(truncate_rows(&ctx, &p), Ok(false));
    assert_eq!(time_zone(&ctx, &p), Ok("UTC".to_owned()));

    let text = "mode = \"monitor\"\ncatalog = \"all\"\non_row_limit = \"truncate\"\n";
    let (ctx, p) = policy(text);
    assert_eq!(policy_mode(&ctx, &p), Ok(Mode::Monitor));
    assert_eq!(catalog_access(&ctx, &p), Ok(CatalogAccess::All));
    assert_eq!(truncate_rows(&ctx, &p), Ok(true));

    let text = "mode = \"enforce\"\non_row_limit = \"drop\"\n";
    let (ctx, p) = policy(text);
    let e = truncate_rows(&ctx, &p).unwrap_err();
    assert_eq!((e.line, e.column), (2, 16));
    assert_eq!(
        e.to_string(),
        "agents/bot.toml:2: policy.on_row_limit \"drop\": expected \"error\" or \"truncate\""
    );
    assert!(ctx.problems.borrow().is_empty());
}

#[test]
fn pinned_settings_and_unknown_time_zones_are_errors() {
    let (ctx, p) = policy("settings = [\"statement_timeout\", \"ROLE\"]\n");
    let e = allowed_settings(&ctx, &p).unwrap_err();
    assert_eq!(
        e.message,
        "setting \"role\" is pinned by actgate and can never be allowed"
    );
    let (ctx, p) = policy("time_zone = \"Mars/Olympus\"\n");
    assert!(time_zone(&ctx, &p).unwrap_err().message.contains("IANA"));
}

#[test]
fn entry_names_are_plain_and_unique() {
    let (ctx, _) = policy("");
    let name = |s: &str| Spanned::new(0..1, s.to_owned());
    let mut seen = std::collections::HashSet::new();
    assert!(controls::entry_name(&ctx, &name("big-orders_1"), "approval", &mut seen).is_ok());
    let twice = controls::entry_name(&ctx, &name("big-orders_1"), "approval", &mut seen);
    assert_eq!(
        twice.unwrap_err().message,
        "approval \"big-orders_1\" is defined twice"
    );
    let spaced = controls::entry_name(&ctx, &name("big orders"), "approval", &mut seen);
    assert_eq!(
        spaced.unwrap_err().message,
        "approval name \"big orders\": use letters, digits, _ and -"
    );
}
