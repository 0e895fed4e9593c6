//! The `publish-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::publish_list::ENDPOINT)
}
