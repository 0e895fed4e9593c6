//! The `publish-upload` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::publish_upload::ENDPOINT)
}
