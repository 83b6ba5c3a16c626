//! tokio-postgres through actgate: the relay must be indistinguishable from
//! a direct connection for allowed traffic.

mod common;

use common::{Proxy, SUPPORT_BOT};

#[tokio::test]
async fn simple_query_round_trips() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(SUPPORT_BOT).await;
    let rows = client
        .simple_query("SELECT 1 AS one; SELECT 'two'")
        .await
        .unwrap();
    let values: Vec<String> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .collect();
    assert_eq!(values, vec!["1", "two"]);
}
