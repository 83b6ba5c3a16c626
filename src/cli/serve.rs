//! `actgate serve`: run the proxy until SIGTERM or Ctrl-C.

use anyhow::Context;
use std::path::PathBuf;

pub fn serve(config_path: PathBuf) -> anyhow::Result<()> {
    let config = actgate::config::Config::load(&config_path)?;
    // Before anything opens descriptors: the soft limit up to the hard one.
    actgate::fds::raise_open_file_limit(&config.limits);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let gateway = actgate::build_gateway(config).await?;
        let addr = gateway.config.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        if let Some(admin) = gateway.config.admin.clone() {
            let admin_listener = tokio::net::TcpListener::bind(admin.listen)
                .await
                .with_context(|| format!("cannot listen on {} (admin)", admin.listen))?;
            tokio::spawn(actgate::admin::serve(
                admin_listener,
                gateway.clone(),
                admin.token,
                std::future::pending(),
            ));
        }
        #[cfg(unix)]
        tokio::spawn(gateway.clone().reload_on_sighup());
        actgate::server::run(listener, gateway, shutdown_signal()).await;
        Ok(())
    })
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
