use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A language server and CI checker for FluxCD manifests.
#[derive(Parser)]
#[command(name = "flux-lsp", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Serve LSP on stdin/stdout (the default when no command is given).
    #[arg(long)]
    stdio: bool,
    /// Write logs to this file instead of stderr.
    #[arg(long, global = true, value_name = "FILE")]
    log_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check files and directories and print every diagnostic.
    Check(flux_lsp::check::CheckArgs),
}

fn init_logging(file: Option<&std::path::Path>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FLUX_LSP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false);
    match file.and_then(|f| std::fs::OpenOptions::new().create(true).append(true).open(f).ok()) {
        Some(f) => builder.with_writer(std::sync::Mutex::new(f)).init(),
        // never stdout: it carries the protocol
        None => builder.with_writer(std::io::stderr).init(),
    }
}

/// Stack for threads that parse: generous, so the syntax layer's depth limits
/// (128 levels) keep a wide margin even in debug builds.
const STACK: usize = 16 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = rayon::ThreadPoolBuilder::new().stack_size(STACK).build_global();
    match cli.command {
        Some(Command::Check(args)) => {
            // the checker logs only warnings unless asked
            if std::env::var_os("FLUX_LSP_LOG").is_none() {
                // SAFETY: single-threaded at this point
                unsafe { std::env::set_var("FLUX_LSP_LOG", "warn") };
            }
            init_logging(cli.log_file.as_deref());
            flux_lsp::check::run(args)
        }
        None => {
            let _ = cli.stdio;
            init_logging(cli.log_file.as_deref());
            let rt = tokio::runtime::Builder::new_multi_thread()
                .thread_stack_size(STACK)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(flux_lsp::lsp::serve(tokio::io::stdin(), tokio::io::stdout()));
            // stdin is read on a blocking thread that never returns by itself:
            // do not wait for it
            rt.shutdown_background();
            ExitCode::SUCCESS
        }
    }
}
