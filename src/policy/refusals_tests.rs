use super::*;

#[test]
fn database_not_allowed_is_worded_as_replay_reports_it() {
    let d = database_not_allowed("analytics.toml", "analytics", "warehouse");
    assert_eq!(d.sqlstate, "3D000");
    assert_eq!(d.reason, "database_not_allowed");
    assert_eq!(d.rule, "analytics.toml: agent.databases");
    assert_eq!(
        d.message,
        "agent \"analytics\" may not connect to database \"warehouse\" under the candidate rules"
    );
    assert_eq!(d.hint, None);
}
