use super::*;

fn parameter_status(name: &str, value: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(name.as_bytes());
    body.push(0);
    body.extend_from_slice(value.as_bytes());
    body.push(0);
    body
}

#[test]
fn a_pinned_parameter_moved_off_its_value_drifted() {
    assert_eq!(
        drifted(&parameter_status("client_encoding", "LATIN1")),
        Some(("client_encoding".into(), "LATIN1".into()))
    );
    assert_eq!(
        drifted(&parameter_status("Standard_Conforming_Strings", "off")),
        Some(("Standard_Conforming_Strings".into(), "off".into()))
    );
}

#[test]
fn pinned_values_in_any_case_and_other_parameters_do_not_drift() {
    assert_eq!(drifted(&parameter_status("client_encoding", "utf8")), None);
    assert_eq!(
        drifted(&parameter_status("standard_conforming_strings", "on")),
        None
    );
    assert_eq!(drifted(&parameter_status("TimeZone", "UTC")), None);
    assert_eq!(drifted(b"not a parameter status"), None);
}
