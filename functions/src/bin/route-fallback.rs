//! The `route-fallback` Lambda function: API Gateway's `$default` route.

fn main() -> std::process::ExitCode {
    functions::lambda::run_fallback()
}
