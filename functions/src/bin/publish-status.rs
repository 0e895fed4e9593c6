//! The `publish-status` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::publish_status)
}
